"""Fast YAML reading and writing that keeps comments and quote styles.

ruamel.yaml's round-trip loader is pure Python (about 5 ms for a 50-line recipe, most of a
conversion). Here a YAML *composer* builds the node graph, libyaml's C composer from PyYAML when it
is installed, else ruamel's own, and :class:`_Builder` turns the nodes into ruamel's
``CommentedMap``/``CommentedSeq`` with the line numbers (``lc``) and comments (``ca``) the rest of
the converter reads. Comments are read back from the source lines, placed where ruamel's own
round-trip loader puts them: an end-of-line comment and the full-line comments after it belong to
the value they follow. Full-line comments at column 0 just before a top-level key are returned
apart (:attr:`Loaded.leading`): they introduce that section, not the end of the previous one.

Scalars keep their style: quoted strings stay quoted the same way, block scalars stay blocks.
Plain scalars resolve as YAML 1.2 core (``true``, ``null``, integers), except that numbers written
as floats or with leading zeros stay text, as conda-build itself reads them (``1.10`` is a version).

The text is untrusted: before anything is built from the node graph, :func:`_check_graph` counts
the nodes the graph stands for with every alias expanded (a 1 kB "billion laughs" document stands
for 10^9 nodes) and its depth, and refuses more than :data:`MAX_NODES` nodes, more than
:data:`MAX_DEPTH` levels or an alias inside its own anchor. NUL and other control characters are
refused by the YAML reader itself, as a :class:`YamlError` with the line.
"""

from __future__ import annotations

import io
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)
from ruamel.yaml.tokens import CommentToken

try:  # libyaml through PyYAML: the C composer, ~20x faster than ruamel's pure-Python one
    import yaml as _pyyaml

    _CLoader: Any = _pyyaml.CSafeLoader
    _PyYAMLError: type[Exception] = _pyyaml.YAMLError
except (ImportError, AttributeError):  # pragma: no cover - depends on the installation
    _CLoader = None
    _PyYAMLError = type("_NoPyYAMLError", (Exception,), {})

from ruamel.yaml.error import YAMLError as _RuamelError

_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"^[-+]?(0|[1-9][0-9]*)$")
_STYLES: dict[str, type[str]] = {
    '"': DoubleQuotedScalarString,
    "'": SingleQuotedScalarString,
    "|": LiteralScalarString,
    ">": FoldedScalarString,
}
_TOP_KEY = re.compile(r"^(?P<key>[A-Za-z_][\w.-]*)\s*:")
MAX_NODES = 100_000  # nodes after alias expansion: a large real recipe has a few hundred
MAX_DEPTH = 100  # nesting levels: real recipes have fewer than ten
_MAX_INT_DIGITS = 100
_BOUNDS_HINT = "write the values out instead of repeating anchors, or nest less"


class YamlError(ValueError):
    """Invalid YAML: ``line`` is 0-based in the composed text (-1 if unknown)."""

    def __init__(self, problem: str, line: int, hint: str = "fix indentation") -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line
        self.hint = hint  # what to do about it


@dataclass
class Loaded:
    root: Any
    leading: dict[str, list[str]] = field(default_factory=dict)  # top-level key → comment lines


def load(text: str) -> Loaded:
    """Compose ``text`` and build ruamel round-trip nodes with comments; raises :class:`YamlError`."""
    node = _compose(text)
    _check_graph(node)
    lines = text.split("\n")
    leading, taken = _leading_comments(lines)
    if node is None:
        return Loaded(None, leading)
    builder = _Builder(lines, taken)
    root = builder.build(node)
    builder.attach_comments()
    return Loaded(root, leading)


def load_plain(text: str) -> Any:
    """Safe-load YAML into plain Python objects (data files a recipe reads), within the same bounds."""
    _check_graph(_compose(text))
    return YAML(typ="safe", pure=True).load(text)


def check_document(text: str) -> None:
    """Raise :class:`YamlError` if ``text`` is not YAML or goes beyond the bounds of this module."""
    _check_graph(_compose(text))


def _children(node: Any) -> list[Any]:
    kind = type(node).__name__
    if kind == "MappingNode":
        return [part for pair in node.value for part in pair]
    if kind == "SequenceNode":
        return list(node.value)
    return []


