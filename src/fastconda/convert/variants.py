"""conda_build_config.yaml → variants.yaml (same keys; selectors become ``if:`` items)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from fastconda.convert.model import Warnings
from fastconda.convert.preprocess import prepare
from fastconda.convert.sections import generic, value_of
from fastconda.convert.tree import Doc, cond_list, entries, group
from fastconda.convert.writer import header_comments, write_recipe_text
from fastconda.errors import ConvertError


def _text(source: str | Path) -> tuple[str, str]:
    if isinstance(source, Path):
        try:
            return source.read_text(encoding="utf-8"), str(source)
        except OSError as exc:
            msg = f"{source}: cannot read the variant config: {exc}"
            raise ConvertError(msg) from None
    return source, "conda_build_config.yaml"


def _doc(source: str | Path, warnings: Warnings) -> tuple[Doc, str]:
    text, filename = _text(source)
    return Doc(prepare(text, filename, warnings), filename, warnings), text


def read_variant_keys(source: str | Path | Mapping[str, Sequence[object]]) -> frozenset[str]:
    """The variable names a variant config defines (they may appear in selectors)."""
    if isinstance(source, Mapping):
        return frozenset(str(k) for k in source)
    doc, _ = _doc(source, Warnings())
    return frozenset(e.key for e in entries(doc, doc.root, where="variants"))


def convert_variants(source: str | Path, warnings: Warnings) -> str:
    doc, text = _doc(source, warnings)
    out = CommentedMap()
    for key, found in group(entries(doc, doc.root, where="variants")).items():
        if all(isinstance(e.value, str | int | float | bool) for e in found):
            # conda-build reads 'c_compiler: gcc' as a one-value list; the engine wants the list
            out[key] = cond_list(doc, found, lambda item: generic(doc, item.value, item.cond))
        else:
            out[key] = value_of(doc, found)
        if key == "zip_keys":
            out[key] = _zip_groups(out[key], warnings, found[0].line)
    return write_recipe_text(out, header=header_comments(text), notes=[])


def _zip_groups(value: Any, warnings: Warnings, line: int) -> Any:
    """``zip_keys`` as plain groups: the engine takes no ``if:`` there and no flat list. The groups of
    every branch are kept once each (zipping keys a platform lacks does nothing)."""
    if not isinstance(value, list):
        return value
    if value and all(isinstance(item, str) for item in value):
        value = [value]  # a flat list is one group to conda-build
    groups: list[list[str]] = []
    conditional = False
    for item in value:
        if isinstance(item, dict) and "then" in item:
            conditional = True
            item = item["then"]  # noqa: PLW2901 - the group under its condition
        if not isinstance(item, list):
            return value
        names = []
        for name in item:
            if isinstance(name, dict) and "then" in name:
                conditional, name = True, name["then"]  # noqa: PLW2901
            names.append(str(name))
        if names not in groups:
            groups.append(names)
    if conditional:
        warnings.add(
            f"conda_build_config.yaml:{line}: zip_keys under selectors: v1 variant configs take no "
            "condition there; the groups of every platform are written for all"
        )
    out = CommentedSeq()
    for names in groups:
        flow = CommentedSeq(names)
        flow.fa.set_flow_style()
        out.append(flow)
    return out
