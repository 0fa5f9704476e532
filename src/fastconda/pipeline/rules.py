"""Facility rules applied to a generated v1 recipe (the CI job's conventions, made explicit).

- the package must be ``noarch: python`` (a server that installs ``scripts=`` files is not);
- ``pip install`` runs with ``--no-deps --no-build-isolation`` (the host env has the backend);
- the imports tested are the project's real top-level packages (grayskull guesses from the name);
- all checks run in ONE test environment (each ``tests:`` entry costs one): the imports and what
  ``pip check`` checks, in one process (``fastconda_check.py``), then ``<entry point> --help``;
  ``--help`` is left out for taurus applications;
- grayskull's placeholders (license it could not find, maintainers) are replaced or removed.
"""

from __future__ import annotations

import dataclasses
import io
import shlex
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from fastconda.errors import RecipeError
from fastconda.pipeline.project import Project
from fastconda.templates import read_template

PLACEHOLDERS = {"IT-WAS-NOT-POSSIBLE-TO-RECOVER-LICENCE", "PLEASE_ADD_LICENSE_FILE", "AddYourGitHubIdHere"}
PIP_INSTALL = "$PYTHON -m pip install . --no-deps --no-build-isolation --no-compile -q"
CHECK_SCRIPT = "fastconda_check.py"
LICENSE_FILES = ("LICENSE", "LICENSE.txt", "LICENSE.md", "COPYING", "LICENCE")


@dataclasses.dataclass(frozen=True)
class Rules:
    require_noarch: bool = True
    help_tests: bool = True  # `<entry point> --help`, except for taurus applications


@dataclasses.dataclass(frozen=True)
class RuledRecipe:
    text: str
    notes: tuple[str, ...]  # what the rules changed, for the log
    files: tuple[tuple[str, str], ...] = ()  # (name, text) written next to recipe.yaml


def _yaml() -> YAML:
    yaml = YAML()
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def apply_rules(recipe_text: str, project: Project, rules: Rules = Rules()) -> RuledRecipe:
    yaml = _yaml()
    data: CommentedMap = yaml.load(recipe_text)
    notes: list[str] = []
    build = data.setdefault("build", CommentedMap())
    if rules.require_noarch and build.get("noarch") != "python":
        msg = (
            f"{project.root}: the recipe is not `noarch: python` "
            "(the facility requires it for Python servers). "
            "This usually means the project installs files with `scripts=` in setup.py: replace them by an "
            "entry point ([project.scripts] in pyproject.toml, or entry_points={'console_scripts': [...]})."
        )
        raise RecipeError(msg)
    build["script"] = PIP_INSTALL
    notes.append("pip install without dependencies and without build isolation")

    run_deps = [str(d) for d in data.get("requirements", {}).get("run", [])]
    taurus = any(d.split()[0].lower() == "taurus" for d in run_deps if d.strip())
    entry_points = [str(e).split("=")[0].strip() for e in build.get("python", {}).get("entry_points", [])]
    imports = list(project.import_packages()) or _imports_of(data)
    # imports and pip check's requirement check in one process (fastconda_check.py: ~1 s less than pip check)
    commands = [" ".join(["python", CHECK_SCRIPT, *(shlex.quote(i) for i in imports)])]
    if rules.help_tests and not taurus:
        commands += [f"{name} --help" for name in entry_points]
    elif taurus and entry_points:
        notes.append("no --help tests: taurus applications do not support --help")
    test = CommentedMap()
    test["script"] = CommentedSeq(commands)
    # the check script reads requirements with `packaging`; pip's copy serves when nothing else brings it
    test["requirements"] = CommentedMap(run=CommentedSeq(["pip"]))
    test["files"] = CommentedMap(recipe=CommentedSeq([CHECK_SCRIPT]))
    data["tests"] = CommentedSeq([test])
    notes.append(f"one test environment: {'; '.join(commands)}")

    about = data.setdefault("about", CommentedMap())
    if str(about.get("license", "")) in PLACEHOLDERS or not about.get("license"):
        if project.license:
            about["license"] = project.license
        else:
            about.pop("license", None)
    if str(about.get("license_file", "")) in PLACEHOLDERS:
        found = [name for name in LICENSE_FILES if (project.root / name).is_file()]
        if found:
            about["license_file"] = found[0]
        else:
            del about["license_file"]
    extra = data.get("extra")
    if isinstance(extra, dict):
        maintainers = [m for m in extra.get("recipe-maintainers", []) if m not in PLACEHOLDERS]
        if maintainers:
            extra["recipe-maintainers"] = maintainers
        else:
            extra.pop("recipe-maintainers", None)
        if not extra:
            del data["extra"]
    out = io.StringIO()
    yaml.dump(data, out)
    check = (CHECK_SCRIPT, read_template("recipe", f"python/{CHECK_SCRIPT}"))
    return RuledRecipe(text=out.getvalue(), notes=tuple(notes), files=(check,))


def _imports_of(data: dict[str, Any]) -> list[str]:
    for test in data.get("tests", []) or []:
        imports = test.get("python", {}).get("imports") if isinstance(test, dict) else None
        if imports:
            return [str(i) for i in imports]
    return []


def write_recipe(text: str, folder: Path, files: tuple[tuple[str, str], ...] = ()) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files:
        (folder / name).write_text(content, encoding="utf-8")
    path = folder / "recipe.yaml"
    path.write_text(text, encoding="utf-8")
    return path
