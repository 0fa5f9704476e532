"""Core metadata of a wheel → conda name, version, depends, entry points and ``about.json``."""

from __future__ import annotations

import configparser
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import Message
from typing import Any

from packaging.markers import UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from fastconda.errors import WheelError
from fastconda.wheel.scripts import safe_script_name
from fastconda.wheel.source import WheelContents
from fastconda.wheel.specs import check_conda_name, conda_name, conda_version_spec, python_spec
from fastconda.wheel.target import Target

__all__ = ["EntryPoint", "PackageMetadata", "read_metadata", "safe_script_name"]

_ENTRY_POINT = re.compile(r"^(?P<module>[\w.]+)\s*(?::\s*(?P<attr>[\w.]+))?\s*(?:\[[^\]]*\])?\s*$")
_HOME_LABELS = ("homepage", "home", "source", "sourcecode", "repository", "code")
_DEV_LABELS = ("repository", "source", "sourcecode", "code", "github")
_DOC_LABELS = ("documentation", "docs", "doc")


@dataclass(frozen=True)
class EntryPoint:
    """A console or GUI script: ``name = module:attr``."""

    name: str
    module: str
    attr: str
    gui: bool

    def spec(self) -> str:
        return f"{self.name} = {self.module}:{self.attr}"


@dataclass(frozen=True)
class PackageMetadata:
    name: str
    version: str
    depends: tuple[str, ...]
    constrains: tuple[str, ...]
    entry_points: tuple[EntryPoint, ...]
    about: dict[str, Any]
    license: str | None
    warnings: tuple[str, ...]


def _dotted(target: str) -> bool:
    return all(part.isidentifier() for part in target.split("."))


def _entry_points(contents: WheelContents) -> tuple[EntryPoint, ...]:
    raw = contents.dist_info("entry_points.txt")
    if raw is None:
        return ()
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    try:
        parser.read_string(raw.decode("utf-8"))
    except (configparser.Error, UnicodeDecodeError) as exc:
        msg = f"{contents.filename}: unreadable entry_points.txt: {exc}"
        raise WheelError(msg) from None
    points: list[EntryPoint] = []
    for section, gui in (("console_scripts", False), ("gui_scripts", True)):
        if not parser.has_section(section):
            continue
        for name, value in parser.items(section):
            match = _ENTRY_POINT.match(value)
            if (
                not match
                or not match.group("attr")
                or not safe_script_name(name)
                or not all(_dotted(match.group(g)) for g in ("module", "attr"))
            ):
                msg = (
                    f"{contents.filename}: invalid {section} entry point {name!r} = {value!r}: the name "
                    "must be a plain file name, the target 'module:attr' dotted Python identifiers"
                )
                raise WheelError(msg)
            points.append(EntryPoint(name, match.group("module"), match.group("attr"), gui))
    return tuple(sorted(points, key=lambda p: p.name))


def _license(meta: Message) -> str | None:
    expression = meta.get("License-Expression")
    if expression:
        return str(expression).strip()
    text = str(meta.get("License") or "").strip()
    if text and "\n" not in text and len(text) <= 100 and text.upper() != "UNKNOWN":
        return text
    for classifier in meta.get_all("Classifier") or []:
        if str(classifier).startswith("License ::"):
            return str(classifier).split("::")[-1].strip()
    return None


def _about(meta: Message, license_: str | None) -> dict[str, Any]:
    urls: dict[str, str] = {}
    for item in meta.get_all("Project-URL") or []:
        label, _, url = str(item).partition(",")
        if url.strip():
            urls[label.strip()] = url.strip()
    by_key = {re.sub(r"[\s_.-]", "", k.lower()): v for k, v in urls.items()}

    def first(labels: Sequence[str]) -> str | None:
        return next((by_key[k] for k in labels if k in by_key), None)

    home = str(meta.get("Home-page") or "").strip() or first(_HOME_LABELS)
    about: dict[str, Any] = {
        "summary": str(meta.get("Summary") or "").strip(),
        "home": home or "",
        "dev_url": first(_DEV_LABELS) or "",
        "doc_url": first(_DOC_LABELS) or "",
        "license": license_ or "",
        "extra": {"project_urls": urls, "pypi_name": str(meta.get("Name") or "")},
    }
    return {k: v for k, v in about.items() if v}


def _version(contents: WheelContents) -> str:
    try:
        version = Version(str(contents.metadata.get("Version") or ""))
    except InvalidVersion:
        msg = f"{contents.filename}: METADATA has no valid Version"
        raise WheelError(msg) from None
    if version != Version(contents.version):
        msg = (
            f"{contents.filename}: METADATA version {version} differs from the file name ({contents.version})"
        )
        raise WheelError(msg)
    return str(version)


