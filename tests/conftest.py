"""Session-wide setup: every test runs offline against caches inside the repository.

- ``FASTCONDA_CACHE_DIR`` and ``RATTLER_CACHE_DIR`` point into ``<repo>/.cache`` so tests never
  read or pollute the user's caches, and stay warm between runs.
- ``seed_channel`` bootstraps the tango seed channel once per session (a no-op when its inputs
  did not change since the last session). Its wheels must be in the wheel cache: CI fetches them
  before running the tests with the network switched off.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("FASTCONDA_TEST_CACHE", REPO / ".cache"))

os.environ.setdefault("FASTCONDA_CACHE_DIR", str(CACHE / "fastconda"))
os.environ.setdefault("RATTLER_CACHE_DIR", str(CACHE / "rattler"))


@pytest.fixture(scope="session")
def seed_channel() -> Iterator[Path]:
    """The tango-profile seed channel (python, pip, build backends, pytango, numpy)."""
    from fastconda.seed import bootstrap
    from fastconda.settings import load_settings

    channel = CACHE / "test-seed" / "tango"
    settings = load_settings(overrides={"offline": os.environ.get("FASTCONDA_OFFLINE", "") or None})
    bootstrap(channel, "tango", settings)
    yield channel


@pytest.fixture
def seed_url(seed_channel: Path) -> str:
    return seed_channel.resolve().as_uri()


CXX_CHANNEL = CACHE / "test-seed" / "cxx"


def _missing_host_tools() -> str:
    for tool, why in (
        ("apt-get", "the cxx seed profile fetches Debian's Tango C++ packages with apt-get download"),
        ("dpkg-deb", "the cxx seed profile unpacks Debian's .debs with dpkg-deb"),
        ("g++", "the cxx seed profile wraps the host's g++ (apt-get install g++)"),
    ):
        if shutil.which(tool) is None:
            return f"no {tool} on this machine: {why}"
    return ""


MISSING = _missing_host_tools()
needs_debian = pytest.mark.skipif(bool(MISSING), reason=MISSING or "-")


@pytest.fixture(scope="session")
def cxx_channel() -> Path:
    """The cxx-profile seed channel (tango profile + cmake, ninja, compiler stand-ins, cpptango, ...)."""
    if MISSING:
        pytest.skip(MISSING)
    from fastconda.seed import bootstrap
    from fastconda.settings import load_settings

    settings = load_settings(overrides={"offline": os.environ.get("FASTCONDA_OFFLINE", "") or None})
    bootstrap(CXX_CHANNEL, "cxx", settings)
    return CXX_CHANNEL
