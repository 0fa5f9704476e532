"""v1 recipe nodes → YAML text in the layout of conda-forge's v1 recipes.

Two-space indentation with list dashes indented under their key, no line folding, one blank line
between top-level sections, the meta.yaml's header comments first, then a comment block listing
anything that could not be converted.
"""

from __future__ import annotations

import io
import re

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

_TOP_KEY = re.compile(r"^[A-Za-z_][\w-]*:")


def dump(recipe: CommentedMap, *, header: list[str], notes: list[str]) -> str:
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    yaml.allow_unicode = True
    buffer = io.StringIO()
    yaml.dump(recipe, buffer)
    body = _blank_lines(buffer.getvalue())
    lines = [*header]
    if notes:
        if lines:
            lines.append("")
        lines.append("# fastconda: not converted (no v1 equivalent), see the conversion warnings:")
        lines.extend(f"#   {note}" for note in notes)
    prefix = "\n".join(lines) + "\n\n" if lines else ""
    return prefix + body


def _blank_lines(text: str) -> str:
    """One blank line before each top-level key (but the first) and nowhere else."""
    out: list[str] = []
    for line in text.splitlines():
        stripped = line.rstrip()
        if _TOP_KEY.match(stripped) and out and out[-1] != "":
            out.append("")
        if stripped == "":
            continue  # blank lines come only from the layout above
        out.append(stripped)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


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
