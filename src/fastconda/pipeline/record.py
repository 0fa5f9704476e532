"""The build record and skip cache: a build whose inputs (sources, git describe, options) did not
change, and whose package is still in the channel and listed in its index, is not built again."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tomllib
from pathlib import Path

from fastconda import __version__
from fastconda.channel import local as channels
from fastconda.cxx.recipe_route import read_server
from fastconda.errors import FastcondaError
from fastconda.pipeline import recipe_env
from fastconda.pipeline.options import BuildOptions, BuildResult
from fastconda.pipeline.project import Kind, Project

IGNORED = {".git", ".hg", ".venv", "venv", "build", "dist", "__pycache__", ".pytest_cache", ".mypy_cache",
           ".ruff_cache", ".tox", ".nox", ".cache", "output"}  # fmt: skip


def inputs_key(project: Project, options: BuildOptions, recipe: Path | None) -> str:
    digest = hashlib.sha256()
    parts = [__version__, repr(options.channels), repr(options.rules), str(options.test), str(recipe)]
    parts += [repr(options.pins), options.via]
    outside: list[Path] = []  # what a C++ server compiles from beside its folder
    if project.kind is Kind.CMAKE:  # the C++ server's package tests
        parts += [options.start_check, repr(options.test_commands), repr(options.host_requires)]
        if recipe is None:
            outside = read_server(project.root).outside_paths()
    if options.set_inputs:  # a member of a project set: the set's packages it builds against
        parts.append(repr(options.set_inputs))
    for part in parts:
        digest.update(part.encode() + b"\0")
    for top in [project.root, *outside]:
        for file in _source_files(top) if top.is_dir() else [top]:
            digest.update(os.path.relpath(file, project.root).encode() + b"\0")
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    if not _static_version(project, recipe):  # versions from git tags change with the commit
        digest.update(_git_head(project.root).encode())
    for name in recipe_env.read_names(recipe) if recipe is not None else []:  # PKG_VERSION, SDIST, ...
        digest.update(f"\0{name}={os.environ.get(name)!r}".encode())
    return digest.hexdigest()[:24]


def _source_files(root: Path) -> list[Path]:
    files: list[Path] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED and not d.endswith(".egg-info"))
        files += [Path(folder) / n for n in sorted(names) if not n.endswith((".pyc", ".conda"))]
    return files


def _static_version(project: Project, recipe: Path | None) -> bool:
    """Whether the version is written in the project (pyproject's ``[project] version``, CMake's
    ``project(... VERSION)``): then the commit is no input, and a commit elsewhere in the repository
    (a monorepo of many projects) or a change there (``git describe --dirty``) rebuilds nothing."""
    if recipe is not None:  # a recipe may read the git describe (conda-build's GIT_DESCRIBE_*)
        return False
    if project.kind is Kind.CMAKE:
        return True
    try:
        table = tomllib.loads((project.root / "pyproject.toml").read_text(encoding="utf-8")).get(
            "project", {}
        )
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    dynamic = table.get("dynamic", []) if isinstance(table, dict) else []
    return isinstance(table, dict) and isinstance(table.get("version"), str) and "version" not in dynamic


def _git_head(root: Path) -> str:
    try:
        done = subprocess.run(
            ["git", "describe", "--tags", "--always", "--dirty"], cwd=root, capture_output=True, text=True,
            timeout=30, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip()


def still_there(record_file: Path, output: Path) -> BuildResult | None:
    try:
        record = json.loads(record_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    package = Path(record["package"])
    if package.parent.parent.resolve() != output.resolve() or not package.is_file():
        return None
    if channels.file_sha256(package) != record["sha256"]:
        return None
    if channels.listed_sha256(package) != record["sha256"]:
        # the file is there but the index does not list it (a writer was killed): list it now
        try:
            channels.add_packages(output, [package])
        except FastcondaError:  # listed with other content: rebuild, and let the add say why it refuses
            return None
    return BuildResult(
        package=package,
        name=record["name"],
        version=record["version"],
        sha256=record["sha256"],
        skipped=True,
        phases={},
        recipe=record.get("recipe", ""),
        notes=("nothing changed since the last successful build (use --force to rebuild)",),
    )
