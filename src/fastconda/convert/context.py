"""The v1 context as the line pass builds it: its values, their order, and the values that the
names set inside ``{% if %}`` blocks take, one conditional expression per name.

conda-build runs a recipe's jinja from top to bottom; the engine reads one ``context`` from the top.
A block remembers each name's value before it (:class:`Saved`) and what each branch left; when it
closes, :func:`compose` writes ``a if cond else b`` over the branches conda-build may take, with
the conditions read as conda-build reads them, before the block set anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import jinja2

from fastconda.convert import expressions as ex

UNDEFINED = "the v1 context sets it to '' elsewhere (what conda-build's jinja gives an undefined name)"


@dataclass
class ContextVar:
    name: str
    value: object  # a constant, or a "${{ expr }}" string
    line: int
    quote: str = ""  # the quote of a string constant in the meta.yaml, kept in the v1 context


@dataclass(frozen=True)
class Saved:
    """A context name's value at one point: what a branch of a block leaves, or what it started from."""

    var: ContextVar | None  # None: not set (yet)
    static: object
    known: bool  # the value is known at conversion time (``static`` holds it)

    def expression(self) -> str | None:
        return None if self.var is None else ex.as_expression(self.var.value)


@dataclass
class Frame:
    """An open ``{% if %}`` block: the conditions of its branches and the names they set."""

    seen: list[str]  # the (translated) conditions of its if/elif branches so far
    current: str | None  # the condition of the current branch's lines: earlier branches negated
    truths: list[bool | None]  # whether each branch is taken, where known at conversion time
    owns: list[bool | None]  # each branch's own condition, where decided now
    saved: dict[str, Saved] = field(default_factory=dict)  # names set inside: their value before
    branches: list[tuple[str | None, dict[str, Saved]]] = field(default_factory=list)
    first_set: dict[str, int] = field(default_factory=dict)  # line of each name's first set

    @property
    def known(self) -> bool | None:
        return self.truths[-1]


def branch_truth(frame: Frame, own: bool | None) -> bool | None:
    """Whether the next branch of a block is taken (None: unknown now), from its own condition's
    truth and the earlier branches': after one whose condition holds, none is."""
    if True in frame.owns or own is False:
        return False
    return None if None in frame.truths or own is None else True


def compose(frame: Frame, name: str, start: Saved) -> Saved | tuple[str, bool]:
    """The value of ``name`` after ``frame``: the :class:`Saved` value every branch agrees on, or
    the conditional expression and whether some branch leaves the name unset."""
    taken = [b for b, truth in zip(frame.branches, frame.truths, strict=True) if truth is not False]
    fallback, branches = start, taken
    if branches and branches[-1][0] is None:  # an '{% else %}' that conda-build may take
        fallback, branches = branches[-1][1].get(name, start), branches[:-1]
    values = [(_before(frame, cond), found.get(name, start)) for cond, found in branches]
    if all(saved.expression() == fallback.expression() for _, saved in values):
        return fallback
    expr = _text(fallback)
    for cond, saved in reversed(values):
        value = _text(saved)
        if value != expr:
            expr = f"{paren(value)} if {paren(cond or 'true')} else {paren(expr)}"
    return expr, fallback.var is None or any(saved.var is None for _, saved in values)


def _before(frame: Frame, cond: str | None) -> str | None:
    """A branch's condition as conda-build evaluates it, before the block sets anything: a name
    the block sets reads the value it had before (``build > 5`` → ``7 > 5``), not itself."""
    if cond is None:
        return None
    for name, start in frame.saved.items():
        expr = start.expression()
        try:
            if expr is not None and name in ex.free_names(cond):
                cond = ex.replace_name(cond, name, paren(expr))
        except jinja2.TemplateSyntaxError:
            continue
    return cond


def ordered(context: list[ContextVar]) -> list[ContextVar]:
    """The context with each value after the values it reads: the engine evaluates it from the top,
    and a redefinition or a block may have made a value read a later one. A cycle keeps its order."""
    names = {var.name for var in context}
    needs = {var.name: (_reads(var.value) & names) - {var.name} for var in context}
    placed: set[str] = set()
    out: list[ContextVar] = []
    remaining = list(context)
    while remaining:
        index = next((i for i, var in enumerate(remaining) if needs[var.name] <= placed), 0)
        var = remaining.pop(index)
        out.append(var)
        placed.add(var.name)
    return out


def _reads(value: object) -> frozenset[str]:
    """The names a context value's expressions read."""
    if not isinstance(value, str):
        return frozenset()
    names: set[str] = set()
    for is_expr, text in ex.template_parts(value):
        if is_expr:
            try:
                names |= ex.free_names(text)
            except jinja2.TemplateSyntaxError:
                continue
    return frozenset(names)


def _text(saved: Saved) -> str:
    """A saved value as a v1 expression; an unset name is '' as in conda-build's jinja."""
    return saved.expression() or "''"


def paren(expr: str) -> str:
    return expr if re.fullmatch(r"[\w.]+|'[^']*'|\"[^\"]*\"|match\([^()]*\)", expr) else f"({expr})"
