"""Migrated and scaffolded servers build with plain system cmake, run with -nodb, answer PyTango."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fastconda.cxx.migrate import migrate
from fastconda.cxx.scaffold import new_server
from fastconda.errors import TangoError

from .conftest import EXAMPLE, CMakeBuild, build_server, drive_powermeter, needs_tango_dev, start_nodb

pytestmark = [pytest.mark.slow, needs_tango_dev]


@pytest.fixture(scope="module")
def powermeter(tmp_path_factory: pytest.TempPathFactory) -> CMakeBuild:
    import shutil

    source = Path(shutil.copytree(EXAMPLE, tmp_path_factory.mktemp("pm") / "PowerMeter"))
    migrate(source)
    return build_server(source, source / "build", target="PowerMeter")


@pytest.fixture
def running_server(powermeter: CMakeBuild, tmp_path: Path) -> Iterator[str]:
    """The PowerMeter started with -nodb on a free loopback port; yields the device's full name."""
    with start_nodb(powermeter.executable, tmp_path / "server.log") as device:
        yield device


def test_migrated_pogo_example_builds_with_system_cmake(powermeter: CMakeBuild) -> None:
    assert powermeter.executable.is_file()
    usage = subprocess.run([powermeter.executable, "--help"], capture_output=True, text=True, check=False)
    assert usage.returncode != 0
    assert "usage" in (usage.stdout + usage.stderr).lower()


def test_pytango_client_reads_attributes_and_runs_commands(running_server: str, pytango_python: Path) -> None:
    assert drive_powermeter(pytango_python, running_server) == ["OK", "OFF", "1310.0"]


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


def test_a_server_whose_executable_is_renamed_builds_under_that_name(tmp_path: Path) -> None:
    import shutil

    source = Path(shutil.copytree(EXAMPLE, tmp_path / "PowerMeter"))
    makefile = source / "Makefile"
    makefile.write_text(
        makefile.read_text().replace(
            "#POST_PROCESSING = \n", "POST_PROCESSING = mv bin/$(PACKAGE_NAME) bin/PM_ds\n"
        )
    )
    assert migrate(source).unmapped == ()
    build = build_server(source, tmp_path / "build", target="PM_ds")
    usage = subprocess.run([build.executable, "--help"], capture_output=True, text=True, check=False)
    assert "usage" in (usage.stdout + usage.stderr).lower()
