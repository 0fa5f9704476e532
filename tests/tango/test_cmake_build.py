"""Migrated and scaffolded servers build with plain system cmake, run with -nodb, answer PyTango."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fastconda.env import create_environment
from fastconda.tango import TangoError
from fastconda.tango.cmake import CMakeBuild, build_server
from fastconda.tango.pogo import migrate
from fastconda.tango.scaffold import new_server

from .conftest import EXAMPLE, needs_tango_dev

pytestmark = [pytest.mark.slow, needs_tango_dev]


@pytest.fixture(scope="module")
def powermeter(tmp_path_factory: pytest.TempPathFactory) -> CMakeBuild:
    import shutil

    source = Path(shutil.copytree(EXAMPLE, tmp_path_factory.mktemp("pm") / "PowerMeter"))
    migrate(source)
    return build_server(source, source / "build", target="PowerMeter")


@pytest.fixture(scope="module")
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


@pytest.fixture
def running_server(powermeter: CMakeBuild, tmp_path: Path) -> Iterator[str]:
    """The PowerMeter started with -nodb on a free loopback port; yields the device's full name."""
    port = _free_port()
    log = tmp_path / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [powermeter.executable, "test", "-nodb", "-dlist", "lab/pm/1",
             "-ORBendPoint", f"giop:tcp:127.0.0.1:{port}"],
            stdout=out, stderr=subprocess.STDOUT,
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


def test_migrated_pogo_example_builds_with_system_cmake(powermeter: CMakeBuild) -> None:
    assert powermeter.executable.is_file()
    usage = subprocess.run([powermeter.executable, "--help"], capture_output=True, text=True, check=False)
    assert usage.returncode != 0
    assert "usage" in (usage.stdout + usage.stderr).lower()


def test_pytango_client_reads_attributes_and_runs_commands(running_server: str, pytango_python: Path) -> None:
    client = f"""
import tango
pm = tango.DeviceProxy({running_server!r})
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
    env = {k: v for k, v in os.environ.items() if k != "TANGO_HOST"}
    result = subprocess.run(
        [pytango_python, "-c", client], capture_output=True, text=True, timeout=60, env=env, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split() == ["OK", "OFF", "1310.0"]


def test_compile_error_fails_the_build_and_shows_the_compilers_message(powermeter: CMakeBuild) -> None:
    sensor = powermeter.source / "PowerSensor.cpp"
    original = sensor.read_text()
    sensor.write_text(
        original.replace("++sample_count;", "++sample_count  // missing semicolon\n\tundeclared_x = 1;")
    )
    try:
        with pytest.raises(TangoError) as error:
            build_server(powermeter.source, powermeter.build_dir, target="PowerMeter")
    finally:
        sensor.write_text(original)
    message = str(error.value)
    assert "the build of PowerMeter failed" in message
    assert "PowerSensor.cpp:" in message
    assert "error:" in message


def test_missing_tango_development_files_name_what_is_missing(tmp_path: Path) -> None:
    source = tmp_path / "Hello"
    new_server("Hello", source)
    empty = tmp_path / "no-pkgconfig"
    empty.mkdir()
    env = {**os.environ, "PKG_CONFIG_LIBDIR": str(empty), "PKG_CONFIG_PATH": str(empty)}
    with pytest.raises(TangoError) as error:
        build_server(source, tmp_path / "build", target="Hello", env=env)
    message = str(error.value)
    assert "cmake configure failed" in message
    assert "Tango C++ development files not found" in message
    assert "libtango-dev" in message


def test_scaffolded_server_builds_and_runs_as_generated(tmp_path: Path) -> None:
    scaffold = new_server("Shutter", tmp_path / "Shutter")
    assert {p.name for p in scaffold.files} >= {"Shutter.cpp", "ShutterClass.h", "main.cpp", "CMakeLists.txt"}
    build = build_server(scaffold.directory, tmp_path / "build", target="Shutter")
    usage = subprocess.run([build.executable, "--help"], capture_output=True, text=True, check=False)
    assert "usage" in (usage.stdout + usage.stderr).lower()
