"""The whole recipe: top-level sections in the order conda-forge's v1 recipes use, and outputs.

The outputs of a multi-output meta.yaml, and what its top level becomes there, are in ``outputs``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

from fastconda.convert import sections as sec
from fastconda.convert.build_section import convert_build
from fastconda.convert.context import ContextVar
from fastconda.convert.outputs import PASSED_ON, TopLevel, convert_outputs, split_top_level
from fastconda.convert.tests_section import convert_tests
from fastconda.convert.tree import RENAMED, Doc, Entry, copy_comment, entries, group, merged

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
        converted_source = sec.sources(doc, top.pop("source"), notes)
        if converted_source:  # every source dropped (svn, hg): no source
            out["source"] = converted_source

    build_entries = merged(doc, top.pop("build", []), where="build")
    requirement_entries = merged(doc, top.pop("requirements", []), where="requirements")
    test_entries = merged(doc, top.pop("test", []), where="test")
    about_entries = merged(doc, top.pop("about", []), where="about")
    top_level: TopLevel | None = None
    if outputs:
        inherited = [e for e in build_entries if e.key in PASSED_ON]
        local = [e for e in build_entries if e.key not in PASSED_ON]
        if inherited:
            out["build"] = convert_build(doc, inherited, notes).build
        top_level = split_top_level(doc, package, local, requirement_entries, notes, recipe_dir=recipe_dir)
        top_level.passed_on = [e for e in inherited if e.key not in {"number", "string", "skip"}]
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
    if top_level is not None:
        out["outputs"] = convert_outputs(
            doc,
            found=outputs,
            notes=notes,
            top=top_level,
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
