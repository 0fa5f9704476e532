"""The core metadata of the sdist fastconda just built (its ``PKG-INFO``), and what the recipe takes from it.

The sdist's ``PKG-INFO`` is written by the project's own build backend, which ran (in the build
environment, with its plugins) where grayskull may not have: grayskull runs a ``setup.py`` itself, and
offline it cannot when a ``setup_requires`` plugin is missing, so it recovers no requirements at all.
``PKG-INFO`` then still has the truth: the distribution's name (what pip installs, which the package
test looks up) and its ``Requires-Dist``.
"""

from __future__ import annotations

import dataclasses
import sys
import tarfile
from collections.abc import Mapping
from email.parser import BytesParser
from email.policy import compat32
from pathlib import Path

from packaging.markers import UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from fastconda.errors import RecipeError, WheelError
from fastconda.wheel.specs import conda_name, conda_version_spec
from fastconda.wheel.target import Target

MAX_PKG_INFO = 1024 * 1024  # bytes read at most: the headers come before a long description


@dataclasses.dataclass(frozen=True)
class SdistMetadata:
    name: str
    version: str
    requires_dist: tuple[str, ...]


def read_sdist_metadata(sdist: Path) -> SdistMetadata | None:
    """``PKG-INFO`` of a ``.tar.gz`` sdist (``<name>-<version>/PKG-INFO``); None when it has none
    (or one without a name). An sdist that cannot be read is a :class:`RecipeError`."""
    data = b""
    try:
        with tarfile.open(sdist) as tar:
            for member in tar:
                parts = member.name.strip("/").split("/")
                if len(parts) == 2 and parts[1] == "PKG-INFO" and member.isfile():
                    handle = tar.extractfile(member)
                    data = handle.read(MAX_PKG_INFO) if handle is not None else b""  # headers come first
                    break
    except (OSError, tarfile.TarError, EOFError) as exc:
        msg = f"{sdist}: cannot read the sdist: {exc}"
        raise RecipeError(msg) from None
    meta = BytesParser(policy=compat32).parsebytes(data, headersonly=True)
    name = str(meta.get("Name") or "").strip()
    if not name:
        return None
    requires = tuple(str(r).strip() for r in meta.get_all("Requires-Dist") or [] if str(r).strip())
    return SdistMetadata(name, str(meta.get("Version") or "").strip(), requires)


def noarch_environment() -> dict[str, str]:
    """PEP 508 marker values for a ``noarch: python`` package: this Python, on Linux."""
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    return Target(python=python, noarch=True, subdir="noarch").marker_environment("linux-64")


def run_requirements(
    metadata: SdistMetadata, name_map: Mapping[str, str] | None = None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """conda run requirements from ``Requires-Dist`` for a ``noarch: python`` target, and notes.

    Markers are evaluated for the target (``python_version < "3"`` drops a Python 2 backport);
    requirements only for an extra are dropped (no extra is installed); names go through the wheel
    stage's PyPI → conda name map. Several requirements on one name are merged.
    """
    env = noarch_environment()
    own = canonicalize_name(metadata.name)
    notes: list[str] = []
    specs: dict[str, SpecifierSet] = {}
    for text in metadata.requires_dist:
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            notes.append(f"Requires-Dist {text!r} left out: {exc}")
            continue
        try:
            if req.marker is not None and not req.marker.evaluate({**env, "extra": ""}):
                continue
        except (UndefinedComparison, UndefinedEnvironmentName) as exc:
            notes.append(f"Requires-Dist {text!r} left out: its marker cannot be evaluated ({exc})")
            continue
        if canonicalize_name(req.name) == own:
            continue
        name = conda_name(req.name, name_map)
        specs[name] = specs.get(name, SpecifierSet()) & req.specifier
    run: list[str] = []
    for name, specifier in specs.items():
        try:
            version = conda_version_spec(specifier)
        except WheelError as exc:
            notes.append(f"{name}: version constraint left out ({exc})")
            version = ""
        run.append(f"{name} {version}" if version else name)
    return tuple(run), tuple(notes)
