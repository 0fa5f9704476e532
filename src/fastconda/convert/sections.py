"""Simple sections of a recipe: package, source, requirements, about, extra, and generic values.

Each converter takes the (flattened, conditional) entries of one conda-build section and returns the
v1 mapping; what has no v1 equivalent goes to :class:`Notes` (a warning and a comment in the output).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from fastconda.convert.expressions import VARIANT_VERSION_RE, parse_expression, template_parts
from fastconda.convert.licences import Licence, spdx_licence
from fastconda.convert.selectors import combine
from fastconda.convert.tree import (
    Doc,
    Entry,
    cond_list,
    cond_scalar,
    copy_comment,
    entries,
    group,
    items,
)


@dataclass
class Notes:
    """Parts of the meta.yaml that the v1 recipe cannot hold: kept as a comment block and warned about."""

    doc: Doc
    lines: list[str] = field(default_factory=list)

    def drop(self, where: str, entry: Entry, why: str) -> None:
        shown = entry.value if isinstance(entry.value, str) else json.dumps(entry.value, default=str)
        self.lines.append(f"{Path(self.doc.filename).name}:{entry.line} {where}.{entry.key}: {shown}")
        self.doc.warnings.add(f"{where}.{entry.key}: {why}; kept as a comment", entry.line)


def scalar_text(value: Any) -> Any:
    """Numbers that are really versions stay strings (``1.10`` is not ``1.1``)."""
    if isinstance(value, float | int) and not isinstance(value, bool):
        return str(value)
    return value


def generic(doc: Doc, value: Any, inherited: str | None = None) -> Any:
    """A value copied as is, with conditions turned into ``if:`` items or inline expressions."""
    if isinstance(value, CommentedMap):
        out = CommentedMap()
        for key, found in group(entries(doc, value, inherited=inherited)).items():
            out[key] = generic(doc, cond_scalar(found)) if _has_cond(found) else generic(doc, found[0].value)
            copy_comment(out, key, found[0])
        if value.ca.comment:
            out.ca.comment = value.ca.comment
        return out
    if isinstance(value, CommentedSeq):
        return cond_list(doc, [Entry("", value, None, 0)], lambda item: generic(doc, item.value, item.cond))
    return value


def _has_cond(found: list[Entry]) -> bool:
    return len(found) > 1 or found[0].cond is not None


def value_of(doc: Doc, found: list[Entry]) -> Any:
    """One key's value: conditional scalars inline, conditional lists as ``if:`` items."""
    if any(isinstance(e.value, CommentedSeq) for e in found):
        return cond_list(doc, found, lambda item: generic(doc, item.value, item.cond))
    if _has_cond(found):
        return cond_scalar(found)
    return generic(doc, found[0].value)


def package(doc: Doc, found: list[Entry], notes: Notes) -> CommentedMap:
    out = CommentedMap()
    for key, group_ in group(found).items():
        if key in {"name", "version"}:
            out[key] = scalar_text(value_of(doc, group_))
            copy_comment(out, key, group_[0])
        else:
            notes.drop("package", group_[0], "not a package field")
    return out


SOURCE_KEYS = {
    "url": "url", "sha256": "sha256", "md5": "md5", "fn": "file_name", "folder": "target_directory",
    "patches": "patches", "git_url": "git", "git_rev": "rev", "git_tag": "tag", "git_branch": "branch",
    "git_depth": "depth", "path": "path", "lfs": "lfs", "git_lfs": "lfs", "use_gitignore": "use_gitignore",
}  # fmt: skip
_RECIPE_DIR = re.compile(r"^(\$RECIPE_DIR|%RECIPE_DIR%)[/\\]?")


def sources(doc: Doc, found: list[Entry], notes: Notes) -> Any:
    """``source:`` (a mapping or a list of them) → one v1 source mapping or a list with ``if:`` items."""
    out = CommentedSeq()
    for item in [i for e in found for i in _with_cond(doc, e)]:
        source_entries = entries(doc, item.value, where="source", inherited=item.cond)
        for cond, part in _split_by_cond(source_entries):
            converted = _source(doc, part, notes, cond or item.cond)
            if "git" in converted:
                for checksum in ("sha256", "md5"):
                    if converted.pop(checksum, None) is not None:
                        line = next((e.line for e in part if e.key == checksum), item.line)
                        doc.warnings.add(
                            f"source.{checksum} dropped: a git source has no archive to check, v1 refuses it",
                            line,
                        )
            if not {"url", "git", "path"} & set(converted):
                line = part[0].line if part else item.line
                doc.warnings.add("source dropped: v1 can fetch only url, git and path sources", line)
                continue
            out.append(CommentedMap([("if", cond), ("then", converted)]) if cond else converted)
    if len(out) == 1 and not (isinstance(out[0], CommentedMap) and "if" in out[0]):
        return out[0]
    return out


def _with_cond(doc: Doc, entry: Entry) -> list[Entry]:
    if isinstance(entry.value, CommentedSeq):
        return [
            Entry("source", i.value, combine(entry.cond, i.cond), i.line, i.comment)
            for i in items(doc, entry.value)
        ]
    return [entry]


