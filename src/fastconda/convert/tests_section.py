"""``test:`` → v1 ``tests:`` (a python test for imports, a script test for commands, downstream tests).

``pip check`` among the commands becomes ``pip_check: true`` of the python test, as conda-forge's v1
recipes write it; ``run_test.py/.sh/.bat/.pl`` next to the meta.yaml become script tests from files.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from fastconda.convert.sections import Notes, requirement, value_of
from fastconda.convert.selectors import combine
from fastconda.convert.tree import Doc, Entry, cond_list, conditional, group, items

RUN_TEST = {"run_test.py": None, "run_test.sh": "unix", "run_test.bat": "win", "run_test.pl": None}


def _is_pip_check(value: Any) -> bool:
    return isinstance(value, str) and " ".join(value.split()) in {"pip check", "python -m pip check"}


def _is_pip(requirement: Any) -> bool:
    return isinstance(requirement, str) and requirement.split()[0] == "pip"


def _is_python(requirement: Any) -> bool:
    return isinstance(requirement, str) and requirement.split()[0] == "python"


def _python_version(requires: CommentedSeq) -> str | None:
    """``python 3.9.*`` among the test requirements: the python test's ``python_version``."""
    for spec in requires:
        if _is_python(spec) and len(spec.split(None, 1)) == 2:
            return str(spec.split(None, 1)[1])
    return None


def convert_tests(doc: Doc, found: list[Entry], notes: Notes, recipe_dir: Path | None = None) -> CommentedSeq:
    groups = group(found)
    out = CommentedSeq()
    imports = groups.pop("imports", [])
    commands = groups.pop("commands", [])
    requires = groups.pop("requires", [])
    source_files = groups.pop("source_files", [])
    files = groups.pop("files", [])
    downstreams = groups.pop("downstreams", [])
    script_file = groups.pop("script", [])
    for group_ in groups.values():
        notes.drop("test", group_[0], "has no v1 equivalent")

    pip_check = False
    script = CommentedSeq()
    for entry in commands:
        for item in items(doc, entry.value):
            cond = combine(entry.cond, item.cond)
            if _is_pip_check(item.value) and cond is None:
                pip_check = True
            else:
                script.append(conditional(item.value, cond))
    test_requires = cond_list(doc, requires, requirement)
    if pip_check and not any("pip" in str(c) for c in script):
        test_requires = CommentedSeq(r for r in test_requires if not _is_pip(r))

    python_version = _python_version(test_requires)
    if imports:
        if any(not _is_python(r) for r in test_requires) and not script:
            # a python test cannot carry requirements: run the imports as commands instead
            for entry in imports:
                for item in items(doc, entry.value):
                    script.append(
                        conditional(f'python -c "import {item.value}"', combine(entry.cond, item.cond))
                    )
            doc.warnings.add(
                "test.imports with test.requires: imports run as script commands", imports[0].line
            )
            if pip_check:
                script.append("pip check")
                test_requires.append("pip")
        else:
            python = CommentedMap()
            python["imports"] = cond_list(doc, imports)
            python["pip_check"] = pip_check
            if python_version is not None:
                python["python_version"] = python_version  # the tests ran with this python
            out.append(CommentedMap([("python", python)]))
    elif pip_check:
        script.insert(0, "pip check")
        if not any(_is_pip(r) for r in test_requires):
            test_requires.append("pip")

    run_tests = _run_test_files(recipe_dir, script_file, doc)
    if script:
        out.append(_script_test(doc, script, test_requires, source_files, files))
    for name, cond in run_tests:
        test = _script_test(doc, CommentedMap([("file", name)]), test_requires, source_files, files)
        if script:
            test.pop("files", None)
        out.append(test if cond is None else CommentedMap([("if", cond), ("then", test)]))
    if not script and not run_tests:
        for entry in (*source_files, *files):
            notes.drop("test", entry, "test files without commands or run_test script have nothing to run")
        if test_requires and not imports:
            notes.drop("test", requires[0], "test requirements without commands have nothing to run")
    for entry in downstreams:
        for item in items(doc, entry.value):
            out.append(CommentedMap([("downstream", item.value)]))
    return out


def _script_test(
    doc: Doc, script: Any, requires: CommentedSeq, source_files: list[Entry], files: list[Entry]
) -> CommentedMap:
    test = CommentedMap()
    test["script"] = script
    if requires:
        test["requirements"] = CommentedMap([("run", copy.deepcopy(requires))])
    test_files = CommentedMap()
    if source_files:
        test_files["source"] = value_of(doc, source_files)
    if files:
        test_files["recipe"] = value_of(doc, files)
    for key in list(test_files):
        if not isinstance(test_files[key], CommentedSeq):
            test_files[key] = CommentedSeq([test_files[key]])
    if test_files:
        test["files"] = test_files
    return test


def _run_test_files(
    recipe_dir: Path | None, script_file: list[Entry], doc: Doc
) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    for entry in script_file:
        found.append((str(entry.value), entry.cond))
    if recipe_dir is None:
        return found
    for name, cond in RUN_TEST.items():
        if (recipe_dir / name).is_file():
            found.append((name, cond))
    return found
