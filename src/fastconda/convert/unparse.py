"""jinja2 expression trees → minijinja text, as rattler-build's v1 recipes read it.

Python's jinja2 (conda-build) has Python string methods, ``environ`` and conda-build's functions;
minijinja (rattler-build) has filters, ``env`` and its own signatures. :class:`Unparser` prints a
parsed conda-build expression as the v1 expression that means the same, and lists what it cannot
express (``problems``), what it translated with a caveat (``notes``) and the environment variables it
reads (``environment``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from jinja2 import TemplateAssertionError, nodes
from jinja2.filters import FILTERS as JINJA2_FILTERS

from fastconda.convert.selectors import (
    SAME,
    VARIABLE_NAME,
    VARIANT_LIKE,
    SelectorError,
    alias,
    translate_selector,
)

# Filters that exist, with the same meaning, in minijinja as rattler-build configures it.
FILTERS = frozenset(
    {
        "lower", "upper", "replace", "join", "default", "int", "float", "string", "trim", "first", "last",
        "length", "list", "split", "version_to_buildstring", "unique", "sort", "reverse", "abs", "bool",
        "round", "min", "max", "sum", "items", "capitalize", "escape", "safe", "indent", "title",
    }
)  # fmt: skip
FILTER_ALIASES = {"d": "default", "count": "length", "e": "escape"}
# Python str methods that have a minijinja filter: method → (filter, max positional arguments).
METHODS = {"split": ("split", 1), "lower": ("lower", 0), "upper": ("upper", 0), "strip": ("trim", 0),
           "replace": ("replace", 2), "title": ("title", 0), "capitalize": ("capitalize", 0)}  # fmt: skip
FUNCTIONS = frozenset({"compiler", "stdlib", "cdt", "pin_subpackage", "pin_compatible", "match", "range"})
PIN_KWARGS = {"max_pin": "upper_bound", "min_pin": "lower_bound"}
# lower-case names a v1 recipe has without defining them (besides the variant's): platforms, env, hash
PROVIDED = SAME | VARIANT_LIKE | {"env", "environ", "os", "hash", "python_min", "c_compiler_version",
                                  "cxx_compiler_version", "fortran_compiler_version"}  # fmt: skip
_INT_OPS = frozenset({"eq", "ne", "gt", "gteq", "lt", "lteq"})
COMPARE = {
    "eq": "==",
    "ne": "!=",
    "gt": ">",
    "gteq": ">=",
    "lt": "<",
    "lteq": "<=",
    "in": "in",
    "notin": "not in",
}
BINOPS = {nodes.Add: "+", nodes.Sub: "-", nodes.Mul: "*", nodes.Div: "/", nodes.FloorDiv: "//",
          nodes.Mod: "%", nodes.Pow: "**"}  # fmt: skip

ATOM, FILTER, UNARY, BINARY, LOGIC, COND = 6, 5, 4, 3, 2, 1
# conda-build jinja variables with a v1 spelling: name → (v1 expression, precedence)
NAMES = {
    "PKG_HASH": ("hash", ATOM),
    "CONDA_PY": ("python | version_to_buildstring", FILTER),
    "CONDA_NPY": ("numpy | version_to_buildstring", FILTER),
}


def literal(value: object) -> str:
    """A constant as minijinja source text."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    text = str(value)
    if "'" in text and '"' not in text:
        return '"' + text.replace("\\", "\\\\") + '"'
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Unparser:
    """jinja2 AST → minijinja text; each visit returns (text, precedence)."""

    def __init__(self, defined: frozenset[str] | None = None) -> None:
        # names the recipe or its variant config define; with it, any other lower-case name that is
        # tested (its truth or a comparison) is read as conda-build reads an undefined one ('' and false)
        # and listed in ``assumed``: the engine stops at an undefined name in a condition
        self.defined = defined
        self.assumed: list[str] = []
        self.tested: set[int] = set()  # nodes compared with something (marked by id, as ``truthy``)
        self.problems: list[str] = []
        self.notes: list[str] = []
        self.environment: list[str] = []  # the environment variables read (environ.get, environ[...])
        # nodes whose value counts only as true or false ('if', 'not', left of 'or'): the parse tree
        # is cached and shared, so they are marked by id for the length of one translation
        self.truthy: set[int] = set()

    def visit(self, node: nodes.Node) -> tuple[str, int]:
        method: Callable[[nodes.Node], tuple[str, int]] | None = getattr(
            self, f"visit_{type(node).__name__}", None
        )
        if method is None:
            self.problems.append(f"jinja construct {type(node).__name__} has no v1 equivalent")
            return "<?>", ATOM
        return method(node)

    def sub(self, node: nodes.Node, minimum: int) -> str:
        text, precedence = self.visit(node)
        return text if precedence >= minimum else f"({text})"

    def sub_truthy(self, node: nodes.Node, minimum: int) -> str:
        """:meth:`sub` for an operand whose truth is all that counts."""
        self.truthy.add(id(node))
        return self.sub(node, minimum)

    def sub_like(self, parent: nodes.Node, node: nodes.Node, minimum: int) -> str:
        """:meth:`sub` for an operand whose value becomes *parent*'s (``b`` of ``a or b``)."""
        if id(parent) in self.truthy:
            self.truthy.add(id(node))
        return self.sub(node, minimum)

    def visit_Name(self, node: nodes.Name) -> tuple[str, int]:
        if node.name in NAMES:
            text, precedence = NAMES[node.name]
            return text, precedence
        name = node.name
        tested = id(node) in self.truthy or id(node) in self.tested
        known = self.defined is None or name in self.defined or name in PROVIDED
        if not tested or known or not VARIABLE_NAME.match(name):
            return name, ATOM
        condition = alias(name)  # conda-build's jinja has the selector names too: win64, py3k, py311
        if condition is not None:
            return condition, LOGIC if " and " in condition else ATOM
        if name not in self.assumed:
            self.assumed.append(name)
        return f"({name} | default(''))", ATOM

    def visit_Const(self, node: nodes.Const) -> tuple[str, int]:
        return literal(node.value), ATOM

    def visit_List(self, node: nodes.List) -> tuple[str, int]:
        return "[" + ", ".join(self.sub(i, COND) for i in node.items) + "]", ATOM

    def visit_Tuple(self, node: nodes.Tuple) -> tuple[str, int]:
        return "[" + ", ".join(self.sub(i, COND) for i in node.items) + "]", ATOM

    def visit_Dict(self, node: nodes.Dict) -> tuple[str, int]:
        pairs = ", ".join(f"{self.sub(p.key, COND)}: {self.sub(p.value, COND)}" for p in node.items)
        return "{" + pairs + "}", ATOM

    def _is_environ(self, node: nodes.Node) -> bool:
        if isinstance(node, nodes.Name):
            return node.name == "environ"
        return (
            isinstance(node, nodes.Getattr)
            and node.attr == "environ"
            and isinstance(node.node, nodes.Name)
            and node.node.name == "os"
        )

    def _reads(self, key: nodes.Expr) -> str:
        """The key of an environment read as v1 text; the variable is remembered for a warning."""
        text = self.sub(key, COND)
        name = key.value if isinstance(key, nodes.Const) and isinstance(key.value, str) else text
        if name not in self.environment:
            self.environment.append(name)
        return text

    def visit_Getattr(self, node: nodes.Getattr) -> tuple[str, int]:
        if self._is_environ(node.node):
            return f"env.get({self._reads(nodes.Const(node.attr))})", ATOM
        return f"{self.sub(node.node, ATOM)}.{node.attr}", ATOM

    def visit_Getitem(self, node: nodes.Getitem) -> tuple[str, int]:
        if self._is_environ(node.node):
            return f"env.get({self._reads(node.arg)})", ATOM
        return f"{self.sub(node.node, ATOM)}[{self.sub(node.arg, COND)}]", ATOM

    def visit_Slice(self, node: nodes.Slice) -> tuple[str, int]:
        parts = [self.sub(p, COND) if p is not None else "" for p in (node.start, node.stop)]
        text = ":".join(parts)
        if node.step is not None:
            text += ":" + self.sub(node.step, COND)
        return text, ATOM

    def _args(self, node: nodes.Call | nodes.Filter, rename: Mapping[str, str] | None = None) -> list[str]:
        args = [self.sub(a, COND) for a in node.args]
        for kw in node.kwargs:
            key = (rename or {}).get(str(kw.key), str(kw.key))
            args.append(f"{key}={self.sub(kw.value, COND)}")
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            self.problems.append("*args / **kwargs in a call")
        return args

    def visit_Call(self, node: nodes.Call) -> tuple[str, int]:
        func = node.node
        if isinstance(func, nodes.Getattr):
            return self._method(func, node)
        if isinstance(func, nodes.Name):
            name = func.name
            if name in FUNCTIONS:
                rename = PIN_KWARGS if name.startswith("pin_") else None
                return f"{name}({', '.join(self._args(node, rename))})", ATOM
            if name in {"int", "str", "float"} and len(node.args) == 1 and not node.kwargs:
                target = {"int": "int", "str": "string", "float": "float"}[name]
                return f"{self.sub(node.args[0], FILTER)} | {target}", FILTER
            self.problems.append(f"function {name}() does not exist in v1 recipes")
        else:
            self.problems.append("call of a computed function")
        return f"{self.sub(func, ATOM)}({', '.join(self._args(node))})", ATOM

    def _environ_get(self, node: nodes.Node) -> bool:
        """``environ.get(X)`` or ``os.environ.get(X[, default])``."""
        return (
            isinstance(node, nodes.Call)
            and isinstance(node.node, nodes.Getattr)
            and node.node.attr == "get"
            and self._is_environ(node.node.node)
            and 1 <= len(node.args) <= 2
            and not node.kwargs
            and node.dyn_args is None
            and node.dyn_kwargs is None
        )

    def _without_default(self, node: nodes.Node) -> nodes.Expr | None:
        """The key of an ``environ.get`` that is None when the variable is unset (no default, or None)."""
        if not self._environ_get(node):
            return None
        assert isinstance(node, nodes.Call)
        if len(node.args) == 2 and not (isinstance(node.args[1], nodes.Const) and node.args[1].value is None):
            return None
        return node.args[0]

    def _method(self, func: nodes.Getattr, node: nodes.Call) -> tuple[str, int]:
        if self._environ_get(node):
            key = self._reads(node.args[0])
            if self._without_default(node) is None:
                return f"env.get({key}, default={self.sub(node.args[1], COND)})", ATOM
            # conda-build gives None for an unset variable; the engine stops the render, and its
            # default=none renders as the text 'none' (true): '' is false like None, and the same in
            # 'or', 'if' and 'not'. Only a value written out differs ('None' in conda-build).
            if id(node) not in self.truthy:
                name = node.args[0].value if isinstance(node.args[0], nodes.Const) else key
                self.notes.append(
                    f"environ.get({key}) is None in conda-build when {name} is unset (written as 'None'); "
                    f"converted to env.get({key}, default=''), which is '' then"
                )
            return f"env.get({key}, default='')", ATOM
        args = self._args(node)
        if func.attr == "join" and len(node.args) == 1 and not node.kwargs:
            return f"{self.sub(node.args[0], FILTER)} | join({self.sub(func.node, COND)})", FILTER
        known = METHODS.get(func.attr)
        if known is not None and len(node.args) <= known[1] and not node.kwargs:
            filter_name, _ = known
            call = f"({', '.join(args)})" if args else ""
            return f"{self.sub(func.node, FILTER)} | {filter_name}{call}", FILTER
        self.problems.append(f"method .{func.attr}() does not exist in v1 recipes")
        return f"{self.sub(func.node, ATOM)}.{func.attr}({', '.join(args)})", ATOM

    def visit_Filter(self, node: nodes.Filter) -> tuple[str, int]:
        name = FILTER_ALIASES.get(node.name, node.name)
        if name not in FILTERS and node.name not in JINJA2_FILTERS:
            msg = (
                f"unknown jinja filter '{node.name}': neither conda-build's jinja2 nor rattler-build has it, "
                "so neither renders the recipe; fix the filter's name"
            )
            raise TemplateAssertionError(msg, node.lineno)
        if name not in FILTERS:
            self.problems.append(f"filter '{node.name}' does not exist in v1 recipes")
        args = self._args(node)
        call = f"({', '.join(args)})" if args else ""
        assert node.node is not None
        return f"{self.sub(node.node, FILTER)} | {name}{call}", FILTER

    def visit_Test(self, node: nodes.Test) -> tuple[str, int]:
        if node.name in {"defined", "undefined"} and isinstance(node.node, nodes.Name) and not node.args:
            return f"{node.node.name} is {node.name}", BINARY  # the name itself, not its '' stand-in
        key = self._without_default(node.node) if node.name == "none" and not node.args else None
        if key is not None:  # environ.get('X') is none: whether X is unset
            return f"not env.exists({self._reads(key)})", LOGIC + 1
        args = self._args(node)  # type: ignore[arg-type]
        call = f"({', '.join(args)})" if args else ""
        return f"{self.sub(node.node, FILTER)} is {node.name}{call}", BINARY

    def visit_Concat(self, node: nodes.Concat) -> tuple[str, int]:
        return " ~ ".join(self.sub(n, UNARY) for n in node.nodes), BINARY

    def _binary(self, node: nodes.BinExpr) -> tuple[str, int]:
        op = BINOPS[type(node)]
        if op == "%" and isinstance(node.left, nodes.Const) and isinstance(node.left.value, str):
            self.problems.append("'%' string formatting does not exist in v1 recipes")
        return f"{self.sub(node.left, UNARY)} {op} {self.sub(node.right, UNARY)}", BINARY

    visit_Add = visit_Sub = visit_Mul = visit_Div = visit_FloorDiv = visit_Mod = visit_Pow = _binary

    def visit_Compare(self, node: nodes.Compare) -> tuple[str, int]:
        version = self._py_compare(node)
        if version is not None:
            return version, ATOM
        self.tested.update(id(n) for n in (node.expr, *(o.expr for o in node.ops)))
        parts = [self.sub(node.expr, BINARY)]
        for operand in node.ops:
            parts.append(f"{COMPARE[operand.op]} {self.sub(operand.expr, BINARY)}")
        return " ".join(parts), LOGIC + 1

    def _py_compare(self, node: nodes.Compare) -> str | None:
        """``py >= 38`` / ``np < 120`` in jinja: conda-build's selector integers, as a selector reads them."""
        if self.defined is None or len(node.ops) != 1:
            return None
        left, right = node.expr, node.ops[0].expr
        if not (isinstance(left, nodes.Name) and left.name in {"py", "np"} and left.name not in self.defined):
            return None
        if (
            not (isinstance(right, nodes.Const) and type(right.value) is int)
            or node.ops[0].op not in _INT_OPS
        ):
            return None
        try:
            return translate_selector(f"{left.name} {COMPARE[node.ops[0].op]} {right.value}")
        except SelectorError:
            return None

    def visit_And(self, node: nodes.And) -> tuple[str, int]:
        left, right = self.sub_truthy(node.left, LOGIC), self.sub_like(node, node.right, LOGIC + 1)
        return f"{left} and {right}", LOGIC

    def visit_Or(self, node: nodes.Or) -> tuple[str, int]:
        # 'or' binds weaker than 'and'; parenthesise mixed chains so they read unambiguously
        left, right = self.sub_truthy(node.left, LOGIC), self.sub_like(node, node.right, LOGIC + 1)
        return f"{left} or {right}", LOGIC

    def visit_Not(self, node: nodes.Not) -> tuple[str, int]:
        inner = node.node
        if isinstance(inner, nodes.Test) and inner.name == "none" and not inner.args:
            key = self._without_default(inner.node)
            if key is not None:  # environ.get('X') is not none: whether X is set
                return f"env.exists({self._reads(key)})", ATOM
        return f"not {self.sub_truthy(node.node, LOGIC + 1)}", LOGIC + 1

    def visit_Neg(self, node: nodes.Neg) -> tuple[str, int]:
        return f"-{self.sub(node.node, ATOM)}", UNARY

    def visit_CondExpr(self, node: nodes.CondExpr) -> tuple[str, int]:
        text = f"{self.sub_like(node, node.expr1, LOGIC)} if {self.sub_truthy(node.test, LOGIC)}"
        if node.expr2 is not None:
            text += f" else {self.sub_like(node, node.expr2, COND)}"
        return text, COND
