"""Jinja expressions of conda-build (Python jinja2) → expressions of rattler-build (minijinja).

conda-build evaluates ``{{ ... }}`` with Python's jinja2, where strings have Python methods
(``version.split('.')[0]``) and a few conda-build functions exist (``pin_subpackage(max_pin=...)``,
``environ.get``, ``load_setup_py_data``). v1 recipes are evaluated by minijinja, which has filters
instead of methods and its own function signatures. ``translate`` rewrites one expression; what v1
cannot express is evaluated now when every input is a known constant, otherwise kept verbatim and
reported as a problem.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import jinja2
from jinja2 import meta, nodes

from fastconda.convert.limits import MAX_ITEMS, MAX_VALUE, LimitExceeded, budget, weight
from fastconda.convert.sandbox import BoundedEnvironment
from fastconda.convert.selectors import typo_of
from fastconda.convert.unparse import Unparser, literal

__all__ = ["ENV", "EVAL_ERRORS", "SCRIPT_VARIABLES", "Translated", "literal", "translate"]

ENV = BoundedEnvironment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
# what evaluating recipe jinja raises when it cannot be computed now (bounds raise LimitExceeded instead)
EVAL_ERRORS = (jinja2.TemplateError, TypeError, ValueError, AttributeError, LookupError, ArithmeticError,
               re.error, OSError, AssertionError)  # fmt: skip

# conda-build names that are environment variables of the build script in rattler-build.
SCRIPT_VARIABLES = frozenset(
    {"PREFIX", "BUILD_PREFIX", "RECIPE_DIR", "SRC_DIR", "SP_DIR", "PY_VER", "NPY_VER", "STDLIB_DIR",
     "PKG_NAME", "PKG_VERSION", "PKG_BUILDNUM", "LIBRARY_PREFIX", "LIBRARY_BIN", "LIBRARY_LIB", "LIBRARY_INC",
     "SCRIPTS", "CPU_COUNT", "HOST", "MAKEFLAGS"}
)  # fmt: skip

# conda-build's PY_VER / NPY_VER outside scripts: the variant's major.minor, as the engine can compute it
VARIANT_VERSION = "${{{{ ({variant} | split('.'))[:2] | join('.') }}}}"
VARIANT_VERSION_RE = re.compile(r"\$\{\{ \((?:python|numpy) \| split\('\.'\)\)\[:2\] \| join\('\.'\) \}\}")

# what conda-build sets in the environment of the render from a git source (describe, hash)
GIT_VARIABLES = frozenset(
    {"GIT_DESCRIBE_TAG", "GIT_DESCRIBE_NUMBER", "GIT_DESCRIBE_HASH", "GIT_FULL_HASH", "GIT_BUILD_STR"}
)


@dataclass(frozen=True)
class Translated:
    """A v1 expression; ``problems`` lists what could not be expressed (the text is then kept as written)."""

    text: str
    problems: tuple[str, ...] = ()
    evaluated: bool = False
    notes: tuple[str, ...] = ()  # translated, but the meaning may differ: worth a warning
    environment: tuple[str, ...] = ()  # environment variables it reads: the build machine's
    assumed: tuple[str, ...] = ()  # names nothing defines, read as undefined variant variables


@lru_cache(maxsize=4096)
def parse_expression(expr: str) -> nodes.Expr:
    """Parse one jinja expression (cached: do not modify the tree); raises ``TemplateSyntaxError``."""
    template = ENV.parse("{{ " + expr + " }}")
    output = template.body[0]
    assert isinstance(output, nodes.Output)
    node = output.nodes[0]
    assert isinstance(node, nodes.Expr)
    return node


@lru_cache(maxsize=4096)
def free_names(expr: str) -> frozenset[str]:
    tree = ENV.parse("{{ " + expr + " }}")
    try:
        return frozenset(meta.find_undeclared_variables(tree))
    except jinja2.TemplateAssertionError:  # an unknown filter or test: the names are still the names
        return frozenset(n.name for n in tree.find_all(nodes.Name) if n.ctx == "load")


@lru_cache(maxsize=1024)
def _compiled(expr: str) -> Callable[..., object]:
    return ENV.compile_expression(expr, undefined_to_none=False)


def evaluate(expr: str, context: Mapping[str, object]) -> object:
    """Evaluate with conda-build's own semantics (jinja2); raises jinja2 errors."""
    node = parse_expression(expr)
    if isinstance(node, nodes.Const | nodes.List | nodes.Tuple):
        try:  # constants need no compiled code (compiling one costs about a millisecond)
            value = node.as_const()
        except nodes.Impossible:
            pass
        else:
            return list(value) if isinstance(node, nodes.List) else value
    with budget():
        value = _compiled(expr)(**context)
    if weight(value) > MAX_VALUE or _items(value) > MAX_ITEMS:  # [s, s, ...]: cheap to build, not to write
        msg = (
            f"the value of '{expr[:60]}' is larger than {MAX_VALUE:,} characters or {MAX_ITEMS:,} items; "
            "refused"
        )
        raise LimitExceeded(msg)
    return value


