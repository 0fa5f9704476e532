"""Real wheels from PyPI convert into valid packages with the expected metadata."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from rattler.package import IndexJson, PathsJson

from fastconda.wheel import CondaPackage, WheelOptions, wheel_to_conda
from tests.conftest import CPYTHON_TAG, PYTHON_VERSION
from tests.helpers import BINARY, PURE, SITE_PACKAGES
from tests.wheel.wheelmaker import read_conda

PLACEHOLDER = "/opt/anaconda1anaconda2anaconda3"
# the wheels are the running Python's (see the real_wheel fixture)
OPTIONS = WheelOptions(python=PYTHON_VERSION, platform="linux-64")
NEXT = f"{sys.version_info.major}.{sys.version_info.minor + 1}"
PINS = (f"python >={PYTHON_VERSION},<{NEXT}.0a0", f"python_abi {PYTHON_VERSION}.* *_{CPYTHON_TAG}")


def _check_valid(package: CondaPackage) -> None:
    """rattler reads the archive, and paths.json agrees with the payload."""
    index = IndexJson.from_package_archive(package.path)
    assert index.name.normalized == package.name
    assert str(index.version) == package.version
    assert str(index.build) == package.build
    assert index.depends == list(package.depends)
    rattler_paths = PathsJson.from_package_archive(package.path)
    conda = read_conda(package.path)
    assert sorted(str(p.relative_path) for p in rattler_paths.paths) == sorted(conda.pkg)
    for entry in conda.json("paths.json")["paths"]:
        data = conda.pkg[entry["_path"]]
        assert entry["sha256"] == hashlib.sha256(data).hexdigest(), entry["_path"]
        assert entry["size_in_bytes"] == len(data)
    assert package.sha256 == hashlib.sha256(package.path.read_bytes()).hexdigest()


@pytest.mark.parametrize("requirement", PURE)
def test_pure_wheel_converts_to_a_valid_noarch_package(
    requirement: str, real_wheel: Callable[[str], Path], tmp_path: Path
) -> None:
    package = wheel_to_conda(real_wheel(requirement), tmp_path, OPTIONS)
    _check_valid(package)
    assert package.subdir == "noarch"
    assert package.path.parent == tmp_path
    conda = read_conda(package.path)
    assert conda.json("index.json")["noarch"] == "python"
    assert all(p.startswith(("site-packages/", "python-scripts/")) for p in conda.pkg)
    assert conda.json("link.json")["noarch"]["entry_points"] == list(package.entry_points)
    assert any(d.startswith("python") for d in package.depends)


@pytest.mark.parametrize("requirement", BINARY)
def test_binary_wheel_converts_to_a_valid_linux_package(
    requirement: str, real_wheel: Callable[[str], Path], tmp_path: Path
) -> None:
    package = wheel_to_conda(real_wheel(requirement), tmp_path, OPTIONS)
    _check_valid(package)
    assert package.subdir == "linux-64"
    assert package.build.startswith(f"py{CPYTHON_TAG[2:]}h")
    assert set(PINS) <= set(package.depends)
    conda = read_conda(package.path)
    assert all(p.startswith((f"{SITE_PACKAGES}/", "bin/")) for p in conda.pkg)
    for point in package.entry_points:
        script = f"bin/{point.split(' = ')[0]}"
        assert conda.pkg[script].startswith(f"#!{PLACEHOLDER}/bin/python\n".encode())
        assert conda.modes[script] == 0o755


def test_entry_points_of_pure_build_tools(real_wheel: Callable[[str], Path], tmp_path: Path) -> None:
    pip = wheel_to_conda(real_wheel("pip==26.3"), tmp_path, OPTIONS)
    assert "pip = pip._internal.cli.main:cli" in pip.entry_points
    assert pip.depends == ("python >=3.10",)
    hatchling = wheel_to_conda(real_wheel("hatchling==1.33.0"), tmp_path, OPTIONS)
    assert hatchling.entry_points == ("hatchling = hatchling.cli:hatchling",)
    assert not any(d.startswith("tomli ") for d in hatchling.depends), "tomli is only for python < 3.11"
    assert "trove-classifiers" in hatchling.depends


def test_pytango_depends_use_conda_names(real_wheel: Callable[[str], Path], tmp_path: Path) -> None:
    package = wheel_to_conda(real_wheel("pytango==10.3.1"), tmp_path, OPTIONS)
    assert package.name == "pytango"
    assert package.depends == (
        "docstring_parser",
        "numpy >=1.19.3,<3a0",
        "packaging",
        "psutil >=5.3.0",
        *PINS,
        # its Requires-Dist marker: python_version < "3.13", evaluated for the target Python
        *(["typing_extensions >=4.5.0"] if sys.version_info < (3, 13) else []),
    )
    index = read_conda(package.path).json("index.json")
    assert index["constrains"] == ["__glibc >=2.28"]
    assert (index["platform"], index["arch"]) == ("linux", "x86_64")


def test_typing_extensions_name_is_the_same_as_in_dependents(
    real_wheel: Callable[[str], Path], tmp_path: Path
) -> None:
    package = wheel_to_conda(real_wheel("typing-extensions==4.16.0"), tmp_path, OPTIONS)
    assert package.name == "typing_extensions"


def test_extras_and_markers_of_a_real_wheel(real_wheel: Callable[[str], Path], tmp_path: Path) -> None:
    plain = wheel_to_conda(real_wheel("rich==15.0.0"), tmp_path / "a", OPTIONS)
    assert not any(d.startswith("ipywidgets") for d in plain.depends)
    jupyter = wheel_to_conda(real_wheel("rich==15.0.0"), tmp_path / "b", WheelOptions(extras=("jupyter",)))
    assert "ipywidgets >=7.5.1,<9a0" in jupyter.depends


def test_black_binary_console_scripts(real_wheel: Callable[[str], Path], tmp_path: Path) -> None:
    package = wheel_to_conda(real_wheel("black==26.10.1"), tmp_path, OPTIONS)
    assert package.entry_points == ("black = black:patched_main", "blackd = blackd:patched_main")
    conda = read_conda(package.path)
    assert f"{PLACEHOLDER} text bin/black" in conda.info["info/has_prefix"].decode()
    assert "mypy_extensions >=0.4.3" in package.depends


@pytest.mark.parametrize("requirement", ["numpy==2.4.6", "pytango==10.3.1", "pip==26.3"])
def test_conversion_is_deterministic(
    requirement: str, real_wheel: Callable[[str], Path], tmp_path: Path
) -> None:
    # speed is measured in benchmarks/, not asserted here
    wheel = real_wheel(requirement)
    first = wheel_to_conda(wheel, tmp_path / "a", OPTIONS)
    second = wheel_to_conda(wheel, tmp_path / "b", OPTIONS)
    assert first.sha256 == second.sha256
