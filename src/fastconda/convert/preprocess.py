"""Line-level pass over a meta.yaml: jinja statements and selectors out, plain YAML with ``${{ }}`` in.

After this pass every line is YAML that ruamel can parse; what the removed text meant is kept on
the side: ``{% set %}`` statements become context variables, ``{% if %}`` blocks and ``# [sel]``
comments become a condition per line (both in :mod:`~fastconda.convert.statements`), ``{% for %}``
loops over known lists are unrolled. Each line remembers the source line it came from, for warnings
and errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from fastconda.convert import expressions as ex
from fastconda.convert.context import ContextVar
from fastconda.convert.limits import Refused, budget, first_line
from fastconda.convert.loaders import file_functions
from fastconda.convert.model import Warnings
from fastconda.convert.selectors import combine, split_selector
from fastconda.convert.statements import Statements
from fastconda.errors import ConvertError

_STATEMENT = re.compile(r"^\s*\{%-?\s*(?P<kw>\w+)\b(?P<body>.*?)\s*-?%\}\s*$", re.DOTALL)
_INLINE_IF = re.compile(r"\{%-?\s*if\s+(.+?)\s*-?%\}(.*?)(?:\{%-?\s*else\s*-?%\}(.*?))?\{%-?\s*endif\s*-?%\}")
_FOR = re.compile(r"^\s*(?P<var>[A-Za-z_]\w*)\s+in\s+(?P<expr>.+)$", re.DOTALL)
_EXPR = re.compile(r"(?<!\$)\{\{(.*?)\}\}")
_MACRO = re.compile(r"^\s*\{%-?\s*macro\s+(?P<name>[A-Za-z_]\w*)")
_ENDMACRO = re.compile(r"\{%-?\s*endmacro\s*-?%\}")
_JINJA_COMMENT = re.compile(r"\{#(.*?)#\}")
_TEMPLATE_KEY = re.compile(
    r"^(?P<lead>\s*(?:-\s+)?)(?P<q>['\"]?)\{\{\s*(?P<name>[A-Za-z_]\w*)\s*\}\}(?P=q)(?=\s*:(?:\s|$))"
)
_COMMENTED_STATEMENT = re.compile(
    r"^\s*#\s*(?P<statement>\{%-?\s*(?:if|elif|else|endif|set)\b.*?-?%\})\s*$", re.DOTALL
)
_TRAILING_COMMENT = re.compile(r"^(?P<statement>\s*\{%-?.*?-?%\})\s*#.*$", re.DOTALL)
MAX_LINES = 100_000  # lines after unrolling loops: real recipes have a few hundred


@dataclass(frozen=True)
class Line:
    text: str
    origin: int  # 1-based line of the meta.yaml
    cond: str | None = None


@dataclass
class Prepared:
    lines: list[Line]
    context: list[ContextVar] = field(default_factory=list)
    static: dict[str, object] = field(default_factory=dict)
    static_only: set[str] = field(default_factory=set)  # known now, not in the v1 context
    variables: frozenset[str] = frozenset()  # the keys of the recipe's variant config

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines) + "\n"


def prepare(  # noqa: PLR0917 - project_root joined the existing positional parameters
    text: str,
    filename: str,
    warnings: Warnings,
    variables: frozenset[str] = frozenset(),
    recipe_dir: Path | None = None,
    project_root: Path | None = None,
) -> Prepared:
    """Run the line pass; raises :class:`ConvertError` with ``file:line`` on broken jinja or selectors.

    With ``recipe_dir``, ``load_file_regex``/``load_file_data`` read their file from there (or from
    anywhere in ``project_root`` when given: see :mod:`~fastconda.convert.loaders`).
    """
    try:
        ex.ENV.parse(text)
    except jinja2.TemplateSyntaxError as exc:
        msg = f"{filename}:{exc.lineno}: broken jinja: {exc.message}; fix the template so jinja2 can parse it"
        raise ConvertError(msg) from None
    except ValueError as exc:  # a literal Python refuses, such as an integer of 5000 digits
        msg = f"{filename}: broken jinja: {first_line(exc)}; fix the template so jinja2 can parse it"
        raise ConvertError(msg) from None
    except (RecursionError, MemoryError):
        msg = f"{filename}: the jinja nests too deeply to parse; simplify it"
        raise ConvertError(msg) from None
    return _Pass(filename, warnings, variables, recipe_dir, project_root).run(text)


class _Pass:
    def __init__(
        self,
        filename: str,
        warnings: Warnings,
        variables: frozenset[str],
        recipe_dir: Path | None,
        project_root: Path | None = None,
    ) -> None:
        self.filename = filename
        self.warnings = warnings
        self.read: list[Path] = []
        self.statements = Statements(self.fail, warnings, self.read, variables)
        self.result = Prepared(
            [], self.statements.context, self.statements.static, self.statements.static_only, variables
        )
        if recipe_dir is not None:
            self.result.static.update(file_functions(recipe_dir, self.read, project_root))

    def fail(self, line: int, message: str) -> ConvertError:
        return ConvertError(f"{self.filename}:{line}: {message}")

    def run(self, text: str) -> Prepared:
        pending = [(t, i + 1) for i, t in enumerate(text.splitlines())]
        index = 0
        while index < len(pending):
            origin = pending[index][1]
            try:
                index = self.step(pending, index)
            except Refused as exc:  # a refused file or a bound, raised deep in jinja: add the line
                raise self.fail(origin, str(exc)) from None
            except RecursionError:
                raise self.fail(origin, "the jinja recurses or nests too deeply; simplify it") from None
            if len(pending) > MAX_LINES:
                raise self.fail(origin, f"loops unroll to more than {MAX_LINES:,} lines; refused")
        if self.statements.frames:
            raise self.fail(len(pending), "'{% if %}' without '{% endif %}'")
        self.statements.finish()
        return self.result

    def step(self, pending: list[tuple[str, int]], index: int) -> int:
        """Handle the line at ``index`` (unrolling loops into ``pending``); the next index."""
        raw, origin = pending[index]
        raw = _JINJA_COMMENT.sub(lambda m: "#" + m.group(1).rstrip(), raw)
        if _MACRO.match(raw):
            return self.macro(pending, index)
        commented = _COMMENTED_STATEMENT.match(raw)
        if commented is not None:  # '# {% if x %}': a YAML comment, but conda-build's jinja runs it
            raw = commented["statement"]
            if (match := _STATEMENT.match(raw)) is not None and match["kw"] == "set":
                self.warnings.add(
                    f"'{raw.strip()}' is in a YAML comment, but conda-build's jinja runs it all the same: "
                    "converted as it is run; delete the line if it was meant to be off",
                    origin,
                )
        statement = _STATEMENT.match(raw)
        trailing = _TRAILING_COMMENT.match(raw) if statement is None else None
        if trailing is not None and (statement := _STATEMENT.match(trailing["statement"])) is not None:
            # '{% set x = 1 %}  # [linux]' or '... %}  # a note': the note goes, the selector stays
            selector = split_selector(raw)[1]
            if selector is not None:
                if statement["kw"] != "set":
                    what = f"a selector on '{{% {statement['kw']} %}}'"
                    raise self.fail(origin, f"{what} cannot be converted; move the condition into it")
                self.statements.assign(statement["body"].strip(), origin, selector)
                self.result.lines.append(Line("", origin))
                return index + 1
        if statement is None and raw.lstrip().startswith("{%") and "%}" not in raw:
            # a statement spanning several lines: join until it closes
            last = index
            while last + 1 < len(pending) and "%}" not in pending[last][0]:
                last += 1
            block = pending[index : last + 1]
            joined = " ".join(t.strip() for t, _ in block)
            pending[index : last + 1] = [(joined, origin)] + [("", o) for _, o in block[1:]]
            return index
        if statement is None:
            self.emit(raw, origin)
            return index + 1
        keyword, body = statement.group("kw"), statement.group("body").strip()
        if keyword == "for":
            end = _matching_end(pending, index)
            if end is None:
                raise self.fail(origin, "'{% for %}' without '{% endfor %}'")
            pending[index : end + 1] = self.unroll(body, pending[index + 1 : end], origin)
            return index
        self.statements.statement(keyword, body, origin)
        self.result.lines.append(Line("", origin))
        return index + 1

    # -- statements -------------------------------------------------------------------------------

    def macro(self, pending: list[tuple[str, int]], index: int) -> int:
        """``{% macro %}``: v1 has none; calls with known arguments are expanded at conversion time."""
        origin = pending[index][1]
        last = index
        while last < len(pending) and not _ENDMACRO.search(pending[last][0]):
            last += 1
        if last == len(pending):
            raise self.fail(origin, "'{% macro %}' without '{% endmacro %}'")
        source = "\n".join(text for text, _ in pending[index : last + 1])
        match = _MACRO.match(pending[index][0])
        assert match is not None
        name = match["name"]
        try:
            with budget():
                module = ex.ENV.from_string(source).make_module(vars=dict(self.result.static))
            macro = getattr(module, name)
        except (*ex.EVAL_ERRORS, AttributeError) as exc:  # an unknown filter, text after endmacro, ...
            message = exc.message if isinstance(exc, jinja2.TemplateError) and exc.message else str(exc)
            raise self.fail(origin, f"'{{% macro {name} %}}' cannot be compiled: {message}") from None
        self.result.static[name] = macro
        self.result.static_only.add(name)
        self.warnings.add(
            f"'{{% macro {name} %}}' has no v1 equivalent: its calls are expanded at conversion time",
            origin,
        )
        self.result.lines.extend(Line("", o) for _, o in pending[index : last + 1])
        return last + 1

    def unroll(self, body: str, block: list[tuple[str, int]], origin: int) -> list[tuple[str, int]]:
        match = _FOR.match(body)
        values: object = None
        if match is not None:
            try:
                values = ex.evaluate(match.group("expr"), self.result.static)
            except ex.EVAL_ERRORS:
                values = None
        if isinstance(values, dict):
            values = list(values)  # jinja loops over a mapping's keys
        if match is None or not isinstance(values, list | tuple):
            self.warnings.add(
                f"'{{% for {body} %}}' loops over values unknown before the build; its lines are kept as comments",  # noqa: E501
                origin,
            )
            # written out as they are: the jinja in them is not run (it would be, inside the loop)
            kept = [Line(_EXPR.sub(r"${{\1}}", _commented(text)), line) for text, line in block]
            end = block[-1][1] + 1 if block else origin
            self.result.lines.extend([Line("", origin), *kept, Line("", end)])
            return []
        if len(values) * max(len(block), 1) > MAX_LINES:
            raise self.fail(origin, f"the loop unrolls to more than {MAX_LINES:,} lines; refused")
        var = match.group("var")
        out: list[tuple[str, int]] = [("", origin)]
        for value in values:
            static = {**self.result.static, var: value}
            for text, line in block:
                out.append((_substitute(text, var, value, static), line))
        out.append(("", block[-1][1] + 1 if block else origin))
        return out

    # -- ordinary lines ---------------------------------------------------------------------------

    def emit(self, raw: str, origin: int) -> None:
        body, selector = split_selector(raw)
        cond = None if selector is None else self.statements.selector(selector, origin)
        if "{%" in body:
            body = self.inline_if(body, origin)
        body = _TEMPLATE_KEY.sub(self.known_key, body)
        body = _requote(_EXPR.sub(lambda m: "${{" + m.group(1) + "}}", body))
        if self.statements.skipping:  # a branch conda-build's jinja does not take
            self.result.lines.append(Line("", origin))
            return
        self.result.lines.append(Line(body.rstrip(), origin, combine(self.statements.block, cond)))

    def known_key(self, match: re.Match[str]) -> str:
        """``'{{ hash_type }}': ...``: v1 keys are not templates; a key known now is written out."""
        value = self.result.static.get(match["name"])
        if isinstance(value, str) and re.fullmatch(r"[A-Za-z_][\w.-]*", value):
            return match["lead"] + value
        return match[0]

    def inline_if(self, body: str, origin: int) -> str:
        def replace(match: re.Match[str]) -> str:
            cond = self.statements.condition(match.group(1), origin)
            then = ex.as_expression(_EXPR.sub(lambda m: "${{" + m.group(1) + "}}", match.group(2)))
            other = match.group(3)
            text = f"{then} if {cond}"
            if other is not None:
                text += f" else {ex.as_expression(_EXPR.sub(lambda m: '${{' + m.group(1) + '}}', other))}"
            return "${{ " + text + " }}"

        result = _INLINE_IF.sub(replace, body)
        if "{%" in result:
            raise self.fail(
                origin, "jinja statement inside a line cannot be converted; put it on its own line"
            )
        return result


_QUOTED_VALUE = re.compile(
    r"^(?P<lead>\s*(?:-\s+)?(?:[^'\"#]+:\s+)?)(?P<q>['\"])(?P<inner>.*\$\{\{.*)(?P=q)(?P<rest>\s*(?:#.*)?)$"
)


def _commented(text: str) -> str:
    """A line as a YAML comment at its own indentation."""
    return f"{text[: len(text) - len(text.lstrip())]}# {text.strip()}"


def _requote(line: str) -> str:
    """``version: '{{ data.get('version') }}'``: conda-build renders the jinja before YAML reads the
    quotes; here YAML comes first, so an expression's quotes become the other kind."""
    match = _QUOTED_VALUE.match(line)
    if match is None:
        return line
    quote = match["q"]
    other = '"' if quote == "'" else "'"

    def swap(expr: re.Match[str]) -> str:
        text = expr.group(1)
        return "${{" + text.replace(quote, other) + "}}" if other not in text else expr.group(0)

    inner = re.sub(r"\$\{\{(.*?)\}\}", swap, match["inner"])
    return f"{match['lead']}{quote}{inner}{quote}{match['rest']}"


