"""The bounds on recipe jinja: sizes, a per-conversion work budget, and the checks that run before
an operation allocates.

:mod:`fastconda.convert.sandbox` hooks these into jinja2's sandbox (operators, calls, filters, loops
and output); this module holds the measuring and the refusing, which need no jinja2: what a value
weighs (:func:`weight`), the budget a conversion spends (:func:`budget`, :func:`charge`), the size
estimates of ``*``, ``+``, ``%``, ``str.format``, ``replace`` and ``join``, and the errors
(:class:`Refused`, :class:`LimitExceeded`) the converter's other modules catch. Separate so that
the sandbox module reads as the list of hooks, and the bounds can be checked without a template.
"""

from __future__ import annotations

import re
import string
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

from markupsafe import Markup

from fastconda.errors import ConvertError

MAX_TEXT = 4_000_000  # characters of one value (a read setup.py fits; 'x' * 10**10 does not)
MAX_STEPS = 300_000  # calls, loop iterations and operators per conversion (well under a second)
MAX_CHARS = 50_000_000  # characters produced per conversion, all values and output together
MAX_INT_BITS = 4096
MAX_OUTPUT = 4_000_000  # characters of a rendered template
MAX_VALUE = 1_000_000  # characters of a value the converter writes into recipe.yaml
MAX_ITEMS = 10_000  # items of such a value: real recipes' lists have tens
_PERCENT = re.compile(r"%[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?[a-zA-Z%]")


class Refused(ConvertError):
    """Recipe input the converter will not process; the caller adds the file and line."""


class LimitExceeded(Refused):
    """The recipe's jinja goes beyond a size or work bound."""


def first_line(exc: BaseException) -> str:
    """An exception's message as one line (jinja's assertion errors append a fake traceback)."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


_state = threading.local()


@contextmanager
def budget() -> Iterator[None]:
    """An allowance of steps and characters: a conversion takes one, and the evaluations inside it
    share it (nested uses do not reset it); an evaluation outside any takes its own."""
    depth = getattr(_state, "depth", 0)
    if depth == 0:
        _state.steps, _state.chars = MAX_STEPS, MAX_CHARS
    _state.depth = depth + 1
    try:
        yield
    finally:
        _state.depth = depth


def charge(steps: int, chars: int = 0) -> None:
    _state.steps = getattr(_state, "steps", MAX_STEPS) - steps
    _state.chars = getattr(_state, "chars", MAX_CHARS) - chars
    if _state.steps < 0:
        msg = f"the recipe's jinja takes more than {MAX_STEPS:,} steps (loops or recursive macros?); refused"
        raise LimitExceeded(msg)
    if _state.chars < 0:
        msg = f"the recipe's jinja produces more than {MAX_CHARS:,} characters in all; refused"
        raise LimitExceeded(msg)


def refuse(message: str) -> NoReturn:
    raise LimitExceeded(message)


def refuse_size(what: str) -> NoReturn:
    refuse(f"{what} would be larger than {MAX_TEXT:,} characters; refused")


def weight(value: Any) -> int:
    """Characters and items a value holds, nested ones included (what ``str()`` of it costs).

    Counting visits every item, so the visits are charged as work: measuring cannot be the slow part.
    """
    total, stack, seen = 0, [value], 0
    while stack and total <= MAX_TEXT:  # iterative: a deeply nested list must not exhaust the stack here
        item = stack.pop()
        seen += 1
        if isinstance(item, str | bytes):
            total += len(item)
        elif isinstance(item, list | tuple | set | frozenset):
            total += len(item) + 1
            stack.extend(item)
        elif isinstance(item, dict):
            total += len(item) + 1
            stack.extend(item.keys())
            stack.extend(item.values())
        else:
            total += 1
    charge(seen // 16)
    return total


def _plain(value: Any) -> Any:
    """Markup (from ``tojson``, ``escape``) as the plain text it is: the YAML writer knows only str."""
    return str.__str__(value) if isinstance(value, Markup) else value


def checked_value(value: Any, what: str) -> Any:
    size = weight(value)
    if size > MAX_TEXT:
        refuse_size(what)
    charge(1, size)
    return _plain(value)


def _int_bits(value: Any) -> int:
    return value.bit_length() if isinstance(value, int) else 0


def format_estimate(fmt: str, args: Iterable[Any]) -> int:
    """An upper bound of the size of ``fmt`` formatted with ``args`` (``%`` or ``{}`` style)."""
    largest = max((weight(a) for a in args), default=0)
    fields = 0
    widths = 0
    if "{" in fmt:
        try:
            parsed = list(string.Formatter().parse(fmt))
        except ValueError:
            parsed = []
        for _literal, field, spec, _conversion in parsed:
            if field is None:
                continue
            fields += 1
            if spec and "{" in spec:
                refuse("a nested format spec is not allowed in recipe jinja; refused")
            widths += sum(int(number) for number in re.findall(r"\d+", spec or "") if len(number) < 12) or 0
            if spec and any(len(number) >= 12 for number in re.findall(r"\d+", spec)):
                refuse_size("a formatted string")
    for match in _PERCENT.finditer(fmt):
        fields += 1
        for part in match.groups():
            if part == "*":
                refuse("'*' widths in '%' formatting are not allowed in recipe jinja; refused")
            if part and len(part) < 12:
                widths += int(part)
            elif part:
                refuse_size("a formatted string")
    return len(fmt) + widths + fields * largest


def check_binop(operator: str, left: Any, right: Any) -> None:
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            repeats = isinstance(seq, str | list | tuple) and isinstance(times, int) and times > 0
            if repeats and weight(seq) * times > MAX_TEXT:
                refuse_size("a repeated string or list")
        if _int_bits(left) + _int_bits(right) > MAX_INT_BITS:
            refuse(f"an integer larger than {MAX_INT_BITS} bits; refused")
    elif operator == "**":
        integers = isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0
        if integers and right * left.bit_length() > MAX_INT_BITS:
            refuse(f"an integer larger than {MAX_INT_BITS} bits; refused")
    elif operator == "+":
        if isinstance(left, str | list | tuple) and weight(left) + weight(right) > MAX_TEXT:
            refuse_size("a concatenation")
    elif operator == "%" and isinstance(left, str):
        args = right if isinstance(right, tuple) else (right,)
        if format_estimate(left, args) > MAX_TEXT:
            refuse_size("a formatted string")


def check_replace(text: str, old: Any, new: Any, count: Any = None) -> None:
    if not (isinstance(old, str) and isinstance(new, str)):
        return
    hits = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    if len(text) + hits * max(len(new) - len(old), 0) > MAX_TEXT:
        refuse_size("a replaced string")


def bounded_items(iterable: Any) -> list[Any]:
    items: list[Any] = []
    for item in iterable:
        items.append(item)
        charge(1)
        if len(items) > MAX_TEXT:
            refuse_size("a list")
    return items


def check_join(separator: Any, items: list[Any]) -> None:
    size = len(str(separator)) * max(len(items) - 1, 0) + sum(weight(i) for i in items)
    if size > MAX_TEXT:
        refuse_size("a joined string")


def guarded(iterator: Iterator[Any]) -> Iterator[Any]:
    for count, item in enumerate(iterator):
        charge(1, weight(item) if isinstance(item, str) else 0)
        if count >= MAX_TEXT:
            refuse_size("a sequence")
        yield item
