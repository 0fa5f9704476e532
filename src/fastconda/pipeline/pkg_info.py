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
from collections.abc import Iterable, Mapping
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
    summary: str = ""
    license: str = ""  # License-Expression (SPDX), else a one-line License
    homepage: str = ""


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
    license_text = str(meta.get("License-Expression") or "").strip()
    if not license_text:
        license_text = str(meta.get("License") or "").strip()
        if "\n" in license_text or len(license_text) > 80 or license_text.upper() == "UNKNOWN":
            license_text = ""  # the licence's whole text, not its name
    homepage = str(meta.get("Home-page") or "").strip()
    if not homepage:
        for url in meta.get_all("Project-URL") or []:
            label, _, address = str(url).partition(",")
            if label.strip().lower() in {"homepage", "home", "source", "repository"}:
                homepage = address.strip()
                break
    return SdistMetadata(
        name,
        str(meta.get("Version") or "").strip(),
        requires,
        summary=str(meta.get("Summary") or "").strip(),
        license=license_text,
        homepage=homepage,
    )


def noarch_environment() -> dict[str, str]:
    """PEP 508 marker values for a ``noarch: python`` package: this Python, on Linux."""
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    return Target(python=python, noarch=True, subdir="noarch").marker_environment("linux-64")


def run_requirements(
    metadata: SdistMetadata, name_map: Mapping[str, str] | None = None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """conda run requirements from ``Requires-Dist`` for a ``noarch: python`` target, and notes."""
    return conda_requirements(metadata.requires_dist, own=metadata.name, name_map=name_map)


def conda_requirements(
    requirements: Iterable[str], *, own: str = "", name_map: Mapping[str, str] | None = None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """conda requirements from PEP 508 *requirements* for a ``noarch: python`` target, and notes.

    Markers are evaluated for the target (``python_version < "3"`` drops a Python 2 backport);
    requirements only for an extra are dropped (no extra is installed); a requirement on *own*
    (the project itself) is dropped; names go through the wheel stage's PyPI → conda name map.
    Several requirements on one name are merged.
    """
    env = noarch_environment()
    own_key = canonicalize_name(own) if own else None
    notes: list[str] = []
    specs: dict[str, SpecifierSet] = {}
    for text in requirements:
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            notes.append(f"requirement {text!r} left out: {exc}")
            continue
        try:
            if req.marker is not None and not req.marker.evaluate({**env, "extra": ""}):
                continue
        except (UndefinedComparison, UndefinedEnvironmentName) as exc:
            notes.append(f"requirement {text!r} left out: its marker cannot be evaluated ({exc})")
            continue
        if canonicalize_name(req.name) == own_key:
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
