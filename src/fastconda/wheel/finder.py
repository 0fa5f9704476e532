"""Find the wheel that fills a conda requirement: in local folders, for one target Python and platform.

A conda requirement (``requests >=2.30``, ``setuptools <81``) names a conda package; the wheel that
provides it is found by the PyPI name that maps to that conda name (:func:`pypi_names`: the built-in
table and the user's map, read backwards) and its version is tested with rattler's own version-spec
semantics, the ones the solver applies later: what is picked here is what the check accepts.

A wheel qualifies when :func:`~fastconda.wheel.target.resolve_target` accepts its tags for the target
(pure → ``noarch: python``; ``cp311``/``abi3`` + manylinux → the subdir). Among those, the highest
version wins; folders are searched in order (the wheel cache before a wheelhouse) and the first folder
with a match decides, so a wheelhouse never replaces what the cache already provides.

:func:`find_sdist` finds a source distribution the same way, for a project that has no wheel.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from fastconda.errors import WheelError
from fastconda.wheel.specs import builtin_name_map, normalize_name
from fastconda.wheel.target import resolve_target

__all__ = ["FoundWheel", "Wanted", "find_sdist", "find_wheel", "pypi_names", "wanted"]

#: a folder holding more wheels than this is not read whole (a wheelhouse is not a mirror of PyPI)
MAX_WHEELS_PER_FOLDER = 20_000
_PEP440_OPS = re.compile(r"^(==|!=|>=|<=|>|<|~=)?\s*([0-9][0-9A-Za-z.+!*_-]*)$")


@dataclasses.dataclass(frozen=True)
class Wanted:
    """One conda requirement to fill: its conda name, the PyPI names that may provide it, its version spec."""

    spec: str  # as the recipe or the user wrote it
    name: str  # conda name
    pypi: tuple[str, ...]  # candidate PyPI project names (normalised), the likeliest first
    version: str | None  # conda version spec (rattler's syntax), None for any version

    def accepts(self, version: str) -> bool:
        """Whether a package of *version* satisfies the requirement, by rattler's rules."""
        if self.version is None:
            return True
        import rattler
        from rattler.exceptions import InvalidVersionError, InvalidVersionSpecError

        try:
            return bool(rattler.VersionSpec(self.version).matches(rattler.Version(version)))
        except (InvalidVersionError, InvalidVersionSpecError):
            return False

    def pep440(self) -> str:
        """The requirement for pip (``name>=1,<2``): best effort; the version found is checked again
        with :meth:`accepts`. Conda alternatives (``|``) and build strings become the bare name."""
        name = self.pypi[0]
        if self.version is None or "|" in self.version:
            return name
        parts: list[str] = []
        for part in self.version.split(","):
            match = _PEP440_OPS.match(part.strip())
            if not match:
                return name
            op, version = match.group(1) or "", match.group(2)
            if version.endswith(".*"):
                parts.append(f"{'!=' if op == '!=' else '=='}{version}")
            else:
                parts.append(f"{op or '=='}{version}")
        return f"{name}{','.join(parts)}"


@dataclasses.dataclass(frozen=True)
class FoundWheel:
    path: Path
    source: str  # the folder's label: "wheel cache", "wheelhouse /path", "index"
    project: str  # normalised PyPI name
    version: str


def pypi_names(conda: str, name_map: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The PyPI projects whose conda name is *conda*: the user's map first, then the built-in table,
    then the conda name itself (most projects have the same name on both sides)."""
    found: list[str] = []
    for table in (name_map or {}, builtin_name_map()):
        found += [normalize_name(pypi) for pypi, mapped in table.items() if mapped == conda]
    found.append(normalize_name(conda))
    return tuple(dict.fromkeys(found))


def wanted(spec: str, name_map: Mapping[str, str] | None = None) -> Wanted:
    """Parse a conda requirement as rattler does; a :class:`WheelError` says what is wrong with it."""
    import rattler
    from rattler.exceptions import InvalidMatchSpecError, InvalidPackageNameError

    try:
        match = rattler.MatchSpec(spec)
    except (InvalidMatchSpecError, InvalidPackageNameError) as exc:
        msg = f"{spec!r} is not a conda requirement: {exc}"
        raise WheelError(msg) from None
    name = match.name.normalized
    return Wanted(spec=spec, name=name, pypi=pypi_names(name, name_map), version=match.version)


def _candidates(folder: Path, sdists: bool) -> list[tuple[Path, str, Version]]:
    found: list[tuple[Path, str, Version]] = []
    try:
        entries = [p for p in sorted(folder.iterdir()) if p.name.endswith(_SDIST if sdists else (".whl",))]
    except OSError:
        return found
    for path in entries[:MAX_WHEELS_PER_FOLDER]:
        try:
            if sdists:
                project, version = parse_sdist_filename(path.name)
            else:
                project, version, _build, _tags = parse_wheel_filename(path.name)
        except (InvalidWheelFilename, InvalidSdistFilename):
            continue
        found.append((path, canonicalize_name(project), version))
    return found


_SDIST = (".tar.gz", ".zip")


def find_wheel(
    want: Wanted,
    folders: Sequence[tuple[str, Path]],
    *,
    python: str,
    platform: str,
    exact: str | None = None,
) -> FoundWheel | None:
    """The best wheel for *want* in the first of *folders* (``(label, path)``) that has one.

    With *exact* (a wheel file name, e.g. from a fill's lock record) only that file qualifies."""
    return _best(
        want, folders, exact, sdists=False, usable=lambda p: compatible(p, python=python, platform=platform)
    )


def find_sdist(
    want: Wanted, folders: Sequence[tuple[str, Path]], *, exact: str | None = None
) -> FoundWheel | None:
    """The best source distribution (``.tar.gz``, ``.zip``) for *want*, as :func:`find_wheel` finds wheels."""
    return _best(want, folders, exact, sdists=True, usable=lambda _path: True)


def _best(
    want: Wanted,
    folders: Sequence[tuple[str, Path]],
    exact: str | None,
    *,
    sdists: bool,
    usable: Callable[[Path], bool],
) -> FoundWheel | None:
    for label, folder in folders:
        best: tuple[Version, str, Path, str] | None = None
        for path, project, version in _candidates(folder, sdists):
            if project not in want.pypi or (exact is not None and path.name != exact):
                continue
            if not want.accepts(str(version)) or not usable(path):
                continue
            key = (version, path.name, path, project)
            if best is None or key[:2] > best[:2]:
                best = key
        if best is not None:
            return FoundWheel(best[2], label, best[3], str(best[0]))
    return None


def compatible(wheel: Path, *, python: str, platform: str) -> bool:
    """Whether the wheel converts into a package for CPython *python* on conda *platform*."""
    try:
        _project, _version, _build, tags = parse_wheel_filename(wheel.name)
        resolve_target(wheel.name, tags, python, platform)
    except (InvalidWheelFilename, WheelError):
        return False
    return True
