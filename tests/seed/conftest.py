"""Fixtures for the C++ seed channel: the ``cxx`` profile bootstrapped once per session.

The channel lives in ``<repo>/.cache/test-seed/cxx``; ``./dev.sh test`` bootstraps it before the tests run
with the network off (its .debs come from ``apt-get download``, its tools from PyPI wheels), so here the
bootstrap is a no-op unless an input changed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import CACHE

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
