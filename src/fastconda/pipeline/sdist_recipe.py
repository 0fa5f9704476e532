"""A v1 recipe made from the sdist's own metadata, for when grayskull cannot make one.

grayskull fails on real projects for reasons that are not the project's: it crashes while writing
its YAML (``RepresenterError`` on a URL object: fandango 16.1.2, pyhdbpp 2.1.3), or, offline, asks
GitHub for a licence it could not find. The sdist fastconda just built still holds what a recipe
needs, written by the project's own build backend: ``PKG-INFO`` (name, version, ``Requires-Dist``,
summary, licence, home page), the entry points (setuptools' ``*.egg-info/entry_points.txt`` in the
sdist, or ``[project.scripts]`` of its ``pyproject.toml``) and ``[build-system] requires``. The
recipe made here is what grayskull would have written for a noarch Python project; the facility
rules then apply to it as to grayskull's.

Nothing here runs the project's code. Text from the sdist goes into the recipe as YAML values
(quoted by ruamel), and a value that looks like an engine expression (``${{``) is left out.
"""

from __future__ import annotations

import configparser
import io
import tarfile
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from fastconda.channel.local import file_sha256
from fastconda.errors import RecipeError
from fastconda.pipeline.pkg_info import SdistMetadata, conda_requirements
from fastconda.wheel.specs import conda_name

MAX_MEMBER = 1024 * 1024  # bytes read of entry_points.txt / pyproject.toml
DEFAULT_BACKEND = ("setuptools >=40.8.0", "wheel")  # PEP 517's fallback when there is no [build-system]


def recipe_from_sdist(tarball: Path, metadata: SdistMetadata) -> tuple[str, list[str]]:
    """The v1 recipe text of a ``noarch: python`` package built from *tarball* with pip, and notes."""
    pyproject = _toml(_member(tarball, "pyproject.toml"))
    build_system = pyproject.get("build-system")
    backend = build_system.get("requires") if isinstance(build_system, dict) else None
    host, host_notes = conda_requirements(backend if isinstance(backend, list) else DEFAULT_BACKEND)
    run, _ = conda_requirements(metadata.requires_dist, own=metadata.name)
    del host_notes  # a build requirement that cannot be expressed is the engine's to report

    recipe = CommentedMap()
    recipe["context"] = CommentedMap(version=metadata.version)
    recipe["package"] = CommentedMap(name=conda_name(metadata.name), version="${{ version }}")
    recipe["source"] = CommentedMap(url=tarball.resolve().as_uri(), sha256=file_sha256(tarball))
    build = CommentedMap(number=0, noarch="python", script="$PYTHON -m pip install . -vv")
    scripts = _entry_points(tarball, pyproject)
    if scripts:
        build["python"] = CommentedMap(entry_points=CommentedSeq(scripts))
    recipe["build"] = build
    recipe["requirements"] = CommentedMap(
        host=CommentedSeq(["python", "pip", *host]),
        run=CommentedSeq(["python", *run]),
    )
    about = CommentedMap()
    license_expression, notes = _spdx(metadata.license)
    for key, value in (
        ("summary", metadata.summary),
        ("license", license_expression),
        ("homepage", metadata.homepage),
    ):
        if value and "${{" not in value and "\n" not in value:
            about[key] = value
    if about:
        recipe["about"] = about
    yaml = YAML()
    yaml.width = 4096
    out = io.StringIO()
    yaml.dump(recipe, out)
    return out.getvalue(), notes


def _spdx(text: str) -> tuple[str, list[str]]:
    """The licence as the engine takes it (an SPDX expression), or nothing and a note saying why."""
    if not text:
        return "", []
    try:
        return str(canonicalize_license_expression(text)), []
    except InvalidLicenseExpression:
        return "", [f"the sdist's licence {text!r} is not an SPDX expression: left out of the recipe"]


def _member(tarball: Path, name: str, *, folder_suffix: str = "") -> str:
    """The text of ``<top>/<name>`` (or ``<top>/[src/]<x><folder_suffix>/<name>``) in *tarball*; ''."""
    try:
        with tarfile.open(tarball) as tar:
            for member in tar:
                parts = member.name.strip("/").split("/")
                if not member.isfile() or parts[-1] != name:
                    continue
                inner = parts[1:-1]
                if folder_suffix:
                    if not inner or not inner[-1].endswith(folder_suffix) or len(inner) > 2:
                        continue
                elif inner:
                    continue
                handle = tar.extractfile(member)
                data = handle.read(MAX_MEMBER) if handle is not None else b""
                return data.decode("utf-8", errors="replace")
    except (OSError, tarfile.TarError, EOFError) as exc:
        msg = f"{tarball}: cannot read the sdist: {exc}"
        raise RecipeError(msg) from None
    return ""


def _toml(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text) if text else {}
    except tomllib.TOMLDecodeError:
        return {}


def _entry_points(tarball: Path, pyproject: dict[str, Any]) -> list[str]:
    """``name = module:function`` console scripts: setuptools' record in the sdist, else pyproject's."""
    found: list[str] = []
    text = _member(tarball, "entry_points.txt", folder_suffix=".egg-info")
    if text:
        parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]  # script names keep their case
        try:
            parser.read_string(text)
        except configparser.Error:
            return []
        for section in ("console_scripts", "gui_scripts"):
            if parser.has_section(section):
                found += _lines(parser.items(section))
        return found
    project = pyproject.get("project")
    poetry = pyproject.get("tool", {}).get("poetry") if isinstance(pyproject.get("tool"), dict) else None
    for table in (
        project.get("scripts") if isinstance(project, dict) else None,
        project.get("gui-scripts") if isinstance(project, dict) else None,
        poetry.get("scripts") if isinstance(poetry, dict) else None,
    ):
        if isinstance(table, dict):
            found += _lines((str(k), v) for k, v in table.items() if isinstance(v, str))
    return found


def _lines(items: Iterable[tuple[str, str]]) -> list[str]:
    # the deprecated extras suffix ("module:func [extra]") is not part of an entry point
    return [f"{name.strip()} = {value.split('[')[0].strip()}" for name, value in items if value.strip()]
