"""The whole recipe: top-level sections in the order conda-forge's v1 recipes use, and outputs.

A multi-output meta.yaml whose top level builds something (a script or requirements) becomes a
v1 ``staging:`` output that every package output inherits from: that is how rattler-build spells
conda-build's "build once at the top, split into outputs".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

from fastconda.convert import sections as sec
from fastconda.convert.build_section import convert_build
from fastconda.convert.context import ContextVar
from fastconda.convert.selectors import combine, negate
from fastconda.convert.tests_section import convert_tests
from fastconda.convert.tree import RENAMED, Doc, Entry, Item, copy_comment, entries, group, items, merged

V1_NAMES = {"package": ("package", "recipe"), "test": ("tests",)}


@dataclass
class BuiltRecipe:
    """The v1 recipe as ruamel nodes, the lines of what could not be converted, and the comments
    that introduced each top-level section (by v1 key)."""

    recipe: CommentedMap
    notes: list[str]
    leading: dict[str, list[str]] = field(default_factory=dict)


def assemble_recipe(doc: Doc, context: list[ContextVar], recipe_dir: Path | None) -> BuiltRecipe:
    """Convert the parsed meta.yaml into a v1 recipe."""
    notes = sec.Notes(doc)
    top = group(entries(doc, doc.root, where="recipe"))
    out = CommentedMap()
    if context:
        out["context"] = CommentedMap((c.name, _context_value(c)) for c in context)
    outputs = top.pop("outputs", [])
    package = sec.package(doc, merged(doc, top.pop("package", []), where="package"), notes)
    out["recipe" if outputs else "package"] = package
    if "source" in top:
        out["source"] = sec.sources(doc, top.pop("source"), notes)

    build_entries = merged(doc, top.pop("build", []), where="build")
    requirement_entries = merged(doc, top.pop("requirements", []), where="requirements")
    test_entries = merged(doc, top.pop("test", []), where="test")
    about_entries = merged(doc, top.pop("about", []), where="about")
    staging: CommentedMap | None = None
    if outputs:
        inherited = [e for e in build_entries if e.key in {"number", "string", "skip"}]
        local = [e for e in build_entries if e.key not in {"number", "string", "skip"}]
        if inherited:
            out["build"] = convert_build(doc, inherited, notes).build
        if local or requirement_entries:
            staging = _staging(doc, package, local, requirement_entries, notes)
    else:
        built = convert_build(doc, build_entries, notes)
        if built.build:
            out["build"] = built.build
        reqs = sec.requirements(doc, requirement_entries, notes, built.requirements_extra)
        if reqs:
            out["requirements"] = reqs
        tests = convert_tests(doc, test_entries, notes, recipe_dir)
        if tests:
            out["tests"] = tests
    if outputs:
        out["outputs"] = _outputs(
            doc,
            found=outputs,
            notes=notes,
            staging=staging,
            package=package,
            top_tests=test_entries,
            recipe_dir=recipe_dir,
        )
    if about_entries:
        out["about"] = sec.about(doc, about_entries, notes)
    if "extra" in top:
        out["extra"] = sec.value_of(doc, top.pop("extra"))
    for found in top.values():
        notes.drop("recipe", found[0], "is not a recipe section")
    for key in out:
        original = {"recipe": "package", "tests": "test"}.get(key, key)
        if original in (doc.root or {}):
            copy_comment(out, key, Entry(key, None, None, 0, doc.root.ca.items.get(original)))
    return BuiltRecipe(out, notes.lines, _leading(doc, out))


def _context_value(var: ContextVar) -> Any:
    value = sec.scalar_text(var.value) if var.name == "version" else var.value
    if isinstance(value, str) and var.quote == '"':
        return DoubleQuotedScalarString(value)
    if isinstance(value, str) and var.quote == "'":
        return SingleQuotedScalarString(value)
    return value


def _leading(doc: Doc, out: CommentedMap) -> dict[str, list[str]]:
    """Comments above a meta.yaml section go above its v1 section (or the next one that exists);
    key ``""`` holds those with no section after them (the writer puts them at the end)."""
    leading: dict[str, list[str]] = {}
    waiting: list[str] = []
    for key in doc.root:
        waiting.extend(doc.leading.get(str(key), []))
        renamed = RENAMED.match(str(key))
        name = renamed["key"] if renamed else str(key)
        target = next((t for t in V1_NAMES.get(name, (name,)) if t in out), None)
        if target is not None and waiting:
            leading.setdefault(target, []).extend(waiting)
            waiting = []
    if waiting:
        leading[""] = waiting
    return leading


def _staging(
    doc: Doc, package: CommentedMap, build: list[Entry], reqs: list[Entry], notes: sec.Notes
) -> CommentedMap:
    name = package.get("name", "recipe")
    staging = CommentedMap()
    staging["staging"] = CommentedMap(
        [("name", f"{name}-build" if isinstance(name, str) else "recipe-build")]
    )
    converted = convert_build(doc, build, notes)
    requirements = sec.requirements(doc, reqs, notes, converted.requirements_extra)
    if requirements:
        staging["requirements"] = requirements
    if converted.build:
        staging["build"] = converted.build
    line = (build or reqs)[0].line
    doc.warnings.add(
        "top-level build of a multi-output recipe became a staging output that every output inherits; "
        "check that each output's files select what it should",
        line,
    )
    return staging


def _outputs(
    doc: Doc,
    *,
    found: list[Entry],
    notes: sec.Notes,
    staging: CommentedMap | None,
    package: CommentedMap,
    top_tests: list[Entry],
    recipe_dir: Path | None,
) -> CommentedSeq:
    out = CommentedSeq()
    if staging is not None:
        out.append(staging)
    tests_used = False
    for entry in found:
        for item in items(doc, entry.value):
            cond = combine(entry.cond, item.cond)
            tests = top_tests if _name(doc, item.value) == package.get("name") else []
            tests_used = tests_used or bool(tests)
            converted = _output(
                doc,
                item=item,
                cond=cond,
                notes=notes,
                staging=staging,
                top_tests=tests,
                recipe_dir=recipe_dir,
            )
            out.append(converted)
    if top_tests and not tests_used:
        notes.drop(
            "recipe", top_tests[0], "top-level test of a multi-output recipe with no output of that name"
        )
    return out


def _name(doc: Doc, value: Any) -> Any:
    for entry in entries(doc, value, where="outputs"):
        if entry.key == "name":
            return entry.value
    return None


def _output(
    doc: Doc,
    *,
    item: Item,
    cond: str | None,
    notes: sec.Notes,
    staging: CommentedMap | None,
    top_tests: list[Entry],
    recipe_dir: Path | None,
) -> CommentedMap:
    found = group(entries(doc, item.value, where="outputs", inherited=item.cond))
    out = CommentedMap()
    package = CommentedMap()
    for key in ("name", "version"):
        if key in found:
            package[key] = sec.scalar_text(sec.value_of(doc, found.pop(key)))
    out["package"] = package
    if staging is not None:
        out["inherit"] = staging["staging"]["name"]
    build_entries = merged(doc, found.pop("build", []), where="outputs.build")
    build_entries += found.pop("script", []) + found.pop("script_interpreter", [])
    if cond is not None:
        line = build_entries[0].line if build_entries else 0
        build_entries.append(Entry("skip", True, negate(cond), line))
    files = found.pop("files", None)
    if all(e.value == "conda" for e in found.get("type", [])):
        found.pop("type", None)  # the default; anything else (wheel) is reported below
    built = convert_build(doc, build_entries, notes, files)
    if built.build:
        out["build"] = built.build
    req_entries = found.pop("requirements", [])
    flat: list[Entry] = []
    for entry in req_entries:
        if isinstance(entry.value, CommentedSeq):
            flat.append(Entry("run", entry.value, entry.cond, entry.line, entry.comment))
        else:
            flat.extend(merged(doc, [entry], where="outputs.requirements"))
    reqs = sec.requirements(doc, flat, notes, built.requirements_extra)
    if reqs:
        out["requirements"] = reqs
    test_entries = merged(doc, found.pop("test", []), where="outputs.test") + top_tests
    tests = convert_tests(doc, test_entries, notes, None)
    if tests:
        out["tests"] = tests
    if "about" in found:
        out["about"] = sec.about(doc, merged(doc, found.pop("about"), where="outputs.about"), notes)
    for group_ in found.values():
        notes.drop("outputs", group_[0], "has no v1 equivalent for an output")
    return out
