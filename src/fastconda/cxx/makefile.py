"""Read a Pogo Makefile as data, without make: variables (``=``, ``:=``, ``+=``, ``?=``) with the line
that set each, the included files, and everything else (rules, directives) as :class:`Unmapped` entries
with their line (:mod:`fastconda.cxx.make_expand` expands the variables).

Conditionals (``ifdef``/``ifndef``/``ifeq``/``ifneq``/``else``/``endif``) are evaluated as make would on
Linux, the platform the build targets (:data:`LINUX`), so the assignment make takes is the one kept; a
condition that cannot be decided without running make (``$(shell hostname)``) is reported once and its
first branch is read. An assignment to a computed name (``$(PROCESSOR)=1``) is one too."""

from __future__ import annotations

import dataclasses
import platform
import re
from pathlib import Path

from fastconda._files import read_project_file
from fastconda.errors import TangoError

_ASSIGN = re.compile(r"^(?:override\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*(\+=|:=|::=|\?=|=)\s*(.*)$")
# an assignment whose variable name make computes: ``$(PROCESSOR)=1`` (TangoDatabase's Makefile); a ':'
# before the '=' makes it a rule (``$(OBJDIR)/X.o: $(Y)=1`` is a target-specific variable)
_COMPUTED_ASSIGN = re.compile(r"^([^\s:=#]*\$[({][^=:]*?[)}][^\s:=#]*)\s*(\+=|:=|::=|\?=|=)\s*(.*)$")
REFERENCE = re.compile(r"\$[({]([^()}{]*)[)}]")  # $(VAR) or ${VAR}: group 1 is VAR

_CONDITIONALS = frozenset({"ifeq", "ifneq", "ifdef", "ifndef", "else", "endif"})
_DIRECTIVES = frozenset({"define", "endef", "export", "unexport", "vpath"})
# What make sees on a Linux build host when the Makefile does not set it: Pogo-6 Makefiles test
# ``ifdef linux``/``ifdef LINUX`` (set by the developer's environment), others compare ``$(OS)`` or
# ``$(shell uname)`` with Linux.
LINUX = {"linux": "1", "LINUX": "1", "OS": "Linux", "OSTYPE": "linux", "OS_TYPE": "linux", "UNAME": "Linux",
         "UNAME_S": "Linux", "PLATFORM": "linux"}  # fmt: skip
_SHELL_UNAME = re.compile(r"^shell\s+uname(?:\s+-([smpi]))?\s*$")  # the kernel's name or the machine
_MAX_NESTING = 64


@dataclasses.dataclass(frozen=True)
class Unmapped:
    """A Makefile (or .xmi) construct with no CMake counterpart: the migration did not carry it over.

    ``affects_build`` is False for constructs shown for information only (a ``clean:`` rule): they do
    not make the migration "done with warnings"."""

    file: str
    line: int
    text: str
    reason: str
    affects_build: bool = True
    end_line: int = 0  # last line of a construct that spans several (a rule and its recipe)

    def format(self) -> str:
        return f"{self.file}:{self.line}: {self.text.strip()} ({self.reason})"

    @property
    def lines(self) -> str:
        return f"{self.line}-{self.end_line}" if self.end_line > self.line else str(self.line)


def group(items: list[Unmapped] | tuple[Unmapped, ...]) -> list[str]:
    """One report line per construct (same file and reason), with all its line numbers: a Makefile
    with one construct on 40 lines gives one line, not 40."""
    groups: dict[tuple[str, str], list[Unmapped]] = {}
    for item in items:
        groups.setdefault((item.file, item.reason), []).append(item)
    out = []
    for (file, reason), members in groups.items():
        numbers = ", ".join(dict.fromkeys(m.lines for m in members if m.line))
        where = f"{file}:{numbers}" if numbers else file
        texts = list(dict.fromkeys(m.text.strip() for m in members))
        shown = "; ".join(t if len(t) <= 80 else t[:77] + "..." for t in texts[:3])
        more = f" (+{len(texts) - 3} more)" if len(texts) > 3 else ""
        out.append(f"{where}: {shown}{more} ({reason})")
    return out


