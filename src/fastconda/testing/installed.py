"""What an installed conda package brings into a prefix: its files, importable top-level modules and
console scripts, read from ``conda-meta`` and the ``.dist-info`` folders.

Separate from :mod:`fastconda.testing.package` (which installs the package and runs the checks)
because it is pure discovery over files on disk: no process, no environment, testable with a list
of paths.
"""

from __future__ import annotations

import configparser
import dataclasses
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from fastconda.errors import PackageTestError
from fastconda.testing import toplevel

_SITE = re.compile(r"^lib/python3\.\d+/site-packages/(?P<rel>.+)$")


@dataclasses.dataclass(frozen=True)
class Installed:
    """What the installed package brings: its files, name and console scripts (with their extras)."""

    name: str
    version: str
    build: str
    files: tuple[str, ...]
    scripts: tuple[tuple[str, str, tuple[str, ...]], ...]  # (name, module, extras)


def top_level_modules(files: Iterable[str]) -> tuple[str, ...]:
    """Importable top-level names among installed ``files`` (paths relative to the prefix).

    Packages (folders with ``__init__``), modules (``.py``, extension ``.so``), and inside PEP 420
    namespace folders their packages and modules (``ns.pkg``): :mod:`fastconda.testing.toplevel`,
    which ``fastconda build``'s package test uses too.
    """
    in_site = (match.group("rel") for match in map(_SITE.match, files) if match)
    return toplevel.top_level_modules(in_site)


def _entry_points(prefix: Path, files: Sequence[str]) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    found: list[tuple[str, str, tuple[str, ...]]] = []
    for path in files:
        match = _SITE.match(path)
        parts = match.group("rel").split("/") if match else []
        if len(parts) != 2 or not parts[0].endswith(".dist-info") or parts[1] != "entry_points.txt":
            continue  # vendored copies (pkg/_vendor/x.dist-info) are not the package's scripts
        parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
        parser.optionxform = str  # type: ignore[assignment, method-assign]
        try:
            parser.read_string((prefix / path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, configparser.Error):
            continue  # the wheel stage validated it; a broken file shows up as a failing import
        if parser.has_section("console_scripts"):
            for name, value in parser.items("console_scripts"):
                target, _, extras = value.partition("[")
                names = tuple(e.strip() for e in extras.rstrip("] ").split(",") if e.strip())
                found.append((name, target.split(":")[0].strip(), names))
    return tuple(sorted(found))


def read_installed(prefix: Path, name: str) -> Installed:
    for record in sorted((prefix / "conda-meta").glob("*.json")):
        data = json.loads(record.read_text(encoding="utf-8"))
        if data.get("name") == name:
            files = tuple(str(f) for f in data.get("files", []))
            return Installed(
                name, str(data["version"]), str(data["build"]), files, _entry_points(prefix, files)
            )
    msg = f"{name} is not in the environment at {prefix} after installing it"
    raise PackageTestError(msg)