def _requirements(contents: WheelContents) -> list[Requirement]:
    reqs: list[Requirement] = []
    for text in contents.metadata.get_all("Requires-Dist") or []:
        try:
            reqs.append(Requirement(str(text)))
        except InvalidRequirement as exc:
            msg = f"{contents.filename}: invalid Requires-Dist {text!r}: {exc}"
            raise WheelError(msg) from None
    return reqs


def _active(req: Requirement, env: Mapping[str, str], extras: set[str]) -> bool:
    if req.marker is None:
        return True
    return any(req.marker.evaluate({**env, "extra": extra}) for extra in ("", *sorted(extras)))


def _select(
    contents: WheelContents, reqs: list[Requirement], env: Mapping[str, str], extras: set[str]
) -> tuple[list[Requirement], list[str]]:
    """Requirements that apply to ``env`` with ``extras``; self-references (``pkg[x]``) add extras."""
    own = canonicalize_name(contents.distribution)
    warnings: list[str] = []
    active = set(extras)
    while True:
        chosen: list[Requirement] = []
        warnings.clear()
        for req in reqs:
            try:
                use = _active(req, env, active)
            except (UndefinedComparison, UndefinedEnvironmentName) as exc:
                warnings.append(f"requirement {req} left out: its marker cannot be evaluated ({exc})")
                continue
            if use:
                chosen.append(req)
        own_reqs = [r for r in chosen if canonicalize_name(r.name) == own]
        grown = active | {canonicalize_name(e) for r in own_reqs for e in r.extras}
        if grown == active:
            return [r for r in chosen if canonicalize_name(r.name) != own], warnings
        active = grown


def _depends(
    contents: WheelContents, target: Target, name_map: Mapping[str, str], extras: Sequence[str]
) -> tuple[list[str], list[str]]:
    meta = contents.metadata
    wanted: set[str] = {canonicalize_name(e) for e in extras}
    provided = {canonicalize_name(str(e)) for e in meta.get_all("Provides-Extra") or []}
    warnings = [f"extra {e!r} is not provided by {contents.distribution}" for e in sorted(wanted - provided)]
    env = target.marker_environment(target.subdir if not target.noarch else "linux-64")
    chosen, more = _select(contents, _requirements(contents), env, wanted)
    warnings += more
    specs: dict[str, SpecifierSet] = {}
    for req in chosen:
        name = conda_name(req.name, name_map)
        if req.url:
            warnings.append(f"direct URL requirement {req} kept as plain {name!r}")
        if req.extras:
            warnings.append(
                f"extras {sorted(req.extras)} of dependency {req.name} are not expressible in conda"
            )
        # several requirements on one name (or names that map to one conda name) are merged
        specs[name] = specs.get(name, SpecifierSet()) & req.specifier
    requires_python = str(meta.get("Requires-Python") or "").strip()
    if requires_python and not target.python_free:
        try:
            ok = SpecifierSet(requires_python).contains(f"{target.python}.0", prereleases=True)
        except ValueError:
            msg = f"{contents.filename}: invalid Requires-Python {requires_python!r}"
            raise WheelError(msg) from None
        if not ok:
            msg = (
                f"{contents.filename}: requires Python {requires_python}, but the target is Python "
                f"{target.python}; pass a matching python version"
            )
            raise WheelError(msg)
    specs.pop("python", None)
    python: list[str] = []
    if target.python_free:
        pass  # nothing in it runs on Python
    elif target.noarch:
        python = [python_spec(requires_python)]
    else:
        major, minor = target.python.split(".")
        python = [
            f"python >={target.python},<{major}.{int(minor) + 1}.0a0",
            f"python_abi {target.python}.* *_cp{major}{minor}",
        ]
    translated = {n: conda_version_spec(s) for n, s in specs.items()}
    deps = [f"{n} {s}" if s else n for n, s in translated.items()]
    return sorted(python + deps), warnings


def read_metadata(
    contents: WheelContents, target: Target, name_map: Mapping[str, str], extras: Sequence[str]
) -> PackageMetadata:
    """Map the wheel's core metadata onto conda's for ``target``."""
    meta = contents.metadata
    own_name = str(meta.get("Name") or contents.distribution)
    if canonicalize_name(own_name) != canonicalize_name(contents.distribution):
        msg = f"{contents.filename}: METADATA name {own_name!r} differs from the file name"
        raise WheelError(msg)
    for value in name_map.values():
        check_conda_name(value, f"{contents.filename}: name map")
    depends, warnings = _depends(contents, target, name_map, extras)
    constrains = (f"__glibc >={target.glibc[0]}.{target.glibc[1]}",) if target.glibc else ()
    license_ = _license(meta)
    return PackageMetadata(
        name=conda_name(own_name, name_map),
        version=_version(contents),
        depends=tuple(depends),
        constrains=constrains,
        entry_points=_entry_points(contents),
        about=_about(meta, license_),
        license=license_,
        warnings=tuple(warnings),
    )
