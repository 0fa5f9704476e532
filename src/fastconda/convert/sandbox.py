"""The jinja2 environment that evaluates recipe jinja: sandboxed, and bounded in size and work.

A meta.yaml is untrusted input (a merge request can change it), and the converter evaluates its
jinja (``{% set %}`` values, macros, loops, and the whole template for ``--check``). jinja2's
:class:`~jinja2.sandbox.ImmutableSandboxedEnvironment` already refuses private attributes and
mutation; this subclass adds what the sandbox leaves open, so that a hostile recipe ends in a
one-line :class:`LimitExceeded` instead of exhausting memory or time:

- **sizes**: no string (or list, counted in items and characters) larger than :data:`MAX_TEXT`;
  ``*``, ``+``, ``%``, ``~``, ``str.format``, ``str.join``, ``str.replace`` and the filters that
  take a size are checked *before* they allocate; integers stay under :data:`MAX_INT_BITS`.
- **work**: every call, loop iteration and operator counts as a step, and every character
  produced counts towards :data:`MAX_CHARS`, per conversion (:func:`budget`); a macro calling
  itself twice per level or nested ``range`` loops stop at :data:`MAX_STEPS`.
- **surface**: strings, numbers, lists, dicts and regex matches expose only the methods real
  recipes call (``split``, ``replace``, ``startswith``, ``group``, ...): no ``center``, ``zfill``,
  ``to_bytes``, ``Match.re``; no ``lipsum`` and none of the filters recipes never use.

Python's own recursion limit bounds recursion; callers turn :class:`RecursionError` into a
one-line error.
"""

from __future__ import annotations

import functools
import inspect
import re
import string
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NoReturn

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from fastconda.errors import ConvertError

MAX_TEXT = 4_000_000  # characters of one value (a read setup.py fits; 'x' * 10**10 does not)
MAX_STEPS = 300_000  # calls, loop iterations and operators per conversion (well under a second)
MAX_CHARS = 50_000_000  # characters produced per conversion, all values and output together
MAX_INT_BITS = 4096
MAX_OUTPUT = 4_000_000  # characters of a rendered template
MAX_VALUE = 1_000_000  # characters of a value the converter writes into recipe.yaml
MAX_ITEMS = 10_000  # items of such a value: real recipes' lists have tens

_STR = frozenset(
    {"startswith", "endswith", "split", "rsplit", "strip", "lstrip", "rstrip", "lower", "upper", "replace",
     "join", "format", "format_map", "title", "capitalize", "count", "find", "rfind", "index", "rindex",
     "partition", "rpartition", "splitlines", "casefold", "swapcase", "removeprefix", "removesuffix",
     "isdigit", "isalpha", "isalnum", "isdecimal", "isnumeric", "isspace", "islower", "isupper", "istitle",
     "isidentifier", "isascii", "isprintable"}
)  # fmt: skip
_NUMBER = frozenset({"real", "imag", "numerator", "denominator", "is_integer", "bit_length", "conjugate"})
_SEQUENCE = frozenset({"index", "count"})
_MAPPING = frozenset({"get", "items", "keys", "values"})
_MATCH = frozenset(
    {"group", "groups", "groupdict", "start", "end", "span", "string", "pos", "endpos", "lastindex",
     "lastgroup"}
)  # fmt: skip
_ALLOWED: tuple[tuple[Any, frozenset[str]], ...] = (
    (str, _STR),
    (bool | int | float, _NUMBER),
    (list | tuple, _SEQUENCE),
    (dict, _MAPPING),
    (re.Match, _MATCH),
    (re.Pattern, frozenset()),
    (bytes, frozenset()),
)
# jinja2's filters that recipes use; the others (urlize, wordwrap, center, xmlattr, ...) are gone: slow
# on large input (textwrap) or padding without a use in recipes
_FILTERS = frozenset(
    {"abs", "attr", "batch", "capitalize", "count", "d", "default", "dictsort", "e", "escape",
     "first", "float", "format", "groupby", "indent", "int", "items", "join", "last", "length", "list",
     "lower", "map", "max", "min", "reject", "rejectattr", "replace", "reverse", "round", "safe", "select",
     "selectattr", "slice", "sort", "string", "sum", "title", "tojson", "trim", "truncate", "unique", "upper"}
)  # fmt: skip
_PASSED = frozenset({"environment", "eval_ctx", "env", "context"})  # what jinja passes to a filter first
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


def _charge(steps: int, chars: int = 0) -> None:
    _state.steps = getattr(_state, "steps", MAX_STEPS) - steps
    _state.chars = getattr(_state, "chars", MAX_CHARS) - chars
    if _state.steps < 0:
        msg = f"the recipe's jinja takes more than {MAX_STEPS:,} steps (loops or recursive macros?); refused"
        raise LimitExceeded(msg)
    if _state.chars < 0:
        msg = f"the recipe's jinja produces more than {MAX_CHARS:,} characters in all; refused"
        raise LimitExceeded(msg)


