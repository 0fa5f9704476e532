"""fastconda's own packaging: templates ship inside the wheel and load through importlib.resources."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

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
