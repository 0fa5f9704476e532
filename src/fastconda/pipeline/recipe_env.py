"""The environment variables a project's own recipe reads, and the ones fastconda can fill in.

A common facility CI pattern: the CI builds the sdist, then runs conda-build on a recipe that reads
``environ.get('SDIST')`` for its ``url: file://...``, ``SDIST_SHA256`` for its ``sha256`` and
``PKG_VERSION`` for its version. ``fastconda build`` builds that sdist itself, so it can give the
engine those values; :func:`needed_environment` finds which variables the (v1) recipe reads and where,
and refuses, with the recipe's file and line, a variable that nobody set and fastconda cannot know.
Variables the user set are theirs: never replaced.

The recipe is read as text and YAML, never rendered: ``env.get('X', default=...)`` calls are found with
a pattern, and followed through the ``context:`` variables a field names.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from fastconda.errors import RecipeError
from fastconda.pipeline.pkg_info import read_sdist_metadata

# env.get('X'), env.get("X", default=...), env.exists('X') in a v1 expression; conda-build's
# environ.get / environ[...] in a meta.yaml (for the line an error names)
_ENV_CALL = re.compile(
    r"""\benv\.(?P<call>get|exists)\(\s*(?P<q>['"])(?P<name>[A-Za-z_]\w*)(?P=q)\s*"""
    r"""(?:,\s*default\s*=\s*(?P<default>'[^']*'|"[^"]*"|[^,)\s]+)\s*)?\)(?P<after>\s*or\b)?"""
)
# a read of a variable in either recipe format: environ.get('X'), os.environ['X'], env.get("X"), ...
_READ = re.compile(
    r"""\b(?:environ|env)\s*(?:\.get\(|\.exists\(|\[)\s*(?P<q>['"])(?P<name>[A-Za-z_]\w*)(?P=q)"""
)
_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
_NAME = re.compile(r"(?<![.\w'\"])[A-Za-z_]\w*")
_BARE = frozenset({"if", "skip"})  # keys whose values are expressions without ${{ }}
_MAX_DEPTH = 20  # context variables naming context variables: real recipes nest two or three


class Role(enum.IntEnum):
    """What a variable is to the recipe; a variable with two roles has the first (the lower)."""

    SDIST = 1  # the whole path of a source url (file://) or path: the sdist itself
    SHA256 = 2
    MD5 = 3
    VERSION = 4  # the package's version
    SOURCE = 5  # part of a source that is not a local sdist: fastconda cannot know it
    OTHER = 6


_SOURCE_ROLES = {"url": Role.SDIST, "path": Role.SDIST, "sha256": Role.SHA256, "md5": Role.MD5}


@dataclasses.dataclass(frozen=True)
class Use:
    """A variable the recipe reads; ``fallback``: the recipe renders something usable without it."""

    name: str
    role: Role
    fallback: bool


@dataclasses.dataclass(frozen=True)
class SdistFacts:
    """What the variables of a local-sdist recipe stand for, read from the sdist fastconda built."""

    path: Path
    sha256: str
    md5: str
    version: str

    @classmethod
    def of(cls, tarball: Path) -> SdistFacts:
        data = tarball.read_bytes()
        return cls(
            path=tarball.resolve(),
            sha256=hashlib.sha256(data).hexdigest(),
            md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
            version=_sdist_version(tarball),
        )


@dataclasses.dataclass(frozen=True)
class Needed:
    """The unset variables fastconda fills in; ``sdist``: the project's sdist must be built for them."""

    uses: tuple[Use, ...]
    sdist: bool

    def values(self, facts: SdistFacts) -> dict[str, str]:
        by_role = {Role.SDIST: str(facts.path), Role.SHA256: facts.sha256, Role.MD5: facts.md5,
                   Role.VERSION: facts.version}  # fmt: skip
        return {use.name: by_role[use.role] for use in self.uses if use.role in by_role}


def needed_environment(
    recipe_text: str, recipe_file: Path, environ: Mapping[str, str], *, can_make_sdist: bool
) -> Needed:
    """The variables of the v1 *recipe_text* (made from *recipe_file*) that are unset in *environ* and
    that fastconda fills in from the project's sdist.

    Raises :class:`RecipeError` naming the variable and *recipe_file*'s line when the render needs a
    variable that is unset, has no default, and is not the sdist, its hash or the version (or is, but
    the project has no sdist: ``can_make_sdist`` false).
    """
    uses = environment_uses(recipe_text)
    unset = [use for use in uses if use.name not in environ]
    files = [use for use in uses if use.role is Role.SDIST]
    theirs = next((use.name for use in files if use.name in environ), None)
    fillable: set[Role] = set()
    if can_make_sdist and files and theirs is None:  # hashes of our sdist only go with our sdist
        fillable = {Role.SDIST, Role.SHA256, Role.MD5, Role.VERSION}
    elif can_make_sdist and theirs is None and any(u.role is Role.VERSION and not u.fallback for u in unset):
        fillable = {Role.VERSION}
    for use in unset:
        if use.role not in fillable and not use.fallback:
            raise _unknown(use, recipe_file, can_make_sdist=can_make_sdist, theirs=theirs)
    filled = tuple(use for use in unset if use.role in fillable)
    return Needed(filled, sdist=bool(filled))


def environment_uses(recipe_text: str) -> tuple[Use, ...]:
    """Every variable a v1 recipe reads with ``env.get``/``env.exists``, each once, with its role."""
    try:
        data = YAML(typ="safe").load(recipe_text)
    except YAMLError:
        return ()  # not YAML: the engine says so, with its own line
    if not isinstance(data, dict):
        return ()
    context = {str(k): v for k, v in (data.get("context") or {}).items()} if isinstance(
        data.get("context"), dict
    ) else {}  # fmt: skip
    found: dict[str, Use] = {}

    def add(value: object, role: Role) -> None:
        for call in _calls(value, context):
            name, fallback = call["name"], _fallback(call, role)
            old = found.get(name)
            if old is None or role < old.role:
                found[name] = Use(name, role, fallback)
            elif role == old.role and not fallback:
                found[name] = dataclasses.replace(old, fallback=False)

    for source in _sources(data.get("source")):
        for key, role in _SOURCE_ROLES.items():
            value = source.get(key)
            add(value, Role.SOURCE if role is Role.SDIST and not _whole_path(value, key, context) else role)
    package = data.get("package")
    if isinstance(package, dict):
        add(package.get("version"), Role.VERSION)
    add(data, Role.OTHER)  # everything else, context included (what the fields above use is known)
    return tuple(found.values())


def _sources(source: object) -> Iterator[dict[str, Any]]:
    for entry in source if isinstance(source, list) else [source]:
        if isinstance(entry, dict):
            then = entry.get("then")  # a conditional source: if: ..., then: {...}
            yield from _sources(then) if "if" in entry else [entry]


def _whole_path(value: object, key: str, context: Mapping[str, object], depth: int = 0) -> bool:
    """``file://${{ env.get('X') }}`` (url) or ``${{ env.get('X') }}`` (path): the variable is the file;
    also through a context variable that is just that (``sdist: ${{ env.get('SDIST') }}``, then
    ``url: file://${{ sdist }}``: tangods-mcmax 1.1.0's recipe)."""
    if not isinstance(value, str) or depth > _MAX_DEPTH:
        return False
    rest = value.strip().removeprefix("file://") if key == "url" else value.strip()
    match = _EXPRESSION.fullmatch(rest)
    if match is None:
        return False
    inner = match.group(1).strip()
    if _ENV_CALL.fullmatch(inner) is not None:
        return True
    return inner in context and _whole_path(context[inner], "path", context, depth + 1)


def _calls(
    value: object, context: Mapping[str, object], depth: int = 0, *, bare: bool = False
) -> Iterator[re.Match[str]]:
    """Each env call in *value*, and in the context variables it names. ``if:`` and ``skip:`` hold
    bare expressions (no ``${{ }}``)."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _calls(item, context, depth + 1, bare=key in _BARE)
    elif isinstance(value, list):
        for item in value:
            yield from _calls(item, context, depth + 1, bare=bare)
    elif isinstance(value, str):
        for expression in [value] if bare else _EXPRESSION.findall(value):
            yield from _ENV_CALL.finditer(expression)
            for name in set(_NAME.findall(_ENV_CALL.sub("", expression))) & context.keys():
                yield from _calls(context[name], context, depth + 1)


def _fallback(call: re.Match[str], role: Role) -> bool:
    """Whether the recipe renders something usable when the variable is unset: ``env.exists``, a
    default (an empty one is no source, hash or version), or ``env.get(..., default='') or ...``."""
    if call["call"] == "exists" or call["after"]:
        return True
    default = call["default"]
    if default is None:
        return False
    return role is Role.OTHER or default not in {"''", '""'}


def _unknown(use: Use, recipe_file: Path, *, can_make_sdist: bool, theirs: str | None) -> RecipeError:
    line = _line(recipe_file, use.name)
    where = f"{recipe_file}:{line}" if line else str(recipe_file)
    if use.role is Role.SOURCE:
        why = "which is unset and is not the path of an sdist fastconda can make"
    elif use.role in {Role.SHA256, Role.MD5, Role.VERSION} and theirs is not None:
        why = f"which is unset while {theirs} (set) names the sdist; set it too"
    elif use.role in {Role.SHA256, Role.MD5}:
        why = "which is unset, and the source is not an sdist fastconda can make"
    elif use.role in {Role.SDIST, Role.VERSION} and not can_make_sdist:
        why = "which is unset, and this project has no sdist fastconda can make"
    else:
        why = "which is unset and has no default"
    what = "its source" if use.role < Role.VERSION or use.role is Role.SOURCE else "the render"
    msg = f"{where}: the recipe reads {use.name} from the environment for {what}, {why}: set {use.name}"
    if use.role is Role.OTHER:
        msg += f" or give it a default (environ.get('{use.name}', '...'))"
    return RecipeError(msg)


def read_names(recipe_file: Path) -> list[str]:
    """The variables *recipe_file* (a meta.yaml or recipe.yaml) reads from the environment, as written:
    their values are inputs of the build like its sources (:func:`fastconda.pipeline.record.inputs_key`)."""
    try:
        text = recipe_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return sorted({match["name"] for match in _READ.finditer(text)})


def _line(recipe_file: Path, name: str) -> int:
    """The first line of *recipe_file* that reads *name* from the environment (0 when none shows it)."""
    try:
        lines = recipe_file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return 0
    found = (
        number for number, line in enumerate(lines, 1) for m in _READ.finditer(line) if m["name"] == name
    )
    return next(found, 0)


def _sdist_version(tarball: Path) -> str:
    """``Version`` of the sdist's own top-level ``PKG-INFO`` (what its build backend wrote)."""
    metadata = read_sdist_metadata(tarball)
    if metadata is None or not metadata.version:
        msg = f"{tarball}: the sdist has no PKG-INFO with a Version; its build backend should write one"
        raise RecipeError(msg)
    return metadata.version