def _split_by_cond(found: list[Entry]) -> list[tuple[str | None, list[Entry]]]:
    """Every key conditional and each condition names a url/git/path: one source per condition."""
    conds = [e.cond for e in found]
    if not found or None in conds:
        return [(None, found)]
    groups: dict[str, list[Entry]] = {}
    for entry in found:
        assert entry.cond is not None
        groups.setdefault(entry.cond, []).append(entry)
    locations = {"url", "git_url", "path"}
    # one condition over every key too: the engine needs a url in each source, not a conditional url
    if all(any(e.key in locations for e in g) for g in groups.values()):
        return [
            (cond, [Entry(e.key, e.value, None, e.line, e.comment) for e in g]) for cond, g in groups.items()
        ]
    return [(None, found)]


def _source(doc: Doc, found: list[Entry], notes: Notes, inherited: str | None = None) -> CommentedMap:
    """One source; *inherited* is its own condition, which the items of its lists need not repeat
    (``url:  # [linux]`` over mirrors each ``# [linux]``: the engine takes no ``if:`` in a url list)."""
    out = CommentedMap()
    for key, group_ in group(found).items():
        target = SOURCE_KEYS.get(key)
        if target is None:
            notes.drop("source", group_[0], "has no v1 equivalent")
            continue
        value = value_of(doc, group_)
        if inherited is not None and isinstance(value, CommentedSeq):
            for index, item in enumerate(value):
                if isinstance(item, CommentedMap) and item.get("if") == inherited:
                    value[index] = item["then"]
        if key == "path" and isinstance(value, str):
            value = _RECIPE_DIR.sub("", value) or "."
        if key == "patches" and not isinstance(value, CommentedSeq):
            value = CommentedSeq([value])
        if key == "git_depth" and isinstance(value, str) and value.lstrip("-").isdigit():
            value = int(value)
        out[target] = value
        copy_comment(out, target, group_[0])
    return out


REQUIREMENT_KEYS = {"build": "build", "host": "host", "run": "run", "run_constrained": "run_constraints"}


def requirements(
    doc: Doc, found: list[Entry], notes: Notes, extra: CommentedMap | None = None
) -> CommentedMap:
    """``requirements:``; ``extra`` carries run_exports / ignore_run_exports moved here from ``build:``."""
    out = CommentedMap()
    if isinstance(found, list) and found and found[0].key == "":  # shorthand list in an output: run
        found = [Entry("run", found[0].value, found[0].cond, found[0].line)]
    for key, group_ in group(found).items():
        target = REQUIREMENT_KEYS.get(key)
        if target is None:
            notes.drop("requirements", group_[0], "is not a requirement section")
            continue
        deps = cond_list(doc, group_, lambda item: requirement(item, doc))
        if deps:
            out[target] = deps
            copy_comment(out, target, group_[0])
    for key, value in (extra or {}).items():
        out[key] = value
    return out


_OPERATOR = re.compile(r"^[<>=!~]|[*,|]")


def requirement(item: Any, doc: Doc | None = None) -> Any:
    """One dependency: conda's fuzzy versions spelled out, the operator typos conda accepts fixed."""
    value = item.value
    if not isinstance(value, str):
        return scalar_text(value)
    fixed = fix_operators(value)
    if fixed != value.strip() and doc is not None:
        doc.warnings.add(f"requirement '{value}': conda reads it as '{fixed}'; written so", item.line)
    fixed = fuzzy_version(fixed, doc.static if doc is not None else None, doc.context if doc else None)
    return type(value)(fixed) if type(value) is not str else fixed  # keep the quote style


_TYPO = re.compile(r"(?<![<>=!~])=([<>])")
_EQUAL_STAR = re.compile(r"(^|,)==([^,|\s*=<>!~]+\.\*)(?=$|,)")
_VERSION_BUILD = re.compile(r"=?(?P<version>[^=\s<>!~,|]+)=(?P<build>[^=\s<>!~,|]+)")
_RELATION_STAR = re.compile(r"(>=|<=|>|<)([^,|\s*]+?)\.\*(?=$|[,|])")


def fix_operators(spec: str) -> str:
    """``=<1``/``=>1`` are ``<=1``/``>=1``, ``>=1.2.*`` is ``>=1.2``, ``==3.*`` is ``3.*`` and
    ``pkg =1.2=b`` is ``pkg 1.2 b`` to conda; the engine refuses them as written."""
    parts = re.split(r"\s+(?![^{]*\}\})", spec.strip())
    if len(parts) < 2 or "{" in parts[1]:
        return spec.strip()
    build = _VERSION_BUILD.fullmatch(parts[1]) if len(parts) == 2 else None
    if build is not None:
        parts[1:] = [build["version"], build["build"]]
    parts[1] = _EQUAL_STAR.sub(r"\1\2", _RELATION_STAR.sub(r"\1\2", _TYPO.sub(r"\1=", parts[1])))
    return " ".join(parts)


