"""The truth of a conda-build selector for ``--check``, by the grammar of :mod:`~fastconda.convert.selectors`.

Never ``eval``: jinja may have produced the selector text (``# {{ sel }}``), so it is as untrusted as
the rest of the recipe. Values are only literals, namespace values and booleans.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from fastconda.convert.selectors import (
    VARIABLE_NAME,
    SelectorError,
    is_environ_get,
    is_prefix_test,
    literal_args,
    parse_selector,
    typo_of,
)


def evaluate_selector(expr: str, namespace: Mapping[str, Any]) -> bool:
    """The truth of a selector in conda-build's namespace, by the grammar of this module.

    Never ``eval``: the selector may come out of jinja, so it is treated as recipe text. Unknown
    names and anything outside the grammar raise :class:`SelectorError`.
    """
    return bool(_Evaluator(namespace).value(parse_selector(expr)))


_COMPARE: dict[type[ast.cmpop], Any] = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_LITERALS = (str, int, float, bool, type(None))


class _Evaluator:
    """Walks the parsed selector; values are only literals, namespace values and booleans."""

    def __init__(self, namespace: Mapping[str, Any]) -> None:
        self.namespace = namespace

    def value(self, node: ast.expr) -> Any:
        if isinstance(node, ast.BoolOp):
            result: Any = None
            for operand in node.values:  # Python's short-circuit values: (x or "").startswith(..)
                result = self.value(operand)
                if bool(result) is isinstance(node.op, ast.Or):
                    return result
            return result
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return not self.value(node.operand)
        if isinstance(node, ast.Compare):
            left = self.value(node.left)
            for op, comparator in zip(node.ops, node.comparators, strict=True):
                right = self.value(comparator)
                if not self._compare(op, left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.Name):
            if node.id in self.namespace:
                return self.namespace[node.id]
            if VARIABLE_NAME.match(node.id) and node.id not in {"py", "np"} and typo_of(node.id) is None:
                return False  # an undefined variant variable: conda-build reads it as False
            msg = f"unknown selector name '{node.id}'"
            raise SelectorError(msg)
        if isinstance(node, ast.Constant) and isinstance(node.value, _LITERALS):
            return node.value
        if isinstance(node, ast.List | ast.Tuple):
            return [self.value(e) for e in node.elts]
        if isinstance(node, ast.Call) and is_prefix_test(node):
            assert isinstance(node.func, ast.Attribute) and isinstance(node.args[0], ast.Constant)
            target = self.value(node.func.value)
            if not isinstance(target, str):
                msg = f"selector part '{ast.unparse(node)}' tests a {type(target).__name__}, not text"
                raise SelectorError(msg)
            prefix = str(node.args[0].value)
            return target.startswith(prefix) if node.func.attr == "startswith" else target.endswith(prefix)
        if isinstance(node, ast.Call) and is_environ_get(node) and literal_args(node):
            environ = self.namespace.get("environ", {})
            args = [a.value for a in node.args if isinstance(a, ast.Constant)]
            return environ.get(str(args[0]), args[1] if len(args) == 2 else None)
        msg = f"selector part '{ast.unparse(node)}' is not supported"
        raise SelectorError(msg)

    @staticmethod
    def _compare(op: ast.cmpop, left: Any, right: Any) -> bool:
        function = _COMPARE.get(type(op))
        if function is None:
            msg = "operator not supported in selectors"
            raise SelectorError(msg)
        try:
            return bool(function(left, right))
        except TypeError:
            msg = f"selector compares {type(left).__name__} with {type(right).__name__}"
            raise SelectorError(msg) from None
