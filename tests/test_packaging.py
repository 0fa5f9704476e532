"""fastconda's own packaging: templates ship inside the wheel and load through importlib.resources, every
module the package imports at run time comes from a runtime dependency, and a plain install of the wheel
(no extras) runs every command and builds a real package offline."""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from fastconda.cli import build_parser
from fastconda.errors import SeedError
from fastconda.seed.wheelcache import resolve_wheels
from fastconda.settings import load_settings
from fastconda.templates import read_template
from tests.conftest import INSTALL_WHEELS, REPO, missing_component, runtime_requirements
from tests.helpers import EXAMPLE


def test_every_python_package_is_listed_in_pyproject() -> None:
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(REPO / "src").parts)
        for p in (REPO / "src" / "fastconda").rglob("__init__.py")
    }
    for top in ("recipe_templates", "cmake_templates"):  # data folders ship as packages too
        found |= {
            ".".join(("fastconda", *d.relative_to(REPO).parts))
            for d in [REPO / top, *(REPO / top).rglob("*")]
            if d.is_dir() and d.name != "__pycache__"
        }
    assert listed == found


def _imported_top_levels(root: Path) -> set[str]:
    """Top-level modules imported by the code under *root*; in ``try: import a / except ImportError:
    import b`` only the fallback counts (``a`` is optional: e.g. a stdlib module of newer Pythons)."""
    names: set[str] = set()
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        optional = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.Try)
            and any(isinstance(h.type, ast.Name) and h.type.id == "ImportError" for h in node.handlers)
            for statement in node.body
            for inner in ast.walk(statement)
        }
        for node in ast.walk(tree):
            if id(node) in optional:
                continue
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def test_every_module_imported_at_run_time_comes_from_a_runtime_dependency() -> None:
    """`pip install fastconda` must be enough: an import served only by an extra is a traceback for users."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = {canonicalize_name(Requirement(r).name) for r in pyproject["dependencies"]}
    providers = metadata.packages_distributions()
    third_party = (
        _imported_top_levels(REPO / "src" / "fastconda") - set(sys.stdlib_module_names) - {"fastconda"}
    )
    assert third_party, "no third-party import found: the scan is broken"
    missing = {
        name: providers.get(name, ["(not installed)"])
        for name in sorted(third_party)
        if not declared & {canonicalize_name(d) for d in providers.get(name, [])}
    }
    assert not missing, f"imported at run time but not a runtime dependency: {missing}"


def test_templates_load_from_the_installed_package() -> None:
    assert "python_abi" in read_template("recipe", "seed/python.yaml")


@pytest.mark.slow
def test_wheel_ships_the_templates_and_they_load_in_a_fresh_venv(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", dist, REPO],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = dist.glob("fastconda-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    # install without dependencies and without pip: `installer` is what pip uses underneath
    subprocess.run(
        [sys.executable, "-m", "installer", "--prefix", venv, wheel],
        check=True, capture_output=True,
    )  # fmt: skip
    probe = (
        "import importlib.resources as r, fastconda.templates as t;"
        "print(r.files('fastconda.recipe_templates').joinpath('seed/profiles.toml').is_file());"
        "print('python_abi' in t.read_template('recipe', 'seed/python.yaml'))"
    )
    out = subprocess.run([venv / "bin" / "python", "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True"]


def _command_paths(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command of the CLI: ``()``, ``("build",)``, ``("channel", "bootstrap")``, ..."""
    yield path
    for action in parser._actions:  # argparse has no public walk of its subcommands
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _command_paths(sub, (*path, name))


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without what would let the bare venv see the test venv."""
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}}
    return {**env, **extra}


@pytest.mark.slow
def test_a_plain_install_of_the_wheel_answers_every_help_and_builds_a_real_package_offline(
    seed_channel: Path, tmp_path: Path
) -> None:
    """`pip install fastconda` is enough: its wheel, installed with its runtime dependencies only (no
    extras, nothing else) into a venv without pip, runs `--help` of every command and a real offline
    `fastconda build` of the bundled PyTango server, with a cache of its own (its build environment made
    by this install). The dependency wheels come from ``python -m tests.fetch`` (this runs offline)."""
    try:
        wheels = resolve_wheels(runtime_requirements(), INSTALL_WHEELS, offline=True)
    except SeedError as exc:
        missing_component(f"fastconda's runtime dependencies are not fetched ({exc.args[0].splitlines()[0]})")
    assert wheels
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", dist, REPO],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = dist.glob("fastconda-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    install = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--quiet"]
    install += ["--disable-pip-version-check", "--no-index", "--find-links", str(INSTALL_WHEELS), str(wheel)]
    done = subprocess.run(install, capture_output=True, text=True, check=False, env=_clean_env())
    assert done.returncode == 0, done.stdout + done.stderr
    fastconda = venv / "bin" / "fastconda"

    commands = list(_command_paths(build_parser()))
    assert ("channel", "bootstrap") in commands and len(commands) > 12

    def ask_help(path: tuple[str, ...]) -> tuple[tuple[str, ...], subprocess.CompletedProcess[str]]:
        argv = [str(fastconda), *path, "--help"]
        return path, subprocess.run(argv, capture_output=True, text=True, check=False, env=_clean_env())

    with ThreadPoolExecutor(max_workers=2) as pool:
        for path, answer in pool.map(ask_help, commands):
            shown = " ".join(("fastconda", *path))
            assert answer.returncode == 0, f"{shown} --help: {answer.stderr}"
            assert answer.stdout.startswith(f"usage: {shown}"), f"{shown} --help: {answer.stdout[:200]}"

    project = Path(shutil.copytree(EXAMPLE, tmp_path / "pytango-powersupply"))
    out = tmp_path / "channel"
    env = _clean_env(
        FASTCONDA_CACHE_DIR=str(tmp_path / "cache"),  # a fresh cache: the build environment is made here
        FASTCONDA_WHEEL_CACHE=str(load_settings().wheel_cache_dir),  # the tests' (the seed's wheels)
    )
    argv = [str(fastconda), "build", str(project), "-c", str(seed_channel), "-o", str(out), "--offline"]
    done = subprocess.run(
        [*argv, "--json"], capture_output=True, text=True, check=False, env=env, cwd=tmp_path, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    result = json.loads(done.stdout)
    package = Path(result["package"])
    assert package.parent == out / "noarch" and package.is_file()
    assert package.name.startswith("tango-powersupply-1.2.0-")
    assert [(t["command"], t["passed"]) for t in result["tests"]] == [
        ("python fastconda_check.py --dist tango-powersupply", True),
        ("PowerSupply --help", True),
    ]
