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
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("FASTCONDA_TEST_CACHE", REPO / ".cache"))

os.environ.setdefault("FASTCONDA_CACHE_DIR", str(CACHE / "fastconda"))
os.environ.setdefault("RATTLER_CACHE_DIR", str(CACHE / "rattler"))


@pytest.fixture(scope="session")
def seed_channel() -> Iterator[Path]:
    """The tango-profile seed channel (python, pip, build backends, pytango, numpy)."""
    from fastconda.seed.bootstrap import bootstrap
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
    from fastconda.seed.bootstrap import bootstrap
    from fastconda.settings import load_settings

    settings = load_settings(overrides={"offline": os.environ.get("FASTCONDA_OFFLINE", "") or None})
    bootstrap(CXX_CHANNEL, "cxx", settings)
    return CXX_CHANNEL


WHEEL_CACHE = Path(os.environ.get("FASTCONDA_TEST_WHEELS", REPO / ".cache" / "test-wheels"))

# Binary wheels are fetched for CPython 3.11 on x86_64 Linux, the deployment target.
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux2010_x86_64")


def _cached(requirement: str) -> Path | None:
    name, _, version = requirement.partition("==")
    stem = f"{name.replace('-', '_').lower()}-{version}-"
    matches = sorted(p for p in WHEEL_CACHE.glob("*.whl") if p.name.lower().startswith(stem))
    return matches[0] if matches else None


def _download(requirement: str) -> str:
    command = [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--no-deps", "--quiet"]
    command += ["--disable-pip-version-check", "-d", str(WHEEL_CACHE), "--python-version", "3.11"]
    command += ["--implementation", "cp", "--abi", "cp311", "--abi", "abi3", "--abi", "none"]
    for platform in (*PLATFORMS, "any"):
        command += ["--platform", platform]
    try:
        done = subprocess.run(
            [*command, requirement], capture_output=True, text=True, timeout=300, check=False
        )
    except subprocess.TimeoutExpired:
        return "pip download timed out"
    return done.stderr.strip().splitlines()[-1] if done.returncode and done.stderr.strip() else ""


@pytest.fixture(scope="session")
def real_wheel() -> Callable[[str], Path]:
    """``real_wheel("numpy==2.4.6")``: the cached wheel, downloaded first if needed (skip when offline)."""
    WHEEL_CACHE.mkdir(parents=True, exist_ok=True)

    def get(requirement: str) -> Path:
        found = _cached(requirement)
        if found is None:
            problem = _download(requirement)
            found = _cached(requirement)
            if found is None:
                pytest.skip(f"{requirement} is not in {WHEEL_CACHE} and cannot be downloaded: {problem}")
        return found

    return get
