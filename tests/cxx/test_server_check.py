"""The C++ server package test (``tango_server_check.sh``) on real compiled servers: the bundled PowerMeter
built against the system's Tango, with an init_device that reads the database, throws a Tango exception
or crashes (chosen by ``POWERMETER_FAULT`` when it starts: one compile for all of them)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from fastconda._failure import failed_checks
from fastconda.cxx.migrate import migrate
from fastconda.cxx.server_check import check_command, check_notes
from fastconda.templates import template_path

from .conftest import EXAMPLE, build_server, faulty_powermeter, needs_tango_dev

pytestmark = [pytest.mark.slow, needs_tango_dev]

SCRIPT = template_path("recipe", "cxx/tango_server_check.sh")


@pytest.fixture(scope="module")
def server_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the PowerMeter whose init_device does what POWERMETER_FAULT names."""
    source = Path(shutil.copytree(EXAMPLE, tmp_path_factory.mktemp("faulty") / "PowerMeter"))
    migrate(source)
    faulty_powermeter(source, "env")
    return build_server(source, source / "build", target="PowerMeter").executable.parent


def check(
    folder: Path, *args: str, fault: str = "", server: str = "PowerMeter"
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TANGO_HOST"}
    env |= {"PATH": f"{folder}{os.pathsep}{env['PATH']}", "POWERMETER_FAULT": fault}
    if not fault:
        del env["POWERMETER_FAULT"]
    command = ["bash", str(SCRIPT), server, *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)


def test_a_server_that_starts_is_ready_with_nodb(server_bin: Path) -> None:
    result = check(server_bin)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "PowerMeter --help: usage ok",
        "PowerMeter -nodb: ready to accept requests",
    ]


def test_a_server_that_reads_the_database_under_nodb_is_ready_with_a_file_database(server_bin: Path) -> None:
    result = check(server_bin, fault="dbread")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PowerMeter with a file database: ready to accept requests" in result.stdout
    (note,) = check_notes([result.stdout.splitlines()])
    assert note.startswith(
        "PowerMeter crashed with SIGSEGV when started with -nodb (it reads the Tango database"
    )
    assert note.endswith("with a file database it is ready")
    assert "Segmentation fault" not in result.stderr  # bash's own report of the crash is not shown


def test_a_tango_exception_from_device_initialisation_passes_with_its_reason_as_a_note(
    server_bin: Path,
) -> None:
    result = check(server_bin, fault="throw")
    assert result.returncode == 0, result.stdout + result.stderr
    (note,) = check_notes([result.stdout.splitlines()])
    assert note.startswith(
        "PowerMeter stopped in its initialisation with a Tango exception (started with -nodb): "
        "PowerMeter_NoSerialLine: tcgetattr failed on /dev/ttyS9 (PowerMeter::init_device)"
    ), note


def test_start_ready_fails_on_a_tango_exception(server_bin: Path) -> None:
    result = check(server_bin, "--start", "ready", fault="throw")
    assert result.returncode == 1
    ((name, error),) = failed_checks(result.stderr.splitlines())
    assert name == "PowerMeter start"
    assert error.startswith(
        'not ready (start = "ready"): a Tango exception with -nodb: PowerMeter_NoSerialLine'
    )


def test_a_crash_fails_with_the_signal_and_the_last_lines_of_the_server(server_bin: Path) -> None:
    result = check(server_bin, fault="segv")
    assert result.returncode == 1
    assert failed_checks(result.stderr.splitlines()) == [
        ("PowerMeter start", "crashed with SIGSEGV with -nodb; with a file database: crashed with SIGSEGV")
    ]
    assert "--- last lines of PowerMeter with a file database:" in result.stderr
    assert check_notes([result.stdout.splitlines()]) == []


def test_start_skip_checks_only_the_usage(server_bin: Path) -> None:
    result = check(server_bin, "--start", "skip", fault="segv")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "PowerMeter --help: usage ok",
        'PowerMeter: start check skipped (start = "skip")',
    ]


def test_the_server_class_comes_from_the_server_when_the_executable_is_named_otherwise(
    server_bin: Path, tmp_path: Path
) -> None:
    # the file database needs the class name: the server says which class it missed, the check adds it
    shutil.copy2(server_bin / "PowerMeter", tmp_path / "PowerMeterDS")
    result = check(tmp_path, fault="dbread", server="PowerMeterDS")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PowerMeterDS with a file database: ready to accept requests" in result.stdout


def test_a_missing_library_fails_and_names_it(tmp_path: Path) -> None:
    compiler = shutil.which("c++") or pytest.skip("no C++ compiler")
    (tmp_path / "gone.cpp").write_text("int gone() { return 1; }\n")
    (tmp_path / "main.cpp").write_text("int gone();\nint main() { return gone(); }\n")
    subprocess.run(
        [compiler, "-shared", "-fPIC", "-o", tmp_path / "libgone.so", tmp_path / "gone.cpp"], check=True
    )
    subprocess.run(
        [compiler, "-o", tmp_path / "Gone", tmp_path / "main.cpp", f"-L{tmp_path}", "-lgone"], check=True
    )
    (tmp_path / "libgone.so").unlink()
    result = check(tmp_path, server="Gone")
    assert result.returncode == 1
    assert failed_checks(result.stderr.splitlines()) == [
        (
            "Gone --help",
            "a library is missing: libgone.so: cannot open shared object file: No such file or directory",
        )
    ]


def test_the_check_command_names_the_start_check_unless_it_is_the_default() -> None:
    assert check_command("PowerMeter") == "bash tango_server_check.sh PowerMeter"
    assert check_command("PowerMeter", "skip") == "bash tango_server_check.sh PowerMeter --start skip"
    with pytest.raises(ValueError, match="expected one of init, ready, skip"):
        check_command("PowerMeter", "never")
