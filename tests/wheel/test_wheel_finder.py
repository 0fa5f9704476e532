"""Which wheel fills a conda requirement: names read backwards through the name map, rattler's version
semantics, and the target's tags (wheels made in the test; real rattler)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastconda.errors import WheelError
from fastconda.wheel.finder import find_wheel, pypi_names, wanted
from tests.wheel.wheelmaker import make_wheel


@pytest.mark.parametrize(
    ("spec", "pip"),
    [
        ("setuptools <81", "setuptools<81"),
        ("requests >=2.30,<3", "requests>=2.30,<3"),
        ("numpy 1.26.*", "numpy==1.26.*"),
        ("numpy ==1.26.4", "numpy==1.26.4"),
        ("idna !=3.1", "idna!=3.1"),
        ("attrs >=1|<0.5", "attrs"),  # conda alternatives have no PEP 440 spelling: any version
        ("typing_extensions >=4", "typing-extensions>=4"),  # the PyPI name from the built-in table
        ("plain", "plain"),
    ],
)
def test_conda_requirement_becomes_the_pip_requirement(spec: str, pip: str) -> None:
    assert wanted(spec).pep440() == pip


def test_versions_are_tested_with_rattlers_semantics() -> None:
    want = wanted("setuptools <81")
    assert want.accepts("80.9.0")
    assert not want.accepts("84.2.1")
    assert wanted("numpy 1.26.*").accepts("1.26.4")
    assert not wanted("numpy ==1.26").accepts("1.26.4")  # rattler reads ==1.26 as exactly 1.26
    assert wanted("anything").accepts("0.0.1")


def test_user_map_is_read_backwards_before_the_builtin_table() -> None:
    assert pypi_names("facility-helper", {"Tango_Helper.Lib": "facility-helper"}) == (
        "tango-helper-lib",
        "facility-helper",
    )
    assert pypi_names("typing_extensions")[0] == "typing-extensions"


def test_a_malformed_requirement_is_a_clear_error() -> None:
    with pytest.raises(WheelError, match="is not a conda requirement"):
        wanted("foo >>=1")


def test_the_highest_compatible_version_of_the_first_folder_with_one_wins(tmp_path: Path) -> None:
    cache, house = tmp_path / "cache", tmp_path / "house"
    cache.mkdir()
    house.mkdir()
    make_wheel(house, "tool", "3.0")
    make_wheel(house, "tool", "2.0")
    make_wheel(house, "tool", "4.0", tag="cp39-cp39-manylinux_2_17_x86_64")  # another CPython
    make_wheel(house, "tool", "5.0", tag="cp311-cp311-win_amd64")  # another platform
    folders = [("wheel cache", cache), ("wheelhouse", house)]
    found = find_wheel(wanted("tool"), folders, python="3.11", platform="linux-64")
    assert found is not None
    assert (found.version, found.source) == ("3.0", "wheelhouse")
    assert find_wheel(wanted("tool <3"), folders, python="3.11", platform="linux-64").version == "2.0"  # type: ignore[union-attr]
    make_wheel(cache, "tool", "1.0")
    found = find_wheel(wanted("tool"), folders, python="3.11", platform="linux-64")
    assert found is not None
    assert (found.version, found.source) == ("1.0", "wheel cache")  # the cache is searched first
    assert find_wheel(wanted("tool >=9"), folders, python="3.11", platform="linux-64") is None