def fuzzy_version(
    spec: str, static: Mapping[str, object] | None = None, context: Mapping[str, object] | None = None
) -> str:
    """``python 3.9`` means ``python 3.9.*`` to conda; rattler wants it spelled out.

    A templated version (``pkg ${{ v }}``) gets the ``.*`` too, unless the value known now is not a
    plain version (``{% set v = ">=1.2" %}``): then conda reads it as written. A context value known
    only when the recipe renders (``env.get('X') or '6.*'``, ``'1.2' if linux else '>=2'``) gets it
    from an expression that asks what conda asks, unless all its possible values agree now."""
    if spec.lstrip().startswith("${{") and spec.rstrip().endswith("}}") and spec.count("${{") == 1:
        return spec.strip()
    parts = re.split(r"\s+(?![^{]*\}\})", spec.strip())
    if len(parts) not in {2, 3}:
        return " ".join(parts)
    name = _TEMPLATE.fullmatch(parts[1])
    if name is not None and name[1] in (context or {}) and name[1] not in (static or {}):
        plain = {_plain(value) for value in _possible_values((context or {})[name[1]], static or {})}
        if plain == {True}:
            parts[1] += ".*"
        elif plain != {False}:
            parts[1] += _FUZZY.format(name=name[1])
    elif VARIANT_VERSION_RE.fullmatch(parts[1]) or not _OPERATOR.search(_known(parts[1], static or {})):
        parts[1] += ".*"
    return " ".join(parts)


# conda's question, asked when the recipe renders: a plain version (no operator, no '*') means 'v.*'
_FUZZY = (
    "${{{{ '' if not {name} or {name}[:1] in '<>=!~' or '*' in {name} or ',' in {name} or '|' in {name} "
    "else '.*' }}}}"
)


def _plain(value: str | None) -> bool | None:
    """Whether conda reads a version as ``value.*`` (None: not known before the render)."""
    return None if value is None else bool(value) and not _OPERATOR.search(value)


def _possible_values(value: object, static: Mapping[str, object]) -> list[str | None]:
    """The values a context entry can take (None for one known only when the recipe renders)."""
    if not isinstance(value, str) or "${{" not in value:
        return ["" if value is None else str(value)]
    parts = template_parts(value)
    if len(parts) != 1 or not parts[0][0]:
        return [None]
    try:
        node = parse_expression(parts[0][1])
    except jinja2.TemplateSyntaxError:
        return [None]
    return _leaves(node, static)


def _leaves(node: jinja2.nodes.Node, static: Mapping[str, object]) -> list[str | None]:
    if isinstance(node, jinja2.nodes.CondExpr):
        other = _leaves(node.expr2, static) if node.expr2 is not None else [""]
        return _leaves(node.expr1, static) + other
    if isinstance(node, jinja2.nodes.Or):
        return _leaves(node.left, static) + _leaves(node.right, static)
    if isinstance(node, jinja2.nodes.Const):
        return ["" if node.value is None else str(node.value)]
    if isinstance(node, jinja2.nodes.Name) and node.name in static:
        return [str(static[node.name])]
    return [None]


_TEMPLATE = re.compile(r"\$\{\{\s*([A-Za-z_]\w*)\s*\}\}")


def _known(version: str, static: Mapping[str, object]) -> str:
    """The version part with the context values known now put in (to see what conda would see)."""
    return _TEMPLATE.sub(lambda m: str(static.get(m[1], m[0])), version)


ABOUT_KEYS = {
    "home": "homepage", "dev_url": "repository", "doc_url": "documentation", "license": "license",
    "license_family": "license_family", "license_file": "license_file", "summary": "summary",
    "description": "description", "prelink_message": "prelink_message",
}  # fmt: skip


URL_KEYS = frozenset({"homepage", "repository", "documentation"})


def first_url(text: str) -> str:
    """The first of several URLs in one about field (CRAN writes ``'https://a, https://b'``), with a
    scheme (``www.example.org/x`` is ``https://www.example.org/x``: the engine takes URLs only)."""
    url = re.split(r"[\s,;]+", text.strip(), maxsplit=1)[0]
    return url if "://" in url or not url else f"https://{url}"


def about(doc: Doc, found: list[Entry], notes: Notes) -> CommentedMap:
    out = CommentedMap()
    for key, group_ in group(found).items():
        target = ABOUT_KEYS.get(key)
        if target is None:
            notes.drop("about", group_[0], "has no v1 equivalent (v1 'about' has no such field)")
            continue
        value = value_of(doc, group_)
        if value is None or (isinstance(value, str) and not value.strip()):
            doc.warnings.add(f"about.{key} is empty: left out (v1 refuses an empty {target})", group_[0].line)
            continue
        if target in URL_KEYS and isinstance(value, str) and "${{" not in value and first_url(value) != value:
            url = first_url(value)
            doc.warnings.add(
                f"about.{key} '{value}' is not one URL with a scheme: written as '{url}'", group_[0].line
            )
            value = url
        if key == "license" and isinstance(value, str):
            known = _known(value, doc.static)  # '{{ license }}' from a '{% set %}' known now
            licence = spdx_licence(known) if "${{" not in known else Licence(value)
            if licence.message is not None:
                doc.warnings.add(f"about.{licence.message}", group_[0].line)
                value = licence.spdx
        out[target] = value
        copy_comment(out, target, group_[0])
    return out
