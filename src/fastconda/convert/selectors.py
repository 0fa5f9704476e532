"""conda-build line selectors (``# [linux and py>=38]``) → v1 ``if:`` expressions.

A selector is a Python expression over a fixed namespace (platform names, ``py``/``np`` as
two-or-three digit integers, variant variables). It is parsed with :mod:`ast`, rewritten node by
node and printed back; unknown bare names are errors because conda-build would fail on them too.

:func:`~fastconda.convert.selector_truth.evaluate_selector` computes a selector's truth for
``--check`` with the same small grammar, never with ``eval``: jinja may have produced the selector
text (``# {{ sel }}``), so it is as untrusted as the rest of the recipe. The grammar, shared by
both: names, ``and``/``or``/``not``, comparisons (``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``,
``in``, ``not in``), string, number and boolean literals, lists and tuples of those,
``x.startswith('..')`` / ``x.endswith('..')`` and ``environ.get('NAME'[, 'default'])`` (also
``os.environ.get``). Any other node, attribute access and calls included, is refused with
:class:`SelectorError`.
"""

from __future__ import annotations

import ast
import operator
import re
import warnings
from collections.abc import Callable, Collection

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
_BARE_SELECTOR = re.compile(r"^(?P<body>[^#]*?[^\s\-\[{,])\s+\[(?P<expr>\s*[A-Za-z_][\w\s.()<>=!'\"]*)\]\s*$")
_PYNAME = re.compile(r"^(py|np)(\d{2,3})$")
_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Gt: ">", ast.GtE: ">=", ast.Lt: "<", ast.LtE: "<="}
MAX_SELECTOR = 1000  # characters: real selectors are a few dozen
MAX_DEPTH = 50  # nesting of the expression tree


class SelectorError(ValueError):
    """A selector that cannot be parsed or uses an unknown name."""


def split_selector(line: str) -> tuple[str, str | None]:
    """Split ``"  - foo  # [linux]  # note"`` into (``"  - foo  # note"``, ``"linux"``).

    conda-build reads ``[expr]`` at the end of a line as a selector without the ``#`` too
    (``md5: 0123... [osx]``, ``build:  [linux]``); so does this where the brackets hold a selector's
    words, not a list (``run: [a, b]``) or a shell test (``[ -d x ]``). An entry point's pip extras
    (``- cli = pkg.main:run [extra]``) are a selector too: conda-render drops that line (``extra`` is
    an unknown name, false). Like conda-build, it reads no selector on a line that is all comment
    (``# [lint skip ...]``)."""
    if "[" not in line or line.lstrip().startswith("#"):
        return line, None
    if "#" not in line:
        bare = _BARE_SELECTOR.match(line)
        if bare is None or bare["body"].count("[") != bare["body"].count("]"):
            return line, None
        return bare["body"], bare["expr"].strip()
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


_SYMBOLS: dict[str, Callable[[int, int], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne,
}  # fmt: skip


def _py_major_test(symbol: str, digit: int) -> str | None:
    """``py<3`` (grayskull writes it for ``python_version<'3'``): conda-build compares the integer
    ``py`` (27, 311, ...) with 3, which is false for every Python; its author meant "Python 2", which
    is false for the Python 3 the engine builds for too. Where both readings agree the selector is that
    constant; where they differ (``py==3``, ``py<=3``) it stays an error that asks for two digits."""
    compare = _SYMBOLS[symbol]
    as_conda_build = compare(27, digit)  # the same for any py >= 10
    if as_conda_build != compare(3, digit):
        return None
    return "true" if as_conda_build else "false"


def parse_selector(expr: str) -> ast.expr:
    if len(expr) > MAX_SELECTOR:
        msg = f"selector '[{expr[:40]}...]' is longer than {MAX_SELECTOR} characters"
        raise SelectorError(msg)
    try:
        with warnings.catch_warnings():  # '38x' is a SyntaxWarning before it is an error: not ours to print
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(expr.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        reason = exc.msg if isinstance(exc, SyntaxError) else "nested too deeply"
        msg = f"selector '[{expr}]' is not a valid expression ({reason})"
        raise SelectorError(msg) from None
    if _depth(tree.body) > MAX_DEPTH:
        msg = f"selector '[{expr}]' is nested more than {MAX_DEPTH} levels deep"
        raise SelectorError(msg)
    return tree.body


def _depth(node: ast.AST) -> int:
    deepest, stack = 0, [(node, 1)]
    while stack:  # iterative: a deep tree must not exhaust the Python stack here
        current, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in ast.iter_child_nodes(current))
    return deepest


def translate_selector(
    expr: str,
    variables: Collection[str] = (),
    assumed: list[str] | None = None,
    environment: list[str] | None = None,
) -> str:
    """Translate one selector expression into a v1 condition; raises :class:`SelectorError`.

    A lower-case name that is neither a conda-build name nor in ``variables`` is read as a variant
    variable (conda-forge's ``is_abi3``, ``vc9``, ...: the engine reads it from the variant config),
    false where no variant config defines it, as conda-build reads it; it is appended to ``assumed``
    so the caller can warn. One edit away from a known name (``linnux``) it is a typo and an error.
    The environment variables the selector reads (``environ.get('X')``) are appended to ``environment``.
    """
    rewriter = _Rewriter(frozenset(variables))
    text = rewriter.text(parse_selector(expr))
    if assumed is not None:
        assumed.extend(n for n in rewriter.assumed if n not in assumed)
    if environment is not None:
        environment.extend(n for n in rewriter.environment if n not in environment)
    return text


def literal_args(node: ast.Call) -> bool:
    return (
        1 <= len(node.args) <= 2
        and not node.keywords
        and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args)
    )


VARIABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_KNOWN = SAME | ALIASES.keys() | VARIANT_LIKE


def alias(name: str) -> str | None:
    """The v1 condition of a conda-build platform alias (``win64``, ``py3k``, ``py311``, ``np126``)."""
    if name in ALIASES:
        return ALIASES[name]
    match = _PYNAME.match(name)
    if match is None:
        return None
    kind = "python" if match.group(1) == "py" else "numpy"
    return f"match({kind}, '=={_version(int(match.group(2)), match.group(1))}')"


def _one_edit(a: str, b: str) -> bool:
    """``a`` and ``b`` differ by one inserted, deleted, replaced or swapped character."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]])
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def typo_of(name: str) -> str | None:
    """The known selector name that ``name`` (4 characters or more) misspells, if any.

    Short names stay variables: ``vc9`` is one edit from ``vc`` and is a real variant key."""
    if len(name) < 4:
        return None
    return next((known for known in sorted(_KNOWN) if _one_edit(name, known)), None)


class _Rewriter:
    def __init__(self, variables: frozenset[str]) -> None:
        self.variables = variables
        self.assumed: list[str] = []
        self.environment: list[str] = []

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
        if isinstance(node, ast.Call) and is_prefix_test(node):
            assert isinstance(node.func, ast.Attribute)
            test = "startingwith" if node.func.attr == "startswith" else "endingwith"
            target = self._operand(node.func.value)
            arg = node.args[0]
            assert isinstance(arg, ast.Constant)
            return f"{target} is {test}({_const(arg.value)})"
        if isinstance(node, ast.Call) and is_environ_get(node) and literal_args(node):
            args = [_const(a.value) for a in node.args if isinstance(a, ast.Constant)]
            self.environment.append(str(node.args[0].value) if isinstance(node.args[0], ast.Constant) else "")
            if len(args) == 2:
                return f"env.get({args[0]}, default={args[1]})"
            # None in conda-build when unset; the engine would stop: '' is as false as None
            return f"env.get({args[0]}, default='')"
        msg = f"selector part '{ast.unparse(node)}' is not supported"
        raise SelectorError(msg)

    def _name(self, name: str, parent_bool: bool) -> str:
        if name in SAME or name in self.variables or name in VARIANT_LIKE:
            return name
        text = alias(name)
        if text is not None:
            return f"({text})" if parent_bool and " and " in text else text
        typo = typo_of(name)
        if VARIABLE_NAME.match(name) and name not in {"py", "np"} and typo is None:
            self.assumed.append(name)
            return f"({name} | default(false))"  # conda-build reads an undefined selector name as False
        hint = f" (did you mean '{typo}'?)" if typo else ""
        msg = f"unknown selector name '{name}'{hint}"
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
                if var.id == "py" and 0 <= other.value < 10 and (same := _py_major_test(symbol, other.value)):
                    return same
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


def is_prefix_test(node: ast.Call) -> bool:
    func = node.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr in {"startswith", "endswith"}
        and len(node.args) == 1
        and not node.keywords
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    )


def is_environ_get(node: ast.Call) -> bool:
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
