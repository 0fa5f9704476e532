"""What a parsed Makefile's variables come to: ``$(VAR)`` expanded over the Makefile's own variables
(anything else reported under the variable that holds it), the file stems of an object list, and which
variables and targets reach which."""

from __future__ import annotations

import re
from collections.abc import Mapping

from fastconda.cxx.makefile import REFERENCE, Makefile, Unmapped

PLACEHOLDER = re.compile("\x00(\\d+)\x00")  # stands for the Nth construct that could not be expanded


_MAX_DEPTH = 10  # variables referring to variables: deeper is a loop


def _words(value: str) -> list[str]:
    """*value* split at blanks outside ``$(...)``: ``$(OBJDIR)/$(shell cat x).o`` is one word."""
    words: list[str] = []
    current: list[str] = []
    depth = 0
    for char in value:
        if char.isspace() and depth == 0:
            if current:
                words.append("".join(current))
                current = []
            continue
        if char in "({":
            depth += 1
        elif char in ")}" and depth:
            depth -= 1
        current.append(char)
    if current:
        words.append("".join(current))
    return words


class Expander:
    """``$(VAR)`` expansion over the Makefile's own variables; anything else is reported under the name
    and line of the variable whose value holds it.

    *known_empty* are variables make would expand to nothing without a word (Pogo's optional lists such
    as ``ADDITIONAL_OBJS``)."""

    def __init__(self, makefile: Makefile, name: str, known_empty: frozenset[str] = frozenset()) -> None:
        self.values = dict(makefile.values)
        self.values["OBJDIR"] = "."
        self.values.setdefault("BIN_DIR", "")
        self.name = name
        self.lines = makefile.lines
        self.known_empty = known_empty

    def __call__(self, variable: str, sink: list[Unmapped]) -> str:
        return self.expand(self.values.get(variable, ""), variable, sink, depth=0)

    def stems(self, variable: str, sink: list[Unmapped]) -> list[tuple[str, str]]:
        """The file stems of the object names in *variable* (``$(OBJDIR)/X.o`` → ``X``), each with the
        variable whose value lists the object (``SVC_OBJS`` → ``$(LIB_OBJS)`` → ``LIB_OBJS``): what
        cannot be expanded in an object's folder (``obj/$(shell uname -m)/X.o``) does not matter: not
        reported."""
        found: list[tuple[str, str]] = []
        self._stems(variable, sink, found, depth=0)
        return found

    def _stems(self, variable: str, sink: list[Unmapped], found: list[tuple[str, str]], depth: int) -> None:
        pending: list[Unmapped] = []
        used: set[int] = set()
        for token in _words(self.values.get(variable, "")):
            whole = REFERENCE.fullmatch(token)
            if whole and whole.group(1) in self.values and depth < _MAX_DEPTH:  # a list of objects
                self._stems(whole.group(1), sink, found, depth + 1)
                continue
            for name in self.expand(token, variable, pending, depth, placeholders=True).split():
                filename = name.rpartition("/")[2]
                used.update(int(m.group(1)) for m in PLACEHOLDER.finditer(filename))
                if stem := PLACEHOLDER.sub("", filename).rsplit(".", 1)[0]:
                    found.append((stem, variable))
        sink.extend(item for index, item in enumerate(pending) if index in used)

    def expand(
        self, value: str, variable: str, sink: list[Unmapped], depth: int, placeholders: bool = False
    ) -> str:
        def replace(match: re.Match[str]) -> str:
            reference = match.group(1)
            if reference in self.values and depth < 10:
                return self.expand(self.values[reference], reference, sink, depth + 1, placeholders)
            if reference in self.known_empty:
                return ""
            reason = (
                f"make function '{reference.split()[0]}'"
                if " " in reference
                else f"${{{reference}}} is not set in the Makefile"
            )
            sink.append(Unmapped(self.name, self.lines.get(variable, 0), f"{variable} = {value}", reason))
            return f"\x00{len(sink) - 1}\x00" if placeholders else ""

        return REFERENCE.sub(replace, value)


def is_goal(target: str) -> bool:
    """A target make may take as its default goal (not a pattern rule, not .PHONY-like)."""
    return "%" not in target and not target.startswith(".")


def reachable(goals: set[str], rules: list[tuple[Unmapped, list[str], list[str]]]) -> set[str]:
    """The targets *goals* lead to through the rules' prerequisites."""
    reached = set(goals)
    todo = list(goals)
    while todo:
        target = todo.pop()
        for _, targets, prerequisites in rules:
            if target in targets:
                new = [p for p in prerequisites if p not in reached]
                reached.update(new)
                todo.extend(new)
    return reached


def is_referenced(variable: str, values: Mapping[str, str]) -> bool:
    """Whether any variable's value uses *variable*."""
    return any(variable in REFERENCE.findall(value) for value in values.values())


def referenced(values: Mapping[str, str], roots: frozenset[str]) -> set[str]:
    """The variables that the values of *roots* use, directly or through others."""
    seen: set[str] = set()
    todo = [r for r in roots if r in values]
    while todo:
        for reference in REFERENCE.findall(values.get(todo.pop(), "")):
            if reference not in seen:
                seen.add(reference)
                todo.append(reference)
    return seen
