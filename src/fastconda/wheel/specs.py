"""PEP 440 version specifiers → conda version specs, and PyPI names → conda names.

Translation table (``V`` is normalised by ``packaging``):

==========================  ==================================  =========================================
PEP 440                     conda                               why
==========================  ==================================  =========================================
``==V`` / ``!=V``           ``==V`` / ``!=V``                   same meaning; conda also pads zeros
``==V.*`` / ``!=V.*``       ``V.*`` / ``!=V.*``                 prefix match
``~=X.Y.Z``                 ``>=X.Y.Z,X.Y.*``                   compatible release spelled out
``<V`` (V final)            ``<Va0``                            PEP 440 excludes pre-releases of V itself
``<V`` (V pre/dev), ``>``,  unchanged
``>=``, ``<=``
``===S``                    ``==S``                             arbitrary equality, best effort
==========================  ==================================  =========================================

Known differences that cannot be expressed in a conda spec: PEP 440 ``==V`` also matches ``V+local`` and
``>V`` excludes ``V.postN``; conda channels almost never hold such versions.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, Specifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from fastconda.errors import WheelError

__all__ = [
    "builtin_name_map",
    "check_conda_name",
    "conda_name",
    "conda_version_spec",
    "load_name_map",
    "normalize_name",
    "python_spec",
]

_NORMALIZE = re.compile(r"[-_.]+")
#: conda's (and rattler's) package names: lowercase letters, digits, ``-``, ``_``, ``.``; no leading dot
#: or dash. The name becomes a file name and goes into index.json and every solver's specs.
_CONDA_NAME = re.compile(r"^[a-z0-9_][a-z0-9_.\-]{0,127}$")
# lower bounds first, then pins and exclusions, then upper bounds: ">=1.2,!=1.5,<2a0"
_ORDER = {">=": 0, ">": 0, "~=": 0, "==": 1, "===": 1, "!=": 2, "<=": 3, "<": 3}


def check_conda_name(name: str, where: str) -> str:
    """*name* when it is a valid conda package name, else a :class:`WheelError` naming *where*."""
    if not _CONDA_NAME.match(name):
        msg = (
            f"{where}: {name!r} is not a conda package name (lowercase letters, digits, '-', '_' and '.', "
            "not starting with '.' or '-')"
        )
        raise WheelError(msg)
    return name


def normalize_name(name: str) -> str:
    """PEP 503 normalisation: lowercase, runs of ``-``, ``_`` and ``.`` become one ``-``."""
    return _NORMALIZE.sub("-", name).lower()


@cache
def builtin_name_map() -> Mapping[str, str]:
    """The built-in PyPI → conda name table (``names.toml`` shipped in this package)."""
    text = files("fastconda.wheel").joinpath("names.toml").read_text(encoding="utf-8")
    table = tomllib.loads(text)["names"]
    return {normalize_name(k): str(v) for k, v in table.items()}


def _parse_mapping_file(path: Path, text: str) -> Any:
    suffix = path.suffix.lower()
    if suffix == ".toml":
        return tomllib.loads(text)
    if suffix == ".json":
        return json.loads(text)
    if suffix in (".yaml", ".yml"):
        from ruamel.yaml import YAML
        from ruamel.yaml.error import YAMLError

        try:
            return YAML(typ="safe", pure=True).load(text)
        except YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            msg = f"{path}: not valid YAML{where}: {getattr(exc, 'problem', None) or exc}"
            raise WheelError(msg) from None
    msg = f"{path}: unknown name map format {suffix!r}; use a .toml, .yaml/.yml or .json file"
    raise WheelError(msg)


def load_name_map(path: Path) -> dict[str, str]:
    """A user's PyPI → conda name map: a TOML, YAML or JSON mapping, at the top or under ``names``.

    Keys are PyPI names (normalised here), values conda names, as in the built-in ``names.toml``.
    """
    try:
        data = _parse_mapping_file(path, path.read_text(encoding="utf-8"))
    except OSError as exc:
        msg = f"cannot read name map {path}: {exc.strerror or exc}"
        raise WheelError(msg) from None
    except ValueError as exc:  # TOMLDecodeError, JSONDecodeError, UnicodeDecodeError
        msg = f"{path}: not a valid name map: {exc}"
        raise WheelError(msg) from None
    if isinstance(data, dict) and set(data) == {"names"}:
        data = data["names"]
    if not isinstance(data, dict):
        msg = f"{path}: a name map must be a mapping of PyPI names to conda names"
        raise WheelError(msg)
    bad = [f"{k}" for k, v in data.items() if not isinstance(k, str) or not isinstance(v, str) or not v]
    if bad:
        msg = f"{path}: every entry must map a PyPI name to a conda name (string); check {', '.join(bad[:5])}"
        raise WheelError(msg)
    return {normalize_name(k): check_conda_name(v.strip(), str(path)) for k, v in data.items()}


def conda_name(pypi_name: str, name_map: Mapping[str, str] | None = None) -> str:
    """Conda name of PyPI project ``pypi_name``: normalised, then mapped (``name_map`` beats the table)."""
    key = normalize_name(pypi_name)
    for raw, value in (name_map or {}).items():
        if normalize_name(raw) == key:
            return value
    return builtin_name_map().get(key, key)


def _strip_zeros(version: Version) -> str:
    """``V`` without trailing zero release parts (``3.0.0`` → ``3``), keeping the epoch."""
    release = list(version.release)
    while len(release) > 1 and release[-1] == 0:
        release.pop()
    text = ".".join(str(p) for p in release)
    return f"{version.epoch}!{text}" if version.epoch else text


def _one(spec: Specifier) -> str:
    op, raw = spec.operator, spec.version
    if op == "===":
        return f"=={raw}"
    if raw.endswith(".*"):
        prefix = str(Version(raw[:-2]))
        return f"{prefix}.*" if op == "==" else f"!={prefix}.*"
    version = Version(raw)
    if op == "~=":
        release = version.release[:-1]
        prefix = ".".join(str(p) for p in release)
        if version.epoch:
            prefix = f"{version.epoch}!{prefix}"
        return f">={version},{prefix}.*"
    if op == "<" and not version.is_prerelease and not version.is_postrelease and version.local is None:
        return f"<{_strip_zeros(version)}a0"
    return f"{op}{version}"


def conda_version_spec(specifier: SpecifierSet | str) -> str:
    """Translate a PEP 440 specifier set into a conda version spec ('' for no constraint)."""
    try:
        spec_set = SpecifierSet(str(specifier))
    except InvalidSpecifier as exc:
        msg = f"invalid version specifier {specifier!r}: {exc}"
        raise WheelError(msg) from None
    try:
        parts = [_one(s) for s in sorted(spec_set, key=lambda s: (_ORDER.get(s.operator, 9), s.version))]
    except InvalidVersion as exc:
        msg = f"cannot translate version specifier {specifier!r}: {exc}"
        raise WheelError(msg) from None
    return ",".join(parts)


def python_spec(requires_python: str | None) -> str:
    """``python`` match spec for a Requires-Python value (``python`` alone when there is none)."""
    if not requires_python or not requires_python.strip():
        return "python"
    spec = conda_version_spec(requires_python.strip())
    return f"python {spec}" if spec else "python"