def _refuse(message: str) -> NoReturn:
    raise LimitExceeded(message)


def _refuse_size(what: str) -> NoReturn:
    _refuse(f"{what} would be larger than {MAX_TEXT:,} characters; refused")


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
    _charge(seen // 16)
    return total


def _plain(value: Any) -> Any:
    """Markup (from ``tojson``, ``escape``) as the plain text it is: the YAML writer knows only str."""
    return str.__str__(value) if isinstance(value, Markup) else value


def _checked(value: Any, what: str) -> Any:
    size = weight(value)
    if size > MAX_TEXT:
        _refuse_size(what)
    _charge(1, size)
    return _plain(value)


def _int_bits(value: Any) -> int:
    return value.bit_length() if isinstance(value, int) else 0


def _format_estimate(fmt: str, args: Iterable[Any]) -> int:
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
                _refuse("a nested format spec is not allowed in recipe jinja; refused")
            widths += sum(int(number) for number in re.findall(r"\d+", spec or "") if len(number) < 12) or 0
            if spec and any(len(number) >= 12 for number in re.findall(r"\d+", spec)):
                _refuse_size("a formatted string")
    for match in _PERCENT.finditer(fmt):
        fields += 1
        for part in match.groups():
            if part == "*":
                _refuse("'*' widths in '%' formatting are not allowed in recipe jinja; refused")
            if part and len(part) < 12:
                widths += int(part)
            elif part:
                _refuse_size("a formatted string")
    return len(fmt) + widths + fields * largest


def _check_binop(operator: str, left: Any, right: Any) -> None:
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            repeats = isinstance(seq, str | list | tuple) and isinstance(times, int) and times > 0
            if repeats and weight(seq) * times > MAX_TEXT:
                _refuse_size("a repeated string or list")
        if _int_bits(left) + _int_bits(right) > MAX_INT_BITS:
            _refuse(f"an integer larger than {MAX_INT_BITS} bits; refused")
    elif operator == "**":
        integers = isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0
        if integers and right * left.bit_length() > MAX_INT_BITS:
            _refuse(f"an integer larger than {MAX_INT_BITS} bits; refused")
    elif operator == "+":
        if isinstance(left, str | list | tuple) and weight(left) + weight(right) > MAX_TEXT:
            _refuse_size("a concatenation")
    elif operator == "%" and isinstance(left, str):
        args = right if isinstance(right, tuple) else (right,)
        if _format_estimate(left, args) > MAX_TEXT:
            _refuse_size("a formatted string")


def _check_replace(text: str, old: Any, new: Any, count: Any = None) -> None:
    if not (isinstance(old, str) and isinstance(new, str)):
        return
    hits = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    if len(text) + hits * max(len(new) - len(old), 0) > MAX_TEXT:
        _refuse_size("a replaced string")


def _bounded_items(iterable: Any) -> list[Any]:
    items: list[Any] = []
    for item in iterable:
        items.append(item)
        _charge(1)
        if len(items) > MAX_TEXT:
            _refuse_size("a list")
    return items


def _check_join(separator: Any, items: list[Any]) -> None:
    size = len(str(separator)) * max(len(items) - 1, 0) + sum(weight(i) for i in items)
    if size > MAX_TEXT:
        _refuse_size("a joined string")


def _guarded(iterator: Iterator[Any]) -> Iterator[Any]:
    for count, item in enumerate(iterator):
        _charge(1, weight(item) if isinstance(item, str) else 0)
        if count >= MAX_TEXT:
            _refuse_size("a sequence")
        yield item


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    inner = inspect.unwrap(function)
    signature = inspect.signature(inner)
    # jinja's async_variant adds a pass_eval_context argument that the wrapped function does not take
    skip = int(getattr(function, "jinja_pass_arg", None) is not None and not hasattr(inner, "jinja_pass_arg"))

    @functools.wraps(function)  # keeps jinja's pass_environment / pass_eval_context marks
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _charge(1)
        bound = signature.bind(*args[skip:], **kwargs)
        values = bound.arguments
        subject = next((v for k, v in values.items() if k not in _PASSED), None)
        if weight(subject) > MAX_TEXT:  # the others are linear in their input: bound the input
            _refuse_size(f"the input of the '{name}' filter")
        if name in {"join", "sum"}:
            key = "value" if name == "join" else "iterable"
            values[key] = _bounded_items(values[key])
            if name == "join":
                _check_join(values.get("d", ""), values[key])
            elif not all(isinstance(i, int | float) for i in values[key]) and values.get("attribute") is None:
                _refuse("the 'sum' filter adds numbers only in recipe jinja; refused")
        elif name == "replace":
            _check_replace(str(values["s"]), values["old"], values["new"], values.get("count"))
        elif name == "indent":
            width = values.get("width", 4)
            per_line = len(width) if isinstance(width, str) else int(width)
            if per_line * (str(values["s"]).count("\n") + 1) + len(str(values["s"])) > MAX_TEXT:
                _refuse_size("an indented string")
        elif name in {"batch", "slice"}:
            size = values.get("linecount" if name == "batch" else "slices")
            if not isinstance(size, int) or size > MAX_TEXT:
                _refuse_size(f"the '{name}' filter's output")
        elif name == "format":
            arguments = [*values.get("args", ()), *values.get("kwargs", {}).values()]
            if _format_estimate(str(values["value"]), arguments) > MAX_TEXT:
                _refuse_size("a formatted string")
        result = function(*args[:skip], *bound.args, **bound.kwargs)
        if isinstance(result, Iterator):
            return _guarded(result)
        return _checked(result, f"the result of the '{name}' filter")

    return wrapper


class _CodeGenerator(CodeGenerator):
    """``a ~ b ~ ...`` joins through :meth:`BoundedEnvironment.bounded_concat`, checked before allocating."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.bounded_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


def _wrapped(function: str, node: nodes.Node) -> nodes.Call:
    call = nodes.Call(nodes.EnvironmentAttribute(function), [node], [], None, None)
    call.set_lineno(node.lineno or 1)
    return call


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox with the bounds of this module (see the module docstring)."""

    code_generator_class = _CodeGenerator
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals.pop("lipsum", None)
        kept = {name: f for name, f in self.filters.items() if name in _FILTERS}
        self.filters = {name: _bounded_filter(name, f) for name, f in kept.items()}

    # -- what a template may touch -----------------------------------------------------------------

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        for kind, allowed in _ALLOWED:
            if isinstance(obj, kind):
                return attr in allowed
        return super().is_safe_attribute(obj, attr, value)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt = value.__self__

        def checked(*args: Any, **kwargs: Any) -> str:
            mapping = args[0] if value.__name__ == "format_map" and args else kwargs
            values = [*args, *(mapping.values() if isinstance(mapping, Mapping) else ())]
            if _format_estimate(fmt, values) > MAX_TEXT:
                _refuse_size("a formatted string")
            return str(_checked(wrapped(*args, **kwargs), "a formatted string"))

        return checked

    # -- what a template does ----------------------------------------------------------------------

    def call(self, context: jinja2.runtime.Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        _charge(1)
        owner = getattr(obj, "__self__", None)
        if isinstance(owner, str) and getattr(obj, "__name__", "") in {"replace", "join"}:
            if obj.__name__ == "replace" and len(args) >= 2:
                _check_replace(owner, args[0], args[1], args[2] if len(args) > 2 else kwargs.get("count"))
            elif obj.__name__ == "join" and args:
                items = _bounded_items(args[0])
                _check_join(owner, items)
                args = (items, *args[1:])
        result = super().call(context, obj, *args, **kwargs)
        if isinstance(result, Iterator):
            return _guarded(result)
        return _checked(result, "a value")

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        _charge(1)
        _check_binop(operator, left, right)
        return _checked(self.binop_table[operator](left, right), "a value")

    def bounded_concat(self, parts: tuple[Any, ...]) -> str:
        texts, total = [], 0
        for part in parts:
            if not isinstance(part, str) and weight(part) > MAX_TEXT:
                _refuse_size("a '~' concatenation")
            text = part if isinstance(part, str) else str(part)
            total += len(text)
            if total > MAX_TEXT:
                _refuse_size("a '~' concatenation")
            texts.append(text)
        _charge(1, total)
        return "".join(texts)

    def bounded_iter(self, iterable: Any) -> Iterator[Any]:
        return _guarded(iter(iterable))

    def bounded_output(self, value: Any) -> Any:
        size = weight(value)
        if size > MAX_TEXT:
            _refuse_size("an output")
        _charge(1, size)
        return value

    def _generate(
        self, source: nodes.Template, name: str | None, filename: str | None, defer_init: bool = False
    ) -> str:
        """Every loop counts its iterations and every output its characters (jinja's documented hook)."""
        for loop in list(source.find_all(nodes.For)):
            loop.iter = _wrapped("bounded_iter", loop.iter)
        for output in list(source.find_all(nodes.Output)):
            output.nodes = [_wrapped("bounded_output", n) for n in output.nodes]
        source.set_environment(self)
        return super()._generate(source, name, filename, defer_init)


def render(template: str, context: Mapping[str, Any], env: BoundedEnvironment) -> str:
    """Render a whole template within one budget, stopping as soon as the output is too large."""
    pieces: list[str] = []
    size = 0
    with budget():
        for piece in env.from_string(template).generate(**context):
            size += len(piece)
            if size > MAX_OUTPUT:
                msg = f"the recipe renders to more than {MAX_OUTPUT:,} characters; refused"
                raise LimitExceeded(msg)
            pieces.append(piece)
    return "".join(pieces)