def _items(value: object) -> int:
    if isinstance(value, dict):
        return len(value)
    return len(value) if isinstance(value, list | tuple | set | frozenset) else 0


@lru_cache(maxsize=4096)
def _unparse(expr: str, truthy: bool = False, defined: frozenset[str] | None = None) -> Translated:
    unparser = Unparser(defined)
    node = parse_expression(expr)
    if truthy:
        unparser.truthy.add(id(node))
    text, _ = unparser.visit(node)
    return Translated(
        text,
        tuple(unparser.problems),
        notes=tuple(unparser.notes),
        environment=tuple(unparser.environment),
        assumed=tuple(unparser.assumed),
    )


def translate(
    expr: str,
    static: Mapping[str, object] | None = None,
    *,
    truthy: bool = False,
    defined: frozenset[str] | None = None,
) -> Translated:
    """Translate one conda-build jinja expression (without braces) into v1 syntax.

    With ``static``, an expression whose inputs are all known and that computes something is tried
    within the sandbox's bounds first: rattler-build's minijinja has no size bound, and
    ``'x' * 10**10`` or chained ``replace`` in a v1 recipe abort the engine. A bound raises
    :class:`~fastconda.convert.limits.LimitExceeded`. ``truthy``: only the expression's truth
    counts (an ``{% if %}`` condition), which some translations keep exactly where a value would not.
    ``defined``: the names the recipe and its variant config define; any other lower-case name is
    written as conda-build reads an undefined name (``'' | false``) and listed in ``assumed``.
    """
    unparsed = _unparse(expr, truthy, defined)
    problems = unparsed.problems
    computed = not isinstance(parse_expression(expr), nodes.Name | nodes.Const)
    if static is not None and computed and free_names(expr) <= static.keys():
        with contextlib.suppress(*EVAL_ERRORS):  # not computable now: reported below as before
            evaluate(expr, static)
    if not problems:
        return unparsed
    names = free_names(expr)
    if static is not None and names <= static.keys():
        try:
            value = evaluate(expr, static)
        except EVAL_ERRORS:
            pass
        else:
            return Translated(literal(value), problems, evaluated=True)
    return Translated(expr.strip(), problems)


def environment_note(name: str) -> str:
    """The warning for a recipe that reads ``name`` from the environment of the machine that builds it."""
    if name in GIT_VARIABLES:
        return (
            f"the recipe depends on the build machine's environment: conda-build sets {name} from a git "
            "source, rattler-build does not, so the v1 recipe reads it from the environment (its default "
            "where unset)"
        )
    return (
        f"the recipe depends on the build machine's environment: it reads {name} (environ), in v1 as in "
        f"conda-build, so the package differs where {name} is set differently or unset"
    )


def replace_name(expr: str, name: str, replacement: str) -> str:
    """Replace a variable in an expression, token by token (not inside strings or after a dot)."""
    out: list[str] = []
    previous = ""
    for _, kind, value in ENV.lex("{{" + expr + "}}"):
        if kind in {"variable_begin", "variable_end"}:
            continue
        out.append(replacement if kind == "name" and value == name and previous != "." else value)
        if kind != "whitespace":
            previous = value
    return "".join(out)


def assumed_note(name: str) -> str:
    """The warning for a lower-case name that neither the recipe nor its variant config defines."""
    typo = typo_of(name)
    hint = f" (a typo of '{typo}'?)" if typo else ""
    return (
        f"'{name}'{hint} is set neither by the recipe nor by a conda_build_config.yaml of it: read as a "
        "variant variable, '' where the variant config lacks it (what conda-build's jinja gives an "
        "undefined name)"
    )


_TEMPLATE = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


def template_parts(text: str) -> list[tuple[bool, str]]:
    """Split a v1 template string into (is_expression, text) parts."""
    parts: list[tuple[bool, str]] = []
    pos = 0
    for match in _TEMPLATE.finditer(text):
        if match.start() > pos:
            parts.append((False, text[pos : match.start()]))
        parts.append((True, match.group(1).strip()))
        pos = match.end()
    if pos < len(text):
        parts.append((False, text[pos:]))
    return parts


def as_expression(value: object) -> str:
    """A YAML value (possibly a template string with ``${{ }}``) as one jinja expression."""
    if not isinstance(value, str):
        return literal(value)
    parts = template_parts(value)
    if len(parts) == 1 and parts[0][0]:
        return parts[0][1]
    pieces = [f"({text})" if is_expr and not _simple(text) else text if is_expr else literal(text)
              for is_expr, text in parts]  # fmt: skip
    return " ~ ".join(pieces) if pieces else "''"


def _simple(expr: str) -> bool:
    return re.fullmatch(r"[\w.]+", expr) is not None


def clear_caches() -> None:
    """Forget parsed and compiled expressions (benchmarks measure conversions without warm caches)."""
    for cached in (parse_expression, free_names, _compiled, _unparse):
        cached.cache_clear()
