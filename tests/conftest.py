"""Session-wide setup: every test runs offline against caches inside the repository.

- ``FASTCONDA_CACHE_DIR`` and ``RATTLER_CACHE_DIR`` point into ``<repo>/.cache`` so tests never
  read or pollute the user's caches, and stay warm between runs.
- ``seed_channel`` bootstraps the tango seed channel once per session (a no-op when its inputs
  did not change since the last session). Its wheels must be in the wheel cache: CI fetches them
  (``python -m tests.fetch``) before running the tests with the network switched off.
- The seed channels repackage the interpreter that runs the tests, so each Python version has its
  own (``.cache/test-seed/py3.12/tango``), and the real wheels are fetched for that interpreter:
  the suite runs as it is on every supported Python.
- A real component the tests need (Debian's Tango packages, the Tango C++ development files, a Quetz
  server, a real wheel) that is missing skips its tests, unless ``FASTCONDA_REQUIRE_ALL=1`` (set by
  ``./dev.sh test`` and CI): then it is a failure that says what is missing.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from packaging.tags import sys_tags
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

REPO = Path(__file__).resolve().parents[1]

# A run started in the background by a non-interactive shell (`cmd &`, some CI wrappers) inherits
# SIGINT ignored, and so would every fastconda the tests start: Python then never raises
# KeyboardInterrupt and the Ctrl-C tests test nothing. A handler here is reset to the default in
# every child at exec, so the programs under test see Ctrl-C as a user's terminal sends it.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
CACHE = Path(os.environ.get("FASTCONDA_TEST_CACHE", REPO / ".cache"))

os.environ.setdefault("FASTCONDA_CACHE_DIR", str(CACHE / "fastconda"))
os.environ.setdefault("RATTLER_CACHE_DIR", str(CACHE / "rattler"))

#: the running interpreter, which the seed channel repackages: "3.12", "cp312"
PYTHON_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"
CPYTHON_TAG = f"cp{sys.version_info.major}{sys.version_info.minor}"
SEEDS = CACHE / "test-seed" / f"py{PYTHON_VERSION}"

#: FASTCONDA_REQUIRE_ALL=1: a missing real component fails its tests instead of skipping them
REQUIRE_ALL = os.environ.get("FASTCONDA_REQUIRE_ALL") == "1"


def missing_component(problem: str) -> NoReturn:
    """Skip the running test because *problem* (one line: what is missing and how to get it), or
    fail it under ``FASTCONDA_REQUIRE_ALL=1``, where every real component must be there."""
    if REQUIRE_ALL:
        pytest.fail(f"FASTCONDA_REQUIRE_ALL=1 but {problem}", pytrace=False)
    pytest.skip(problem)


def needs(problem: str) -> pytest.MarkDecorator:
    """A mark for tests that need a real component: empty *problem* when it is there, else what is
    missing (see :func:`missing_component`; :func:`pytest_runtest_setup` reads the mark)."""
    return pytest.mark.needs(problem)


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("needs"):
        if mark.args and mark.args[0]:
            missing_component(str(mark.args[0]))


@pytest.fixture(scope="session")
def seed_channel() -> Iterator[Path]:
    """The tango-profile seed channel (python, pip, build backends, pytango, numpy)."""
    from fastconda.seed.bootstrap import bootstrap
    from fastconda.settings import load_settings

    channel = SEEDS / "tango"
    settings = load_settings(overrides={"offline": os.environ.get("FASTCONDA_OFFLINE", "") or None})
    bootstrap(channel, "tango", settings)
    yield channel


@pytest.fixture
def seed_url(seed_channel: Path) -> str:
    return seed_channel.resolve().as_uri()


CXX_CHANNEL = SEEDS / "cxx"


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
needs_debian = needs(MISSING)


@pytest.fixture(scope="session")
def cxx_channel() -> Path:
    """The cxx-profile seed channel (tango profile + cmake, ninja, compiler stand-ins, cpptango, ...)."""
    if MISSING:
        missing_component(MISSING)
    from fastconda.seed.bootstrap import bootstrap
    from fastconda.settings import load_settings

    settings = load_settings(overrides={"offline": os.environ.get("FASTCONDA_OFFLINE", "") or None})
    bootstrap(CXX_CHANNEL, "cxx", settings)
    return CXX_CHANNEL


WHEEL_CACHE = Path(os.environ.get("FASTCONDA_TEST_WHEELS", CACHE / "test-wheels"))
#: real source distributions (``tests.helpers.FILL_SDISTS``): projects the fill builds from source
SDIST_CACHE = CACHE / "test-sdists"

# Binary wheels are fetched for the running CPython on x86_64 Linux (one cache holds every version's).
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux2010_x86_64")
_RUNNING_TAGS = frozenset(sys_tags())


def _fits(wheel: Path) -> bool:
    """*wheel* installs on the running interpreter (``numpy-…-cp312-…`` only under 3.12)."""
    try:
        return bool(parse_wheel_filename(wheel.name)[3] & _RUNNING_TAGS)
    except InvalidWheelFilename:
        return False


def _cached(requirement: str, *, sdist: bool = False) -> Path | None:
    name, _, version = requirement.partition("==")
    if sdist:
        found = SDIST_CACHE / f"{name.replace('-', '_').lower()}-{version}.tar.gz"
        return found if found.is_file() else None
    stem = f"{name.replace('-', '_').lower()}-{version}-"
    matches = sorted(p for p in WHEEL_CACHE.glob("*.whl") if p.name.lower().startswith(stem) and _fits(p))
    return matches[0] if matches else None


def _download(requirement: str, *, sdist: bool = False) -> str:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--disable-pip-version-check"]
    if sdist:
        command += ["--no-binary=:all:", "-d", str(SDIST_CACHE)]
    else:
        command += ["--only-binary=:all:", "-d", str(WHEEL_CACHE), "--python-version", PYTHON_VERSION]
        command += ["--implementation", "cp", "--abi", CPYTHON_TAG, "--abi", "abi3", "--abi", "none"]
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
def real_sdist() -> Callable[[str], Path]:
    """``real_sdist("six==1.17.0")``: a real source distribution ``python -m tests.fetch`` fetched."""

    def get(requirement: str) -> Path:
        found = _cached(requirement, sdist=True)
        if found is None:
            problem = _download(requirement, sdist=True)
            found = _cached(requirement, sdist=True)
            if found is None:
                missing_component(
                    f"the sdist of {requirement} is not in {SDIST_CACHE} and cannot be downloaded "
                    f"({problem}): run `python -m tests.fetch` while online"
                )
        return found

    return get


#: wheels of fastconda's runtime dependencies for this Python (``python -m tests.fetch`` fetches them)
INSTALL_WHEELS = CACHE / "install-wheels"


def runtime_requirements() -> list[str]:
    """fastconda's ``[project] dependencies``: what ``pip install fastconda`` installs."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return list(project["dependencies"])


@pytest.fixture(scope="session")
def real_wheel() -> Callable[[str], Path]:
    """``real_wheel("numpy==2.4.6")``: the cached wheel for the running Python, downloaded first if needed
    (offline, a wheel ``python -m tests.fetch`` did not fetch is a missing component)."""
    WHEEL_CACHE.mkdir(parents=True, exist_ok=True)

    def get(requirement: str) -> Path:
        found = _cached(requirement)
        if found is None:
            problem = _download(requirement)
            found = _cached(requirement)
            if found is None:
                missing_component(
                    f"{requirement} is not in {WHEEL_CACHE} and cannot be downloaded ({problem}): "
                    "run `python -m tests.fetch` while online"
                )
        return found

    return get