def _check_graph(root: Any) -> None:
    """Count the nodes ``root`` stands for with aliases expanded, without expanding them."""
    if root is None:
        return
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:  # iterative post-order: a deep document must not exhaust the Python stack here
        node, done = stack.pop()
        key = id(node)
        if done:
            open_.discard(key)
            children = _children(node)
            size[key] = 1 + sum(size[id(c)] for c in children)
            depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
            if size[key] > MAX_NODES or depth[key] > MAX_DEPTH:
                what = f"{MAX_NODES} nodes" if size[key] > MAX_NODES else f"{MAX_DEPTH} levels deep"
                msg = f"the document stands for more than {what} (aliases expanded); refused"
                raise YamlError(msg, node.start_mark.line, _BOUNDS_HINT)
            continue
        if key in size:
            continue
        if key in open_:
            msg = "an alias refers to the anchor that contains it; refused"
            raise YamlError(msg, node.start_mark.line, _BOUNDS_HINT)
        open_.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in size)


def _compose(text: str) -> Any:
    try:
        if _CLoader is not None:
            loader = _CLoader(text)
            try:
                return loader.get_single_node()
            finally:
                loader.dispose()
        return _ruamel_yaml().compose(text)
    except (_PyYAMLError, _RuamelError) as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or getattr(exc, "context", None)
        position = getattr(exc, "position", None)  # a ReaderError: a NUL or control character
        if problem is None and isinstance(position, int) and position >= 0:
            character = getattr(exc, "character", "")
            if isinstance(character, str) and len(character) == 1:
                character = ord(character)
            code = f"U+{character:04X}" if isinstance(character, int) else "?"
            problem = f"control character {code} is not allowed in YAML"
            raise YamlError(problem, text.count("\n", 0, position), "remove it") from None
        raise YamlError(str(problem or "invalid YAML"), mark.line if mark is not None else -1) from None


# A ruamel YAML object keeps its reader, scanner and emitter between calls: one per thread (builds of
# a project set convert side by side; a shared dumper mixed their events up, "EmitterError")
_per_thread = threading.local()


def _ruamel_yaml() -> YAML:
    yaml: YAML | None = getattr(_per_thread, "loader", None)
    if yaml is None:
        yaml = _per_thread.loader = YAML(typ="rt")
    return yaml


def _dumper() -> YAML:
    yaml: YAML | None = getattr(_per_thread, "dumper", None)
    if yaml is None:
        yaml = YAML(typ="rt")
        yaml.indent(mapping=2, sequence=4, offset=2)
        yaml.width = 4096
        yaml.allow_unicode = True
        _per_thread.dumper = yaml
    return yaml


def dump(node: Any) -> str:
    buffer = io.StringIO()
    _dumper().dump(node, buffer)
    return buffer.getvalue()


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _leading_comments(lines: list[str]) -> tuple[dict[str, list[str]], set[int]]:
    """Column-0 comment runs right before a top-level key (blank lines allowed in between)."""
    leading: dict[str, list[str]] = {}
    taken: set[int] = set()
    first_key_seen = False
    for index, line in enumerate(lines):
        match = _TOP_KEY.match(line)
        if match is None:
            continue
        run: list[int] = []
        back = index - 1
        while back >= 0 and (not lines[back].strip() or lines[back].startswith("#")):
            if lines[back].strip():
                run.append(back)
            back -= 1
        if run and first_key_seen:
            leading[match["key"]] = [lines[i].rstrip() for i in reversed(run)]
            taken.update(run)
        first_key_seen = True
    return leading, taken


def _token(text: str, line: int, column: int) -> CommentToken:
    return CommentToken(text, CommentMark(column), column=column)


class _Point:
    """A place comments attach to: a leaf value (eol + following) or a collection opener."""

    __slots__ = ("child", "column", "container", "eol", "following", "key", "line")

    def __init__(
        self, line: int, container: Any, key: Any, *, child: Any, eol: str | None, column: int
    ) -> None:
        self.line = line
        self.container = container
        self.key = key
        self.child = child  # the collection this key opens, or None for a leaf
        self.eol = eol
        self.column = column
        self.following: list[str] = []


