"""conda-build line selectors (``# [linux and py>=38]``) → v1 ``if:`` expressions.

A selector is a Python expression over a fixed namespace (platform names, ``py``/``np`` as
two-or-three digit integers, variant variables). It is parsed with :mod:`ast`, rewritten node by
node and printed back; unknown bare names are errors because conda-build would fail on them too.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Collection

# Names that mean the same in v1 recipes.
SAME = frozenset(
    {"linux", "osx", "win", "unix", "x86", "x86_64", "aarch64", "arm64", "ppc64le", "ppc64", "s390x",
     "armv6l", "armv7l", "riscv64", "emscripten", "wasm32", "target_platform", "build_platform",
     "host_platform", "python", "numpy"}
)  # fmt: skip
ALIASES = {
    "linux64": "linux and x86_64",
    "linux32": "linux and x86",
    "win64": "win and x86_64",
    "win32": "win and x86",
    "osx64": "osx and x86_64",
    "py2k": "match(python, '<3')",
    "py3k": "match(python, '>=3')",
    "true": "true",
    "false": "false",
}
# Variables conda-build defines for selectors that v1 variant configs usually provide too.
VARIANT_LIKE = frozenset(
    {"vc", "cuda_compiler_version", "cuda_compiler", "c_compiler", "cxx_compiler", "fortran_compiler",
     "blas_impl", "mpi", "python_impl", "c_stdlib", "c_stdlib_version", "channel_targets",
     "cross_target_platform"}
)  # fmt: skip
_SELECTOR = re.compile(r"^(?P<body>.*?)\s*#\s*\[(?P<expr>[^\[\]]*)\]\s*(?P<rest>#.*)?$")
_PYNAME = re.compile(r"^(py|np)(\d{2,3})$")
_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Gt: ">", ast.GtE: ">=", ast.Lt: "<", ast.LtE: "<="}


class SelectorError(ValueError):
    """A selector that cannot be parsed or uses an unknown name."""


def split_selector(line: str) -> tuple[str, str | None]:
    """Split ``"  - foo  # [linux]  # note"`` into (``"  - foo  # note"``, ``"linux"``)."""
    if "[" not in line or "#" not in line:
        return line, None
    match = _SELECTOR.match(line)
    if match is None:
        return line, None
    body = match.group("body")
    rest = match.group("rest")
    if rest:
        body = f"{body}  {rest}"
    return body, match.group("expr").strip()


def _version(number: int, name: str) -> str:
    digits = str(number)
    if len(digits) < 2:
        msg = f"'{name}' is compared with {number}: use two or three digits, e.g. {name}>=38"
        raise SelectorError(msg)
    return f"{digits[0]}.{digits[1:]}"


def translate_selector(expr: str, variables: Collection[str] = ()) -> str:
    """Translate one selector expression into a v1 condition; raises :class:`SelectorError`."""
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as exc:
        msg = f"selector '[{expr}]' is not a valid expression ({exc.msg})"
        raise SelectorError(msg) from None
    return _Rewriter(frozenset(variables)).text(tree.body)


class _Rewriter:
    def __init__(self, variables: frozenset[str]) -> None:
        self.variables = variables

    def text(self, node: ast.expr, parent_bool: bool = False) -> str:
        if isinstance(node, ast.BoolOp):
            op = " and " if isinstance(node.op, ast.And) else " or "
            text = op.join(self.text(v, parent_bool=True) for v in node.values)
            return f"({text})" if parent_bool else text
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = self.text(node.operand, parent_bool=True)
            return f"not {inner}"
        if isinstance(node, ast.Compare):
            parts = [self._compare(left, op, right) for left, op, right in _pairs(node)]
            text = " and ".join(parts)
            return f"({text})" if parent_bool and len(parts) > 1 else text
        if isinstance(node, ast.Name):
            return self._name(node.id, parent_bool)
        if isinstance(node, ast.Constant):
            return _const(node.value)
        if isinstance(node, ast.Call) and _is_prefix_test(node):
            assert isinstance(node.func, ast.Attribute)
            test = "startingwith" if node.func.attr == "startswith" else "endingwith"
            target = self._operand(node.func.value)
            arg = node.args[0]
            assert isinstance(arg, ast.Constant)
            return f"{target} is {test}({_const(arg.value)})"
        if isinstance(node, ast.Call) and _is_environ_get(node):
            args = [_const(a.value) for a in node.args if isinstance(a, ast.Constant)]
            if len(args) == 2:
                return f"env.get({args[0]}, default={args[1]})"
            return f"env.get({', '.join(args)})"
        msg = f"selector part '{ast.unparse(node)}' is not supported"
        raise SelectorError(msg)

    def _name(self, name: str, parent_bool: bool) -> str:
        if name in SAME or name in self.variables or name in VARIANT_LIKE:
            return name
        if name in ALIASES:
            text = ALIASES[name]
            return f"({text})" if parent_bool and " and " in text else text
        match = _PYNAME.match(name)
        if match:
            kind = "python" if match.group(1) == "py" else "numpy"
            return f"match({kind}, '=={_version(int(match.group(2)), match.group(1))}')"
        msg = f"unknown selector name '{name}'"
        raise SelectorError(msg)

    def _compare(self, left: ast.expr, op: ast.cmpop, right: ast.expr) -> str:
        for var, other, flipped in ((left, right, False), (right, left, True)):
            if isinstance(var, ast.Name) and var.id in {"py", "np"}:
                if not (isinstance(other, ast.Constant) and isinstance(other.value, int)):
                    msg = f"'{var.id}' must be compared with an integer such as 38"
                    raise SelectorError(msg)
                symbol = _OPS.get(type(op))
                if symbol is None:
                    msg = f"operator not supported with '{var.id}'"
                    raise SelectorError(msg)
                if flipped:
                    symbol = {">": "<", "<": ">", ">=": "<=", "<=": ">="}.get(symbol, symbol)
                kind = "python" if var.id == "py" else "numpy"
                version = _version(other.value, var.id)
                if symbol == "!=":
                    return f"not match({kind}, '=={version}')"
                return f"match({kind}, '{symbol}{version}')"
        symbol = _OPS.get(type(op)) or {ast.In: "in", ast.NotIn: "not in"}.get(type(op))
        if symbol is None:
            msg = "operator not supported in selectors"
            raise SelectorError(msg)
        return f"{self._operand(left)} {symbol} {self._operand(right)}"

    def _operand(self, node: ast.expr) -> str:
        if isinstance(node, ast.Name):
            if node.id in SAME or node.id in self.variables or node.id in VARIANT_LIKE:
                return node.id
            return node.id  # a variant variable: rattler-build reads it from the variant config
        if isinstance(node, ast.Constant):
            return _const(node.value)
        if isinstance(node, ast.List | ast.Tuple):
            return "[" + ", ".join(self._operand(e) for e in node.elts) + "]"
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) and len(node.values) == 2:
            # (x or "") as in (cuda_compiler_version or "").startswith("12")
            left, right = (self._operand(v) for v in node.values)
            return f"({left} or {right})"
        return self.text(node, parent_bool=True)


def _pairs(node: ast.Compare) -> list[tuple[ast.expr, ast.cmpop, ast.expr]]:
    lefts = [node.left, *node.comparators[:-1]]
    return list(zip(lefts, node.ops, node.comparators, strict=True))


def _const(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("'", "\\'") + "'"
    return repr(value)


def _is_prefix_test(node: ast.Call) -> bool:
    func = node.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr in {"startswith", "endswith"}
        and len(node.args) == 1
        and not node.keywords
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    )


def _is_environ_get(node: ast.Call) -> bool:
    func = node.func
    if not (isinstance(func, ast.Attribute) and func.attr == "get"):
        return False
    target = func.value
    if isinstance(target, ast.Name):
        return target.id == "environ"
    return isinstance(target, ast.Attribute) and target.attr == "environ"


def combine(*conditions: str | None) -> str | None:
    """AND several optional conditions, skipping None and repeated ones."""
    present: list[str] = []
    for cond in conditions:
        if cond and cond not in present:
            present.append(cond)
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return " and ".join(_wrap(c) for c in present)


def negate(condition: str) -> str:
    return f"not {_wrap(condition)}"


def _wrap(condition: str) -> str:
    simple = re.fullmatch(r"[\w]+|match\([^()]*\)|not [\w]+", condition)
    return condition if simple else f"({condition})"
