"""v1 recipe nodes → YAML text in the layout of conda-forge's v1 recipes.

Two-space indentation with list dashes indented under their key, no line folding, one blank line
between top-level sections, the meta.yaml's header comments first, then a comment block listing
anything that could not be converted. Comments that introduced a section of the meta.yaml go right
above that section; blank lines inside block scalars (``|``) are content and stay.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ruamel.yaml.comments import CommentedMap

from fastconda.convert import yamlio

_TOP_KEY = re.compile(r"^(?P<key>[A-Za-z_][\w-]*):")
_BLOCK = re.compile(r"^(?P<indent>\s*)(?:-\s+)*(?:[^\s#][^#]*?:\s+|-\s+|)[|>][-+0-9]*\s*(?:#.*)?$")


def write_recipe_text(
    recipe: CommentedMap,
    *,
    header: list[str],
    notes: list[str],
    leading: Mapping[str, list[str]] | None = None,
) -> str:
    body = _layout(yamlio.dump(recipe), leading or {})
    lines = [*header]
    if notes:
        if lines:
            lines.append("")
        lines.append("# fastconda: not converted (no v1 equivalent), see the conversion warnings:")
        lines.extend(
            f"#   {line}" for note in notes for line in note.splitlines() or [""]
        )  # every line a comment
    prefix = "\n".join(lines) + "\n\n" if lines else ""
    return prefix + body


def _layout(text: str, leading: Mapping[str, list[str]]) -> str:
    """One blank line before each top-level key (but the first) and its leading comments."""
    out: list[str] = []
    block_indent: int | None = None  # inside a block scalar whose key is indented this much
    pending_blanks = 0
    for line in text.splitlines():
        stripped = line.rstrip()
        if block_indent is not None:
            if not stripped:
                pending_blanks += 1
                continue
            if len(stripped) - len(stripped.lstrip()) > block_indent:
                out.extend([""] * pending_blanks)
                pending_blanks = 0
                out.append(stripped)
                continue
            block_indent = None
        pending_blanks = 0
        if not stripped:
            continue  # blank lines come only from the layout here
        top = _TOP_KEY.match(stripped)
        if top is not None:
            if out and out[-1] != "":
                out.append("")
            out.extend(leading.get(top["key"], []))
        out.append(stripped)
        if _BLOCK.match(stripped):
            block_indent = _owner_column(stripped)
    while out and out[-1] == "":
        out.pop()
    if leading.get(""):
        out.extend(["", *leading[""]])
    return "\n".join(out) + "\n"


def _owner_column(line: str) -> int:
    """The column of the key (or of the last dash) that a block scalar header line belongs to."""
    rest = line.lstrip(" ")
    column = len(line) - len(rest)
    while rest.startswith("- "):
        after = rest[2:].lstrip(" ")
        if after[:1] in {"|", ">"}:
            return column
        column += len(rest) - len(after)
        rest = after
    return column


def header_comments(text: str) -> list[str]:
    """The comment lines at the very top of the meta.yaml (before anything else)."""
    out: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") and not stripped.startswith("# ["):
            out.append(stripped)
        elif stripped and not stripped.startswith("{%"):
            break
    return out