@dataclasses.dataclass
class Makefile:
    values: dict[str, str] = dataclasses.field(default_factory=dict)
    lines: dict[str, int] = dataclasses.field(default_factory=dict)
    includes: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    unmapped: list[Unmapped] = dataclasses.field(default_factory=list)
    rules: list[Unmapped] = dataclasses.field(default_factory=list)  # rules, with their recipe's lines
    rule_references: set[str] = dataclasses.field(default_factory=set)  # $(VAR)s in rules and recipes
    # $(VAR)s that conditionals and computed variable names read: evaluated here, nothing to carry over
    condition_references: set[str] = dataclasses.field(default_factory=set)


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


@dataclasses.dataclass
class _Branch:
    active: bool  # this branch's lines count
    parent_active: bool
    taken: bool  # some branch of this conditional was (or is) taken


class _Parser:
    """One pass over the logical lines: the conditional stack, the rule whose recipe follows, the result."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.parsed = Makefile()
        self.stack: list[_Branch] = []
        self.rule: Unmapped | None = None
        self.define: Unmapped | None = None  # an open define...endef block: its lines are not make code

    @property
    def active(self) -> bool:
        return all(branch.active for branch in self.stack)

    def line(self, number: int, line: str) -> None:
        if self.define is not None:
            if line.strip().split(None, 1)[:1] == ["endef"]:
                self.parsed.unmapped.append(dataclasses.replace(self.define, end_line=number))
                self.define = None
            return
        code = line.split("#", 1)[0].rstrip()
        if not code.strip():
            return
        stripped = code.strip()
        word = stripped.split(None, 1)[0]
        if word in _CONDITIONALS:
            self.conditional(number, word, stripped)
            return
        if not self.active:
            return
        if line.startswith("\t") and self.rule is not None:
            self.rule = dataclasses.replace(self.rule, end_line=number)  # a recipe line of this rule
            self.parsed.rules[-1] = self.rule
            self.parsed.rule_references.update(REFERENCE.findall(line))
            return
        self.rule = None
        if word in {"include", "-include", "sinclude"}:
            self.parsed.includes.extend((number, target) for target in stripped.split()[1:])
        elif word == "define":
            self.define = Unmapped(self.name, number, stripped, "make directive 'define'")
        elif word in _DIRECTIVES:
            self.parsed.unmapped.append(Unmapped(self.name, number, stripped, f"make directive '{word}'"))
        elif match := _ASSIGN.match(stripped):
            self.assign(number, *match.groups())
        elif match := _COMPUTED_ASSIGN.match(stripped):
            self.computed_assign(number, stripped, *match.groups())
        elif re.match(r"^\.[A-Z_]+\s*:", stripped):
            return  # .SILENT:, .PHONY: ... only change how make runs
        elif ":" not in stripped:  # make stops here ("missing separator"); not a rule either
            self.parsed.unmapped.append(Unmapped(self.name, number, stripped, "line make cannot read"))
        else:
            self.rule = Unmapped(self.name, number, stripped, "make rule")
            self.parsed.rules.append(self.rule)
            self.parsed.rule_references.update(REFERENCE.findall(stripped))

    def assign(self, number: int, variable: str, operator: str, value: str) -> None:
        values = self.parsed.values
        if operator == "+=" and variable in values:
            values[variable] = f"{values[variable]} {value}".strip()
        elif operator == "?=" and variable in values:
            return
        else:
            values[variable] = value.strip()
        self.parsed.lines[variable] = number  # the line make took the value from (the last one)

    def computed_assign(self, number: int, text: str, name: str, operator: str, value: str) -> None:
        """``$(PROCESSOR)=1``: the name as make computes it on Linux, then an ordinary assignment."""
        problems: list[str] = []
        self.parsed.condition_references.update(REFERENCE.findall(name))
        variable = _expand_text(name, self.parsed.values, problems).strip()
        if problems or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", variable):
            why = problems[0] if problems else f"it is {variable!r}"
            reason = f"variable name not decidable without make ({why})"
            self.parsed.unmapped.append(Unmapped(self.name, number, text, reason))
            return
        self.assign(number, variable, operator, value)

    def conditional(self, number: int, word: str, text: str) -> None:
        if word == "endif":
            if self.stack:
                self.stack.pop()
            return
        if word == "else":
            if not self.stack:
                return
            branch = self.stack[-1]
            if not branch.parent_active:
                return  # inside a branch make skips: nothing here counts, nothing is decided
            rest = text[len("else") :].strip()
            if rest.split(None, 1)[:1] and rest.split(None, 1)[0] in {"ifeq", "ifneq", "ifdef", "ifndef"}:
                if branch.taken:
                    branch.active = False
                    return
                value = self.decide(number, rest.split(None, 1)[0], rest)
                branch.active = value
                branch.taken = value
                return
            branch.active = not branch.taken
            branch.taken = True
            return
        parent = self.active
        if len(self.stack) >= _MAX_NESTING:
            msg = f"{self.name}:{number}: conditionals nested over {_MAX_NESTING} deep: not a Pogo Makefile"
            raise TangoError(msg)
        value = self.decide(number, word, text) if parent else False
        self.stack.append(_Branch(active=value, parent_active=parent, taken=value))

    def decide(self, number: int, word: str, text: str) -> bool:
        """The truth of one ``ifdef``/``ifeq``... line on Linux; an undecidable one: reported, true."""
        argument = text[len(word) :].strip()
        self.parsed.condition_references.update(REFERENCE.findall(argument))
        if word in {"ifdef", "ifndef"} and "$" not in argument:
            self.parsed.condition_references.add(argument)  # ifdef NAME reads NAME
        problems: list[str] = []
        if word in {"ifdef", "ifndef"}:
            name = _expand_text(argument, self.parsed.values, problems)
            defined = bool(self.parsed.values.get(name.strip(), LINUX.get(name.strip(), "")))
            result = defined if word == "ifdef" else not defined
        else:
            pair = _split_comparison(argument)
            if pair is None:
                problems.append("cannot read the comparison")
                result = True
            else:
                left, right = (_expand_text(part, self.parsed.values, problems).strip() for part in pair)
                result = (left == right) if word == "ifeq" else (left != right)
        if problems:
            self.parsed.unmapped.append(
                Unmapped(
                    self.name,
                    number,
                    text,
                    f"condition not decidable without make ({problems[0]}); read its first branch",
                )
            )
            return True
        return result


def _split_comparison(argument: str) -> tuple[str, str] | None:
    """``(a,b)``, ``"a" "b"`` or ``'a' 'b'`` → (a, b)."""
    if argument.startswith("(") and argument.endswith(")"):
        inner, depth = argument[1:-1], 0
        for index, char in enumerate(inner):
            depth += {"(": 1, ")": -1}.get(char, 0)
            if char == "," and depth == 0:
                return inner[:index], inner[index + 1 :]
        return None
    quoted = re.fullmatch(r"""(["'])(.*?)\1\s+(["'])(.*?)\3""", argument)
    return (quoted.group(2), quoted.group(4)) if quoted else None


def _expand_text(text: str, values: dict[str, str], problems: list[str], depth: int = 0) -> str:
    """Expansion for conditions: the Makefile's variables, else Linux's (:data:`LINUX`), else empty."""

    def replace(match: re.Match[str]) -> str:
        reference = match.group(1).strip()
        if uname := _SHELL_UNAME.match(reference):
            return "Linux" if uname.group(1) in {None, "s"} else platform.machine()
        if " " in reference or "," in reference:
            problems.append(f"make function '{reference.split()[0]}'")
            return ""
        if depth >= 10:
            return ""
        if reference in values:
            return _expand_text(values[reference], values, problems, depth + 1)
        return LINUX.get(reference, "")

    return REFERENCE.sub(replace, text)


def parse_makefile(path: Path) -> Makefile:
    parser = _Parser(path.name)
    for number, line in _logical_lines(read_project_file(path, "a Pogo Makefile")):
        parser.line(number, line)
    if parser.define is not None:  # no endef: make would stop; report the block as it is
        parser.parsed.unmapped.append(parser.define)
    return parser.parsed