class _Builder:
    def __init__(self, lines: list[str], taken: set[int]) -> None:
        self.lines = lines
        self.skip = set(taken)  # lines that cannot hold comments for nodes (scalar content, leading)
        self.points: list[_Point] = []

    # -- nodes ------------------------------------------------------------------------------------

    def build(self, node: Any) -> Any:
        kind = type(node).__name__
        if kind == "MappingNode":
            return self._mapping(node)
        if kind == "SequenceNode":
            return self._sequence(node)
        return self._scalar(node)

    def _mapping(self, node: Any) -> CommentedMap:
        out = CommentedMap()
        out.lc.line, out.lc.col = node.start_mark.line, node.start_mark.column
        out.lc.data = {}
        for key_node, value_node in node.value:
            if type(key_node).__name__ != "ScalarNode":
                msg = "a mapping or list used as a key"
                raise YamlError(msg, key_node.start_mark.line, "keys of a recipe are plain words")
            key = self._scalar(key_node)
            key = key if isinstance(key, int | bool) else str(key)
            out[key] = self.build(value_node)
            out.lc.data[key] = [
                key_node.start_mark.line,
                key_node.start_mark.column,
                value_node.start_mark.line,
                value_node.start_mark.column,
            ]
            self._register(out, key, key_node, value_node)
        return out

    def _sequence(self, node: Any) -> CommentedSeq:
        out = CommentedSeq()
        out.lc.line, out.lc.col = node.start_mark.line, node.start_mark.column
        out.lc.data = {}
        for index, item in enumerate(node.value):
            out.append(self.build(item))
            out.lc.data[index] = [item.start_mark.line, item.start_mark.column]
            self._register(out, index, None, item)
        return out

    def _scalar(self, node: Any) -> Any:
        value: str = node.value
        style = node.style or ""
        start, end = node.start_mark, node.end_mark
        if end.line > start.line:
            last = end.line if end.column > 0 else end.line - 1
            self.skip.update(range(start.line + 1, last + 1))
        if style in _STYLES:
            return _STYLES[style](value)
        if node.tag != "tag:yaml.org,2002:str" and node.tag.startswith("tag:yaml.org,2002:"):
            pass  # implicit resolution below; explicit !!str would carry no style either
        if value in _NULL:
            return None
        if value in _BOOL:
            return _BOOL[value]
        if _INT.match(value) and len(value) <= _MAX_INT_DIGITS:  # longer: text (int() refuses >4300)
            return int(value)
        return value

    def _register(self, container: Any, key: Any, key_node: Any, value_node: Any) -> None:
        collection = type(value_node).__name__ != "ScalarNode"
        block = collection and not getattr(value_node, "flow_style", False)
        if block:
            # the eol comment of the key line ("build:  # note"); for "- name: x" items no opener
            if key_node is None:
                return
            mark = key_node.end_mark
            rest = self.lines[mark.line][mark.column :].lstrip()
            rest = rest[1:].lstrip() if rest.startswith(":") else rest
            eol, column = self._eol(mark.line, len(self.lines[mark.line]) - len(rest))
            child = container[key]
            self.points.append(_Point(mark.line, container, key, child=child, eol=eol, column=column))
            return
        style = getattr(value_node, "style", None) or ""
        mark = value_node.end_mark
        if style in {"|", ">"}:
            line = value_node.start_mark.line
            self.points.append(_Point(line, container, key, child=None, eol=None, column=0))
            return
        eol, column = self._eol(mark.line, mark.column)
        self.points.append(_Point(mark.line, container, key, child=None, eol=eol, column=column))

    def _eol(self, line: int, column: int) -> tuple[str | None, int]:
        text = self.lines[line] if 0 <= line < len(self.lines) else ""
        rest = text[column:]
        stripped = rest.lstrip()
        if stripped.startswith("#"):
            return stripped.rstrip(), column + len(rest) - len(stripped)
        return None, column

    # -- comments ---------------------------------------------------------------------------------

    def attach_comments(self) -> None:
        points = sorted(self.points, key=lambda p: p.line)  # stable: same-line order is build order
        index = -1
        for number, line in enumerate(self.lines):
            while index + 1 < len(points) and points[index + 1].line <= number:
                index += 1
            if index < 0 or number in self.skip or not _is_comment(line):
                continue
            if points[index].line == number:
                continue  # an eol comment, already read
            points[index].following.append(line.rstrip())
        for point in points:
            self._attach(point)

    def _attach(self, point: _Point) -> None:
        if point.eol is None and not point.following:
            return
        container, key = point.container, point.key
        body = "\n".join(point.following)
        if point.child is not None and point.eol is None:
            tokens = [_token(line.strip() + "\n", point.line + 1, len(line) - len(line.lstrip()))
                      for line in point.following]  # fmt: skip
            point.child.ca.comment = [None, tokens]
            container.ca.items[key] = [None, None, None, tokens]
            return
        text = (point.eol or "") + "\n" + (body + "\n" if body else "")
        token = _token(text, point.line, point.column)
        if isinstance(container, CommentedSeq):
            container.ca.items[key] = [token, None, None, None]
        else:
            container.ca.items[key] = [None, None, token, None]
        if point.child is not None:
            point.child.ca.comment = [token, None]
