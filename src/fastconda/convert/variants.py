"""conda_build_config.yaml → variants.yaml (same keys; selectors become ``if:`` items)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from ruamel.yaml.comments import CommentedMap

from fastconda.convert.model import Warnings
from fastconda.convert.preprocess import prepare
from fastconda.convert.sections import value_of
from fastconda.convert.tree import Doc, entries, group
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
        out[key] = value_of(doc, found)
    return write_recipe_text(out, header=header_comments(text), notes=[])
