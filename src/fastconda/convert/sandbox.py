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
one-line error. The bounds, the budget and the size checks themselves are in
:mod:`fastconda.convert.limits`; this module hooks them into jinja2.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.sandbox import ImmutableSandboxedEnvironment

from fastconda.convert.limits import (
    MAX_OUTPUT,
    MAX_TEXT,
    LimitExceeded,
    bounded_items,
    budget,
    charge,
    check_binop,
    check_join,
    check_replace,
    checked_value,
    format_estimate,
    guarded,
    refuse,
    refuse_size,
    weight,
)

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


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    inner = inspect.unwrap(function)
    signature = inspect.signature(inner)
    # jinja's async_variant adds a pass_eval_context argument that the wrapped function does not take
    skip = int(getattr(function, "jinja_pass_arg", None) is not None and not hasattr(inner, "jinja_pass_arg"))

    @functools.wraps(function)  # keeps jinja's pass_environment / pass_eval_context marks
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        charge(1)
        bound = signature.bind(*args[skip:], **kwargs)
        values = bound.arguments
        subject = next((v for k, v in values.items() if k not in _PASSED), None)
        if weight(subject) > MAX_TEXT:  # the others are linear in their input: bound the input
            refuse_size(f"the input of the '{name}' filter")
        if name in {"join", "sum"}:
            key = "value" if name == "join" else "iterable"
            values[key] = bounded_items(values[key])
            if name == "join":
                check_join(values.get("d", ""), values[key])
            elif not all(isinstance(i, int | float) for i in values[key]) and values.get("attribute") is None:
                refuse("the 'sum' filter adds numbers only in recipe jinja; refused")
        elif name == "replace":
            check_replace(str(values["s"]), values["old"], values["new"], values.get("count"))
        elif name == "indent":
            width = values.get("width", 4)
            per_line = len(width) if isinstance(width, str) else int(width)
            if per_line * (str(values["s"]).count("\n") + 1) + len(str(values["s"])) > MAX_TEXT:
                refuse_size("an indented string")
        elif name in {"batch", "slice"}:
            size = values.get("linecount" if name == "batch" else "slices")
            if not isinstance(size, int) or size > MAX_TEXT:
                refuse_size(f"the '{name}' filter's output")
        elif name == "format":
            arguments = [*values.get("args", ()), *values.get("kwargs", {}).values()]
            if format_estimate(str(values["value"]), arguments) > MAX_TEXT:
                refuse_size("a formatted string")
        result = function(*args[:skip], *bound.args, **bound.kwargs)
        if isinstance(result, Iterator):
            return guarded(result)
        return checked_value(result, f"the result of the '{name}' filter")

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
            if format_estimate(fmt, values) > MAX_TEXT:
                refuse_size("a formatted string")
            return str(checked_value(wrapped(*args, **kwargs), "a formatted string"))

        return checked

    # -- what a template does ----------------------------------------------------------------------

    def call(self, context: jinja2.runtime.Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        charge(1)
        owner = getattr(obj, "__self__", None)
        if isinstance(owner, str) and getattr(obj, "__name__", "") in {"replace", "join"}:
            if obj.__name__ == "replace" and len(args) >= 2:
                check_replace(owner, args[0], args[1], args[2] if len(args) > 2 else kwargs.get("count"))
            elif obj.__name__ == "join" and args:
                items = bounded_items(args[0])
                check_join(owner, items)
                args = (items, *args[1:])
        result = super().call(context, obj, *args, **kwargs)
        if isinstance(result, Iterator):
            return guarded(result)
        return checked_value(result, "a value")

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        charge(1)
        check_binop(operator, left, right)
        return checked_value(self.binop_table[operator](left, right), "a value")

    def bounded_concat(self, parts: tuple[Any, ...]) -> str:
        texts, total = [], 0
        for part in parts:
            if not isinstance(part, str) and weight(part) > MAX_TEXT:
                refuse_size("a '~' concatenation")
            text = part if isinstance(part, str) else str(part)
            total += len(text)
            if total > MAX_TEXT:
                refuse_size("a '~' concatenation")
            texts.append(text)
        charge(1, total)
        return "".join(texts)

    def bounded_iter(self, iterable: Any) -> Iterator[Any]:
        return guarded(iter(iterable))

    def bounded_output(self, value: Any) -> Any:
        size = weight(value)
        if size > MAX_TEXT:
            refuse_size("an output")
        charge(1, size)
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
