"""The parsed meta.yaml with its per-line conditions, and helpers to build v1 nodes from it.

Keys on lines with a selector are renamed before parsing (``url`` → ``url__fcsel7__``) so that
conda-build's duplicate keys (``script: a  # [unix]`` / ``script: b  # [win]``) survive YAML.
:func:`entries` and :func:`items` give them back with their condition and source line; the
``cond_*`` helpers turn conditional values into v1 ``if:``/``then:`` items or inline expressions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import jinja2
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.tokens import CommentToken

from fastconda.convert import expressions as ex
from fastconda.convert import yamlio
from fastconda.convert.limits import Refused, first_line
from fastconda.convert.model import Warnings
from fastconda.convert.preprocess import Line, Prepared
from fastconda.convert.selectors import combine
from fastconda.errors import ConvertError

_KEY = re.compile(r"^(?P<lead>\s*(?:-\s+)*)(?P<key>[A-Za-z_][\w.-]*)(?P<colon>\s*:)(?=\s|$)")
RENAMED = re.compile(r"^(?P<key>.+)__fcsel(?P<line>\d+)__$")
_ENV_ONLY = re.compile(
    r"""^\s*(?:(?:os\.)?environ\s*(?:\[\s*|\.get\(\s*)(?P<q>['"]))?(?P<name>[A-Z_][A-Z0-9_]*)"""
    r"""(?(q)(?P=q)\s*(?:\]|\)))\s*$"""
)


# sections the engine reads when it renders the recipe, before any build script runs
_RENDER_TIME = frozenset({"package", "source"})
# ... and the same wherever they appear (an output's requirements too): no script sees them
_RENDER_TIME_ANYWHERE = frozenset({"requirements", "run_exports", "requires", "run_constrained"})
# conda-build's values of the recipe's own fields: the recipe's text for them at render time
_OWN_FIELDS = {"PKG_NAME": ("package", "name"), "PKG_VERSION": ("package", "version"),
               "PKG_BUILDNUM": ("build", "number")}  # fmt: skip
# conda-build's major.minor of a variant (PY_VER 3.11 for python 3.11.* *_cpython), as the engine spells it
_VARIANT_VERSIONS = {"PY_VER": "python", "NPY_VER": "numpy"}


@dataclass
class Entry:
    """One key of a conda-build mapping, with the condition it holds under."""

    key: str
    value: Any
    cond: str | None
    line: int
    comment: Any = None


@dataclass
class Item:
    value: Any
    cond: str | None
    line: int
    comment: Any = None


class Doc:
    """The meta.yaml as ruamel nodes plus, for every line, its source line and condition."""

    def __init__(self, prepared: Prepared, filename: str, warnings: Warnings) -> None:
        self.lines: list[Line] = []
        for index, line in enumerate(prepared.lines):
            text = line.text
            if line.cond is not None:
                text = _rename_key(text, index)
            self.lines.append(Line(text, line.origin, line.cond))
        self.filename = filename
        self.warnings = warnings
        self.static = prepared.static
        self.context = {var.name: var.value for var in prepared.context}  # the v1 context's values
        self.defined = frozenset(self.context.keys() | self.static.keys() | prepared.variables)
        self.static_only = frozenset(prepared.static_only)
        source = "\n".join(line.text for line in self.lines) + "\n"
        try:
            loaded = yamlio.load(source)
        except yamlio.YamlError as exc:
            lineno = self.origin(exc.line)
            problem = exc.problem.replace("__fcsel", "").strip()
            msg = f"{filename}:{lineno}: invalid YAML after jinja and selectors: {problem}; {exc.hint}"
            raise ConvertError(msg) from None
        root = loaded.root
        self.leading: dict[str, list[str]] = loaded.leading
        if root is None:
            root = CommentedMap()
        if not isinstance(root, CommentedMap):
            kind = type(root).__name__
            msg = f"{filename}:1: a recipe must be a YAML mapping (package:, source:, ...), not {kind}"
            raise ConvertError(msg)
        self.root: CommentedMap = root
        self._own_busy = False
        self._output: CommentedMap | None = None  # the output being translated
        self._translate(root)

    def origin(self, line0: int) -> int:
        return self.lines[line0].origin if 0 <= line0 < len(self.lines) else 0

    def cond(self, line0: int) -> str | None:
        return self.lines[line0].cond if 0 <= line0 < len(self.lines) else None

    # -- jinja inside values ----------------------------------------------------------------------

    def _translate(self, node: Any, render_time: bool = False) -> None:
        if isinstance(node, CommentedMap):
            outputs = self.root.get("outputs")
            if isinstance(outputs, CommentedSeq) and any(item is node for item in outputs):
                self._output = node  # conda-build's PKG_NAME in an output is the output's name
            for key in list(node):
                line0 = node.lc.value(key)[0] if key in node.lc.data else node.lc.line
                renamed = RENAMED.match(str(key))
                name = renamed["key"] if renamed else str(key)
                top = (node is self.root and name in _RENDER_TIME) or name in _RENDER_TIME_ANYWHERE
                node[key] = self._value(node[key], line0, render_time or top)
        elif isinstance(node, CommentedSeq):
            for index in range(len(node)):
                node[index] = self._value(node[index], node.lc.item(index)[0], render_time)

    def _value(self, value: Any, line0: int, render_time: bool = False) -> Any:
        if isinstance(value, CommentedMap | CommentedSeq):
            self._translate(value, render_time)
            return value
        if isinstance(value, str) and "${{" in value:
            text = self.template(value, line0, render_time=render_time)
            return type(value)(text) if type(value) is not str else text
        return value

    def template(self, value: str, line0: int, *, render_time: bool = False) -> str:
        """Translate every ``${{ expr }}`` of a string into v1 syntax.

        ``render_time``: the value is read when the recipe is rendered (its package and source), where
        ``environ.get('PKG_VERSION')`` is not the build script's ``$PKG_VERSION`` but the environment's."""
        out: list[str] = []
        cond = self.cond(line0) or ""
        windows = re.search(r"(?<!not )\bwin\b", cond) is not None
        for is_expr, text in ex.template_parts(value):
            if not is_expr:
                out.append(text)
                continue
            env = _ENV_ONLY.match(text)
            if env is not None and env["name"] == "PKG_HASH":
                out.append("${{ hash }}")
                continue
            read = env is not None and env["q"] is not None  # environ.get('X'), not a bare X
            if env is not None and render_time and not read and env["name"] in _VARIANT_VERSIONS:
                out.append(ex.VARIANT_VERSION.format(variant=_VARIANT_VERSIONS[env["name"]]))
                continue
            own = self._own(env["name"], line0) if env is not None and render_time and not read else None
            if own is not None:
                out.append(own)
                continue
            if env is not None and env["name"] in ex.SCRIPT_VARIABLES and not (render_time and read):
                out.append(f"%{env['name']}%" if windows else f"${env['name']}")
                continue
            try:
                result = ex.translate(text, self.static, defined=self.defined)
            except (Refused, RecursionError) as exc:
                raise self._refused(exc, text, line0) from None
            except (jinja2.TemplateError, ValueError, TypeError, ArithmeticError, LookupError) as exc:
                # what a broken expression raises while it is parsed or evaluated; anything else is a bug
                where = f"{self.filename}:{self.origin(line0)}"
                msg = f"{where}: broken jinja expression '{{{{ {text} }}}}': {first_line(exc)}"
                raise ConvertError(msg) from None
            for problem in result.problems:
                how = (
                    "evaluated at conversion time"
                    if result.evaluated
                    else "kept as written, it will not render"
                )
                self.warnings.add(f"{problem}: '{{{{ {text} }}}}' {how}", self.origin(line0))
            for note in result.notes:
                self.warnings.add(note, self.origin(line0))
            for name in result.environment:
                self.warnings.once(ex.environment_note(name), self.origin(line0))
            for name in result.assumed:
                self.warnings.add(ex.assumed_note(name), self.origin(line0))
            if result.evaluated or ex.free_names(text) & self.static_only:
                out.append(self._evaluate(text, line0))
            else:
                out.append("${{ " + result.text + " }}")
        return "".join(out)

    def _own(self, name: str, line0: int) -> str | None:
        """``{{ PKG_NAME }}`` where no script reads it: the recipe's own package name (version, build
        number), as conda-build fills it in; the engine knows no such variable there."""
        if name not in _OWN_FIELDS or self._own_busy:
            return None
        section, key = _OWN_FIELDS[name]
        part = self.root.get(section)
        value = part.get(key) if isinstance(part, CommentedMap) else None
        if self._output is not None:  # an output's own name (version, number), else the recipe's
            part = self._output if section == "package" else self._output.get(section)
            mine = part.get(key) if isinstance(part, CommentedMap) else None
            value = mine if mine is not None else value
        if value is None:
            return None
        self._own_busy = True  # a package name made of {{ PKG_NAME }} itself stays as written
        try:
            return self.template(str(value), line0, render_time=True) if "${{" in str(value) else str(value)
        finally:
            self._own_busy = False

    def _evaluate(self, text: str, line0: int) -> str:
        try:
            return str(ex.evaluate(text, self.static))
        except ex.EVAL_ERRORS as exc:
            where = f"{self.filename}:{self.origin(line0)}"
            msg = f"{where}: cannot evaluate '{{{{ {text} }}}}': {first_line(exc)}"
            raise ConvertError(msg) from None
        except (Refused, RecursionError) as exc:
            raise self._refused(exc, text, line0) from None

    def _refused(self, exc: Exception, text: str, line0: int) -> ConvertError:
        """A bound or a refused file met while evaluating ``{{ text }}``, with file and line."""
        what = "recurses too deeply; simplify it" if isinstance(exc, RecursionError) else str(exc)
        return ConvertError(f"{self.filename}:{self.origin(line0)}: '{{{{ {text} }}}}': {what}")


def _rename_key(text: str, index: int) -> str:
    """``  url: x`` on line 7 → ``  url__fcsel7__: x``: duplicate keys under selectors stay distinct."""
    return _KEY.sub(lambda m: f"{m['lead']}{m['key']}__fcsel{index}__{m['colon']}", text, count=1)


def entries(doc: Doc, node: Any, *, where: str = "", inherited: str | None = None) -> list[Entry]:
    """The keys of a mapping with their conditions; a non-mapping is reported and gives no entries.

    ``inherited`` is the condition of the list item holding the mapping: ``- name: x  # [win]``
    puts the selector on the item, so the same condition on its keys is not repeated.
    """
    if node is None:
        return []
    if not isinstance(node, CommentedMap):
        doc.warnings.add(f"expected a mapping at '{where}', got {type(node).__name__}; kept as is")
        return []
    out: list[Entry] = []
    for key in node:
        name = str(key)
        cond = None
        renamed = RENAMED.match(name)
        if renamed is not None:
            name, cond = renamed["key"], doc.cond(int(renamed["line"]))
            cond = None if cond == inherited else cond
        line0 = node.lc.key(key)[0] if key in node.lc.data else -1
        out.append(Entry(name, node[key], cond, doc.origin(line0), node.ca.items.get(key)))
    return out


def items(doc: Doc, node: Any) -> list[Item]:
    """The items of a list (a scalar counts as a one-item list) with their conditions."""
    if node is None:
        return []
    if not isinstance(node, CommentedSeq):
        return [Item(node, None, 0)]
    out = []
    for index, value in enumerate(node):
        line0 = node.lc.item(index)[0] if index in node.lc.data else -1
        out.append(Item(value, doc.cond(line0), doc.origin(line0), node.ca.items.get(index)))
    return out


def merged(doc: Doc, found: list[Entry], *, where: str) -> list[Entry]:
    """Flatten conditional mappings: ``build:  # [linux]`` pushes its condition down to each key."""
    out: list[Entry] = []
    for entry in found:
        for child in entries(doc, entry.value, where=where):
            out.append(
                Entry(child.key, child.value, combine(entry.cond, child.cond), child.line, child.comment)
            )
    return out


def group(found: list[Entry]) -> dict[str, list[Entry]]:
    """Entries by key, in order of first appearance."""
    out: dict[str, list[Entry]] = {}
    for entry in found:
        out.setdefault(entry.key, []).append(entry)
    return out


def conditional(value: Any, cond: str | None) -> Any:
    if cond is None:
        return value
    return CommentedMap([("if", cond), ("then", value)])


def cond_list(doc: Doc, found: list[Entry], convert: Any = None) -> CommentedSeq:
    """All items of one or more (conditional) lists as one v1 list with ``if:`` items."""
    out = CommentedSeq()
    for entry in found:
        if isinstance(entry.value, CommentedSeq) and entry.value.ca.comment and not out:
            out.ca.comment = entry.value.ca.comment
        for item in items(doc, entry.value):
            value = convert(item) if convert is not None else item.value
            if value is None:
                continue
            cond = combine(entry.cond, item.cond)
            out.append(conditional(value, cond))
            comment = item.comment or (entry.comment if len(out) == 1 else None)
            if comment is not None:
                _attach(out, len(out) - 1, comment, wrapped=cond is not None)
    return out


def _attach(seq: CommentedSeq, index: int, comment: Any, *, wrapped: bool) -> None:
    cleaned = clean_comment(comment)
    tokens = [t for t in cleaned if t is not None] if cleaned else []
    token = next((t for t in tokens if not isinstance(t, list)), None)
    if token is None:
        return
    if wrapped:
        target = seq[index]
        target.ca.items["then"] = [None, None, token, None]
    else:
        seq.ca.items[index] = [token, None]


def cond_scalar(found: list[Entry]) -> Any:
    """The value of a key given several times under conditions; the last true one wins, as in conda-build."""
    if len(found) == 1 and found[0].cond is None:
        return found[0].value
    expr: str | None = None
    for entry in found:
        value = ex.as_expression(entry.value)
        if entry.cond is None:
            expr = value
        elif expr is None:
            expr = f"{value} if {entry.cond}"
        else:
            other = f"({expr})" if " if " in expr else expr
            expr = f"{value} if {entry.cond} else {other}"
    return "${{ " + (expr or "''") + " }}"


def copy_comment(dst: CommentedMap, key: str, entry: Entry) -> None:
    comment = clean_comment(entry.comment)
    if comment is not None:
        dst.ca.items[key] = comment


def clean_comment(comment: Any) -> Any:
    """Drop the blank lines ruamel keeps in comment tokens; the writer lays out blank lines itself."""
    if not isinstance(comment, list):
        return None
    out: list[Any] = []
    for token in comment:
        if isinstance(token, CommentToken):
            text = token.value.rstrip()
            if not text.strip():
                out.append(None)
                continue
            out.append(CommentToken(text + "\n", token.start_mark, column=token.column))
            continue
        out.append(token)
    return out if any(t is not None for t in out) else None