def _matching_end(lines: list[tuple[str, int]], start: int) -> int | None:
    depth = 0
    for index in range(start, len(lines)):
        match = _STATEMENT.match(lines[index][0])
        if match is None:
            continue
        if match.group("kw") == "for":
            depth += 1
        elif match.group("kw") == "endfor":
            depth -= 1
            if depth == 0:
                return index
    return None


def _substitute(text: str, var: str, value: object, static: dict[str, object]) -> str:
    """Replace the loop variable inside the ``{{ }}`` expressions and the statements of one line."""

    def statement(match: re.Match[str]) -> str:
        keyword, body = match["kw"], match["body"]
        split = re.match(r"(\s*[A-Za-z_]\w*\s*(?:=|\bin\b))(.*)$", body, re.DOTALL)
        if keyword in {"set", "for"} and split is not None:  # the name it binds stays
            head, body = split.group(1), split.group(2)
        else:
            head = ""
        try:
            replaced = ex.replace_name(body, var, ex.literal(value))
        except jinja2.TemplateSyntaxError:
            return match.group(0)  # left as written: the statement's own pass reports it
        return f"{match['open']}{keyword}{head}{replaced}{match['close']}"

    def replace(match: re.Match[str]) -> str:
        expr = match.group(1)
        try:
            names = ex.free_names(expr)
        except jinja2.TemplateSyntaxError:
            return match.group(0)  # left as written: the line's own pass reports it with its line
        if var not in names:
            return match.group(0)
        if names <= static.keys():
            try:
                return str(ex.evaluate(expr, static))
            except ex.EVAL_ERRORS:
                pass
        return "{{" + ex.replace_name(expr, var, ex.literal(value)) + "}}"

    return _EXPR.sub(replace, _STATEMENT_IN_LINE.sub(statement, text))


_STATEMENT_IN_LINE = re.compile(
    r"(?P<open>\{%-?\s*)(?P<kw>if|elif|set|for)\b(?P<body>.*?)(?P<close>\s*-?%\})"
)
