"""A session channel of converted real wheels, next to the seed channel, for the fast-path tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fastconda.channel.local import add_packages
from fastconda.wheel import CondaPackage, WheelOptions, wheels_to_conda
from tests.conftest import PYTHON_VERSION
from tests.helpers import ALL

__all__ = ["converted", "fast_channels", "wheel_channel"]

# for the seed channel's python: the interpreter that runs the tests
OPTIONS = WheelOptions(python=PYTHON_VERSION, platform="linux-64")


@pytest.fixture(scope="session")
def converted(
    real_wheel: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, CondaPackage]:
    """Every wheel of ``ALL`` converted once: requirement → package."""
    out = tmp_path_factory.mktemp("converted")
    wheels = [real_wheel(r) for r in ALL]
    packages = wheels_to_conda(wheels, out, OPTIONS)
    return dict(zip(ALL, packages, strict=True))


@pytest.fixture(scope="session")
def wheel_channel(converted: dict[str, CondaPackage], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local channel holding every converted wheel (listed before the seed channel in the tests)."""
    channel = tmp_path_factory.mktemp("wheel-channel") / "channel"
    add_packages(channel, [p.path for p in converted.values()])
    return channel


@pytest.fixture(scope="session")
def fast_channels(wheel_channel: Path, seed_channel: Path) -> list[str]:
    return [wheel_channel.resolve().as_uri(), seed_channel.resolve().as_uri()]
