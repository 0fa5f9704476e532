"""Fixtures for the C++ Tango tests: the bundled Pogo example, Tango development files, a PyTango client,
and a plain cmake + ninja build of a server against the system's Tango (the CMake template must allow it)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from fastconda._proc import run
from fastconda.cxx.cmake import cmake_errors, compiler_errors
from fastconda.errors import CommandError, TangoError
from fastconda.tools.rattler import create_environment
from tests.conftest import REPO, needs

EXAMPLE = REPO / "examples" / "pogo-powermeter"


def _has_tango_dev() -> bool:
    if shutil.which("pkg-config") is None or shutil.which("cmake") is None:
        return False
    return subprocess.run(["pkg-config", "--exists", "tango"], check=False).returncode == 0


needs_tango_dev = needs(
    ""
    if _has_tango_dev()
    else "no cmake, pkg-config or Tango's C++ development files (./dev.sh test installs libtango-dev)"
)


@pytest.fixture
def pogo_project(tmp_path: Path) -> Path:
    """A fresh copy of the bundled Pogo example (tests never write into the repository)."""
    return Path(shutil.copytree(EXAMPLE, tmp_path / "PowerMeter"))


@pytest.fixture(scope="session")
def pytango_python(seed_channel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Python with PyTango from the offline seed channel (the client side of the tests)."""
    prefix = tmp_path_factory.mktemp("client") / "env"
    return create_environment(
        prefix, ["python", "pytango"], channels=[seed_channel.resolve().as_uri()]
    ).python


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def start_nodb(executable: Path, log: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """*executable* started with -nodb on a free loopback port; yields the device's full name."""
    port = _free_port()
    with log.open("w") as out:
        server = subprocess.Popen(
            [executable, "test", "-nodb", "-dlist", "lab/pm/1", "-ORBendPoint", f"giop:tcp:127.0.0.1:{port}"],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while "Ready to accept request" not in log.read_text():
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"server did not start (exit {server.poll()}):\n{log.read_text()}")
            time.sleep(0.05)
        yield f"tango://127.0.0.1:{port}/lab/pm/1#dbase=no"
    finally:
        server.kill()
        server.wait(timeout=10)


POWERMETER_CLIENT = """
import sys, tango
pm = tango.DeviceProxy(sys.argv[1])
assert pm.state() == tango.DevState.OFF, pm.state()
assert pm.wavelength == 1550.0
pm.On()
assert pm.state() == tango.DevState.ON
mean = pm.Measure(4)
assert abs(mean - 1e-3) < 1e-9, mean
assert pm.power == mean
assert pm.sampleCount >= 5  # Measure(4) plus the read of power
pm.Off()
pm.wavelength = 1310.0
print("OK", pm.state(), pm.wavelength)
"""


def drive_powermeter(python: Path, device: str) -> list[str]:
    """A PyTango client reads the PowerMeter's attributes and runs its commands; returns what it printed."""
    env = {k: v for k, v in os.environ.items() if k != "TANGO_HOST"}
    command = [python, "-c", POWERMETER_CLIENT, device]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.split()


@dataclasses.dataclass(frozen=True)
class CMakeBuild:
    source: Path
    build_dir: Path
    executable: Path
    configure_seconds: float
    build_seconds: float


def build_server(
    source: Path,
    build_dir: Path,
    *,
    target: str,
    cmake_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    jobs: int | None = None,
) -> CMakeBuild:
    """Configure and build the CMake project in *source*; the executable *target* must come out."""
    cmake = shutil.which("cmake", path=(env or os.environ).get("PATH"))
    if cmake is None:
        msg = "cmake not found on PATH: install it (pip install cmake, apt-get install cmake, conda: cmake)"
        raise TangoError(msg)
    generator = ["-G", "Ninja"] if shutil.which("ninja", path=(env or os.environ).get("PATH")) else []
    started = time.perf_counter()
    # An existing build folder is reused as is (`cmake --build` re-runs the configure step itself
    # when a CMakeLists.txt changed): configuring it again can make ninja rebuild everything.
    if cmake_args or not (build_dir / "CMakeCache.txt").is_file():
        try:
            run(
                [cmake, "-S", source, "-B", build_dir, *generator, *cmake_args],
                env=env,
                what="cmake configure",
            )
        except CommandError as exc:
            msg = f"{source}: cmake configure failed:\n{cmake_errors(exc.output)}"
            raise TangoError(msg) from None
    configured = time.perf_counter()
    parallel = ["--parallel", str(jobs or os.cpu_count() or 1)]
    try:
        run([cmake, "--build", build_dir, "--target", target, *parallel], env=env, what="cmake build")
    except CommandError as exc:
        msg = f"{source}: the build of {target} failed:\n{compiler_errors(exc.output)}"
        raise TangoError(msg) from None
    built = time.perf_counter()
    executable = build_dir / target
    if not executable.is_file():
        msg = f"{source}: the build succeeded but {executable} is missing"
        raise TangoError(msg)
    return CMakeBuild(source, build_dir, executable, configured - started, built - configured)


#: what a faulty PowerMeter does in its init_device (real servers do the same: see faulty_powermeter)
FAULTS = {
    # reads a class property through the database object, which is NULL under -nodb (many Pogo servers)
    "dbread": """Tango::DbData props;
		props.push_back(Tango::DbDatum("SerialLine"));
		Tango::Util::instance()->get_database()->get_class_property("PowerMeter", props);""",
    # its hardware is absent (a serial line): a Tango exception from the device's initialisation
    "throw": """Tango::Except::throw_exception("PowerMeter_NoSerialLine", "tcgetattr failed on /dev/ttyS9",
			"PowerMeter::init_device");""",
    # a bug: crashes whatever the database
    "segv": "std::raise(SIGSEGV);",
}
_INIT_REGION = "\t/*----- PROTECTED REGION ID(PowerMeter::init_device) ENABLED START -----*/\n"


def faulty_powermeter(project: Path, fault: str) -> Path:
    """Make the PowerMeter example in *project* do *fault* (a key of :data:`FAULTS`) in its init_device;
    ``"env"``: what the variable ``POWERMETER_FAULT`` names when the server starts (one compiled server
    for every fault). The server is real and compiled: only its init_device is changed."""
    source = project / "PowerMeter.cpp"
    text = source.read_text(encoding="utf-8")
    if fault == "env":
        branches = "\n\t\telse ".join(
            f'if (how == "{name}")\n\t\t{{\n\t\t{code}\n\t\t}}' for name, code in FAULTS.items()
        )
        code = (
            'if (const char *fault = std::getenv("POWERMETER_FAULT"))\n\t{\n'
            f"\t\tconst std::string how(fault);\n\t\t{branches}\n\t}}"
        )
    else:
        code = FAULTS[fault]
    assert _INIT_REGION in text
    text = text.replace(_INIT_REGION, f"{_INIT_REGION}\t{code}\n")
    text = "#include <csignal>\n#include <cstdlib>\n" + text
    source.write_text(text, encoding="utf-8")
    return project
