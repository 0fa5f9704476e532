"""Read a Pogo Makefile as data, without make: variables (``=``, ``:=``, ``+=``, ``?=``) with the line
that set each, the included files, and everything else (rules, directives) as :class:`Unmapped` entries
with their line; ``$(VAR)`` references expand over the Makefile's own variables only."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

_ASSIGN = re.compile(r"^(?:override\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*(\+=|:=|::=|\?=|=)\s*(.*)$")
_REFERENCE = re.compile(r"\$[({]([^()}{]*)[)}]")


@dataclasses.dataclass(frozen=True)
class Unmapped:
    """A Makefile (or .xmi) construct with no CMake counterpart: the migration did not carry it over."""

    file: str
    line: int
    text: str
    reason: str

    def format(self) -> str:
        return f"{self.file}:{self.line}: {self.text.strip()} ({self.reason})"


@dataclasses.dataclass
class Makefile:
    values: dict[str, str] = dataclasses.field(default_factory=dict)
    lines: dict[str, int] = dataclasses.field(default_factory=dict)
    includes: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    unmapped: list[Unmapped] = dataclasses.field(default_factory=list)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines with backslash continuations joined, each with the number of its first physical line."""
    out: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        if raw.endswith("\\"):
            pending.append(raw[:-1])
            continue
        pending.append(raw)
        out.append((start, " ".join(p.strip() if i else p for i, p in enumerate(pending))))
        pending = []
    if pending:
        out.append((start, " ".join(pending)))
    return out


def parse_makefile(path: Path) -> Makefile:
    parsed = Makefile()
    name = path.name
    for number, line in _logical_lines(path.read_text(encoding="utf-8", errors="replace")):
        if line.startswith("\t") and line.strip() and not line.strip().startswith("#"):
            parsed.unmapped.append(Unmapped(name, number, line, "recipe of a make rule"))
            continue
        code = line.split("#", 1)[0].rstrip()
        if not code.strip():
            continue
        stripped = code.strip()
        word = stripped.split(None, 1)[0]
        if word in {"include", "-include", "sinclude"}:
            parsed.includes.extend((number, target) for target in stripped.split()[1:])
        elif word in {
            "ifeq",
            "ifneq",
            "ifdef",
            "ifndef",
            "else",
            "endif",
            "define",
            "endef",
            "export",
            "vpath",
        }:
            parsed.unmapped.append(Unmapped(name, number, stripped, f"make directive '{word}'"))
        elif match := _ASSIGN.match(stripped):
            variable, operator, value = match.groups()
            if operator == "+=" and variable in parsed.values:
                parsed.values[variable] = f"{parsed.values[variable]} {value}".strip()
            elif operator == "?=" and variable in parsed.values:
                continue
            else:
                parsed.values[variable] = value.strip()
            parsed.lines.setdefault(variable, number)
        elif re.match(r"^\.[A-Z_]+\s*:", stripped):
            continue  # .SILENT:, .PHONY: ... only change how make runs
        else:
            parsed.unmapped.append(Unmapped(name, number, stripped, "make rule"))
    return parsed


class Expander:
    """``$(VAR)`` expansion over the Makefile's own variables; anything else is reported."""

    def __init__(self, makefile: Makefile, name: str) -> None:
        self.values = dict(makefile.values)
        self.values["OBJDIR"] = "."
        self.values.setdefault("BIN_DIR", "")
        self.name = name
        self.lines = makefile.lines

    def __call__(self, variable: str, sink: list[Unmapped]) -> str:
        return self.expand(self.values.get(variable, ""), variable, sink, depth=0)

    def expand(self, value: str, variable: str, sink: list[Unmapped], depth: int) -> str:
        def replace(match: re.Match[str]) -> str:
            reference = match.group(1)
            if reference in self.values and depth < 10:
                return self.expand(self.values[reference], variable, sink, depth + 1)
            reason = (
                f"make function '{reference.split()[0]}'"
                if " " in reference
                else f"${{{reference}}} is not set in the Makefile"
            )
            sink.append(Unmapped(self.name, self.lines.get(variable, 0), f"{variable} = {value}", reason))
            return ""

        return _REFERENCE.sub(replace, value)
