"""fastconda's own packaging: templates ship inside the wheel and load through importlib.resources, and every
module the package imports at run time comes from a runtime dependency."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from fastconda.templates import read_template
from tests.conftest import REPO


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
