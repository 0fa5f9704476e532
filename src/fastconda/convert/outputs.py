"""The outputs of a multi-output meta.yaml, and what its top level becomes in v1.

conda-build runs the top-level build once, then packs each output; v1 spells the shared build as a
``staging:`` output. A staging output holds only the build and host requirements
(with ``ignore_run_exports``) and the script: the rest of the top level (``run`` requirements,
``run_exports``, ``noarch``, the top-level ``test``) belongs to the top-level *package*. conda-build
builds that package when an output has the recipe's name (the top level is merged into that output)
or, implicitly, when the top-level requirements use ``pin_subpackage`` or name an output in ``run``
(``MetaData.uses_subpackage``). Either way it becomes an explicit package output here; where
conda-build builds no top-level package, what only that package would carry is reported as dropped.

Which outputs inherit the staging output follows what conda-build puts in each package: an output
with ``files`` selects from the top-level build, an output with a script continues from it, the
top-level package takes all of it, and an output with neither is empty in conda-build (so it does not
inherit, or v1 would pack every staged file into it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from fastconda.convert import sections as sec
from fastconda.convert.build_section import convert_build
from fastconda.convert.selectors import combine, negate
from fastconda.convert.tests_section import RUN_TEST, convert_tests
from fastconda.convert.tree import Doc, Entry, Item, entries, group, items, merged

# top-level build keys conda-build passes on to every output without a build section of its own (it
# copies the top-level build minus script, entry_points, run_exports and noarch): the v1 top-level build
PASSED_ON = frozenset({
    "number", "string", "skip", "rpaths", "binary_relocation", "missing_dso_whitelist", "runpath_whitelist",
    "error_overlinking", "error_overdepending", "ignore_prefix_files", "has_prefix_files",
    "binary_has_prefix_files", "detect_binary_files_with_prefix", "always_include_files", "merge_build_host",
    "force_use_keys", "force_ignore_keys",
})  # fmt: skip
STAGING_REQUIREMENTS = ("build", "host", "ignore_run_exports")
PACKAGE_REQUIREMENTS = ("run", "run_constraints", "run_exports")
V1_KEYS = {
    "run_constrained": "run_constraints",
    "entry_points": "python",
    "rpaths": "dynamic_linking",
    "ignore_run_exports_from": "ignore_run_exports",
}
OUTPUT_ORDER = ("package", "inherit", "build", "requirements", "tests", "about")


@dataclass
class TopLevel:
    """The top level of a multi-output recipe, split into what v1 puts where."""

    staging: CommentedMap | None
    build: CommentedMap = field(default_factory=CommentedMap)  # package-level build keys (noarch, python...)
    requirements: CommentedMap = field(default_factory=CommentedMap)  # run, run_constraints, run_exports
    pins_subpackage: bool = False
    run_names: set[str] = field(default_factory=set)
    line: int = 0
    lines: dict[str, int] = field(default_factory=dict)  # v1 key → meta.yaml line
    passed_on: list[Entry] = field(default_factory=list)  # in the v1 top-level build, besides number...


def split_top_level(
    doc: Doc,
    package: CommentedMap,
    build: list[Entry],
    reqs: list[Entry],
    notes: sec.Notes,
    *,
    recipe_dir: Path | None,
) -> TopLevel:
    """The staging output (build, host, script) and the top-level package's own fields.

    conda-build runs the recipe folder's build.sh / bld.bat as the top-level build when the top level
    names no script; in v1 only a staging output (or a single-output recipe) runs it by default, a
    package output never, so such a recipe gets a staging output even with no requirements.
    """
    converted = convert_build(doc, build, notes)
    requirements = sec.requirements(doc, reqs, notes, converted.requirements_extra)
    line = (build or reqs)[0].line if build or reqs else 0
    top = TopLevel(staging=None, line=line)
    top.lines = {V1_KEYS.get(e.key, e.key): e.line for e in [*build, *reqs]}
    plain = [requirements.get(key) for key in ("build", "host", "run", "run_constraints")]
    top.pins_subpackage = "pin_subpackage(" in repr(plain)
    top.run_names = {_dep_name(dep) for dep in _leaves(requirements.get("run"))} - {""}
    top.build = CommentedMap((k, v) for k, v in converted.build.items() if k != "script")
    top.requirements = CommentedMap((k, requirements[k]) for k in PACKAGE_REQUIREMENTS if k in requirements)
    staged = CommentedMap((k, requirements[k]) for k in STAGING_REQUIREMENTS if k in requirements)
    script_file = recipe_dir is not None and any((recipe_dir / f).is_file() for f in ("build.sh", "bld.bat"))
    if "script" not in converted.build and not script_file:
        # no top-level build runs: its environments are the top-level package's, if any
        for key in ("build", "host"):
            if key in requirements:
                top.requirements[key] = requirements[key]
        if "ignore_run_exports" in staged:
            doc.warnings.add(
                "top-level build.ignore_run_exports of a multi-output recipe with no top-level build: "
                "conda-build applies it to outputs without a build section of their own; dropped",
                top.lines.get("ignore_run_exports", line),
            )
        return top
    _own_outputs_to_package(doc, staged, top)
    name = package.get("name")
    staging = CommentedMap()
    staged_name = f"{name}-build" if isinstance(name, str) else "recipe-build"
    staging["staging"] = CommentedMap([("name", staged_name)])
    if staged:
        staging["requirements"] = staged
    if "script" in converted.build:
        staging["build"] = CommentedMap([("script", converted.build["script"])])
    what = "top-level build"
    if "script" not in converted.build and script_file:
        what = "recipe folder's build script"
    doc.warnings.add(
        f"{what} of a multi-output recipe became a staging output, inherited by the outputs "
        "conda-build packs from it (those with files or a script, and the top-level package); "
        "check that each output's files select what it should",
        line,
    )
    top.staging = staging
    return top


def _own_outputs_to_package(doc: Doc, staged: CommentedMap, top: TopLevel) -> None:
    """``pin_subpackage`` in the top-level build/host: a staging output cannot need an output that
    inherits from it (the engine sees a cycle). The top-level package gets the whole section as its own
    (conda-build's top-level package is built with it); the staging output keeps the rest."""
    for key in ("build", "host"):
        value = staged.get(key)
        if not isinstance(value, CommentedSeq):
            continue
        own = [item for item in value if "pin_subpackage(" in repr(item)]
        if not own:
            continue
        kept = CommentedSeq(item for item in value if "pin_subpackage(" not in repr(item))
        if kept:
            staged[key] = kept
        else:
            del staged[key]
        top.requirements[key] = value
        doc.warnings.add(
            f"top-level requirements.{key} of a multi-output recipe pins an output of the recipe "
            "(pin_subpackage): the staging build cannot need a package built from it, so the pin is "
            f"in the top-level package's {key} requirements only; the staging build runs without it",
            top.lines.get(key, top.line),
        )


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    if isinstance(value, dict):
        return [leaf for key in ("then", "else") for leaf in _leaves(value.get(key))]
    return [value] if value is not None else []


def _dep_name(dep: Any) -> str:
    return str(dep).split()[0] if str(dep).strip() else ""


def convert_outputs(
    doc: Doc,
    *,
    found: list[Entry],
    notes: sec.Notes,
    top: TopLevel,
    package: CommentedMap,
    top_tests: list[Entry],
    recipe_dir: Path | None,
) -> CommentedSeq:
    """Every output, the staging output first and conda-build's top-level package included."""
    out = CommentedSeq()
    if top.staging is not None:
        out.append(top.staging)
    top_name = package.get("name")
    converted: list[CommentedMap] = []
    explicit: tuple[CommentedMap, int] | None = None
    own_build: list[str] = []
    no_build: list[str] = []
    for entry in found:
        for item in items(doc, entry.value):
            cond = combine(entry.cond, item.cond)
            output = _output(doc, item=item, cond=cond, notes=notes, top=top, top_name=top_name)
            converted.append(output)
            name = output["package"].get("name")
            has_build = any(e.key == "build" for e in entries(doc, item.value, where="outputs"))
            (own_build if has_build else no_build if name != top_name else []).append(str(name))
            if explicit is None and output["package"].get("name") == top_name:
                explicit = (output, item.line)
    names = {o["package"].get("name") for o in converted}
    if explicit is not None:
        _merge_top_level(doc, explicit, top, top_tests, notes, recipe_dir=recipe_dir)
    elif top.pins_subpackage or (top.run_names & names):
        converted.append(_implicit_package(doc, top, top_name, top_tests, notes, recipe_dir=recipe_dir))
    else:
        _report_unused(doc, top, top_tests, notes, recipe_dir=recipe_dir)
    out.extend(converted)
    staged = top.staging.get("requirements") if top.staging is not None else None
    ignored = staged.get("ignore_run_exports") if isinstance(staged, dict) else None
    if ignored and no_build:
        doc.warnings.add(
            "top-level build.ignore_run_exports of a multi-output recipe: v1 applies it to the run exports "
            "of the staging output's requirements only; conda-build also applies it to outputs without a "
            f"build section of their own ({', '.join(no_build)})",
            top.lines.get("ignore_run_exports", top.line),
        )
    for entry in top.passed_on if own_build else []:
        doc.warnings.add(
            f"top-level build.{entry.key} of a multi-output recipe applies in v1 to every output; "
            "conda-build does not apply it to outputs with a build section of their own "
            f"({', '.join(own_build)})",
            entry.line,
        )
    return out


def _output(
    doc: Doc, *, item: Item, cond: str | None, notes: sec.Notes, top: TopLevel, top_name: Any
) -> CommentedMap:
    found = group(entries(doc, item.value, where="outputs", inherited=item.cond))
    out = CommentedMap()
    package = CommentedMap()
    for key in ("name", "version"):
        if key in found:
            package[key] = sec.scalar_text(sec.value_of(doc, found.pop(key)))
    out["package"] = package
    build_entries = merged(doc, found.pop("build", []), where="outputs.build")
    build_entries += found.pop("script", []) + found.pop("script_interpreter", [])
    if cond is not None:
        line = build_entries[0].line if build_entries else 0
        build_entries.append(Entry("skip", True, negate(cond), line))
    files = found.pop("files", None)
    if all(e.value == "conda" for e in found.get("type", [])):
        found.pop("type", None)  # the default; anything else (wheel) is reported below
    built = convert_build(doc, build_entries, notes, files)
    if top.staging is not None:
        is_top = package.get("name") == top_name
        if is_top or "files" in built.build or "script" in built.build:
            out["inherit"] = top.staging["staging"]["name"]
        if "script" in built.build and "files" not in built.build and not is_top:
            doc.warnings.add(
                f"output {package.get('name')} runs its own script after the top-level build: v1 packs the "
                "staging output's files into it too (conda-build packs only what its script installs); "
                "add build.files to select",
                item.line,
            )
    if built.build:
        out["build"] = built.build
    flat: list[Entry] = []
    for entry in found.pop("requirements", []):
        if isinstance(entry.value, CommentedSeq):
            flat.append(Entry("run", entry.value, entry.cond, entry.line, entry.comment))
        else:
            flat.extend(merged(doc, [entry], where="outputs.requirements"))
    reqs = sec.requirements(doc, flat, notes, built.requirements_extra)
    if reqs:
        out["requirements"] = reqs
    tests = convert_tests(doc, merged(doc, found.pop("test", []), where="outputs.test"), notes, None)
    if tests:
        out["tests"] = tests
    if "about" in found:
        out["about"] = sec.about(doc, merged(doc, found.pop("about"), where="outputs.about"), notes)
    for group_ in found.values():
        notes.drop("outputs", group_[0], "has no v1 equivalent for an output")
    return out


def _merge_top_level(
    doc: Doc,
    explicit: tuple[CommentedMap, int],
    top: TopLevel,
    top_tests: list[Entry],
    notes: sec.Notes,
    *,
    recipe_dir: Path | None,
) -> None:
    """conda-build merges the top level into the output of the recipe's name: keys the output lacks."""
    output, line = explicit
    if output.get("tests") and top_tests:
        doc.warnings.add(
            f"output {output['package'].get('name')} has the recipe's name: conda-build runs only the "
            "top-level test for it, not its own (conda-build issue 3313); its own test is dropped",
            line,
        )
        del output["tests"]
    build = output.get("build") or CommentedMap()
    for key, value in top.build.items():
        build.setdefault(key, value)
    reqs = output.get("requirements") or CommentedMap()
    if set(top.requirements) - set(reqs):  # conda-build fills in the sections the output lacks
        reqs = _requirements({**top.requirements, **reqs})
    tests = output.get("tests") or CommentedSeq()
    tests.extend(convert_tests(doc, top_tests, notes, recipe_dir))
    parts = {"build": build, "requirements": reqs, "tests": tests}
    ordered = [(key, parts.get(key, output.get(key))) for key in OUTPUT_ORDER]
    for key in list(output):
        if key not in OUTPUT_ORDER:
            ordered.append((key, output[key]))
    output.clear()
    output.update((key, value) for key, value in ordered if value)


def _requirements(found: dict[str, Any]) -> CommentedMap:
    """Requirement sections in v1's order."""
    order = ("build", "host", *PACKAGE_REQUIREMENTS, "ignore_run_exports")
    keys = [key for key in order if key in found] + [key for key in found if key not in order]
    return CommentedMap((key, found[key]) for key in keys)


def _implicit_package(
    doc: Doc, top: TopLevel, name: Any, top_tests: list[Entry], notes: sec.Notes, *, recipe_dir: Path | None
) -> CommentedMap:
    """The package conda-build builds from the top level when no output has the recipe's name."""
    out = CommentedMap([("package", CommentedMap([("name", name)]))])
    if top.staging is not None:
        out["inherit"] = top.staging["staging"]["name"]
    if top.build:
        out["build"] = top.build
    if top.requirements:
        out["requirements"] = _requirements(top.requirements)
    tests = convert_tests(doc, top_tests, notes, recipe_dir)
    if tests:
        out["tests"] = tests
    why = "its requirements use pin_subpackage"
    if not top.pins_subpackage:
        why = "its run requirements name an output"
    doc.warnings.add(
        f"conda-build also builds the top-level package '{name}' ({why} and no output has its name); "
        "kept as an explicit output",
        top.line,
    )
    return out


def _report_unused(
    doc: Doc, top: TopLevel, top_tests: list[Entry], notes: sec.Notes, *, recipe_dir: Path | None
) -> None:
    """Fields that only the top-level package would carry, in a recipe where conda-build builds none."""
    for section, part in (("build", top.build), ("requirements", top.requirements)):
        for key in part:
            doc.warnings.add(
                f"top-level {section}.{key} of a multi-output recipe: conda-build builds no top-level "
                "package here (no output has its name), so it applies to no package; dropped",
                top.lines.get(key, top.line),
            )
    for name in RUN_TEST:
        if recipe_dir is not None and (recipe_dir / name).is_file():
            doc.warnings.add(
                f"{name} in the recipe folder tests the top-level package, which conda-build does not "
                "build here (no output has the recipe's name); not converted"
            )
    if top_tests:
        notes.drop(
            "test",
            top_tests[0],
            "top-level test of a multi-output recipe: conda-build builds no top-level package here and "
            "runs its commands for no output",
        )
