"""Fixtures for the C++ Tango tests: the bundled Pogo example, Tango development files, a PyTango client."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

EXAMPLE = REPO / "examples" / "pogo-powermeter"


def _has_tango_dev() -> bool:
    if shutil.which("pkg-config") is None or shutil.which("cmake") is None:
        return False
    return subprocess.run(["pkg-config", "--exists", "tango"], check=False).returncode == 0


needs_tango_dev = pytest.mark.skipif(
    not _has_tango_dev(),
    reason="needs cmake, pkg-config and Tango's C++ development files (./dev.sh installs libtango-dev)",
)


@pytest.fixture
def pogo_project(tmp_path: Path) -> Path:
    """A fresh copy of the bundled Pogo example (tests never write into the repository)."""
    return Path(shutil.copytree(EXAMPLE, tmp_path / "PowerMeter"))
