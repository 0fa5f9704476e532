"""``fastconda build`` on a C++ Tango server: the migrated Pogo example becomes a tested .conda, offline.

Real parts only: the cxx seed channel (host compilers as stand-ins, Debian's cpptango repackaged), real
cmake/ninja, the rattler-build engine, rattler installs, the server started with -nodb on loopback and
driven from PyTango.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fastconda.cli import ExitCode, main
from fastconda.cxx.migrate import migrate
from fastconda.cxx.recipe_route import read_server
from fastconda.errors import BuildFailed, ProjectError
from fastconda.pipeline.build import build_project
from fastconda.pipeline.options import BuildOptions, BuildResult
from fastconda.progress import ProgressEvent
from fastconda.testing.junit import Outcome
from fastconda.testing.package import run_package_tests
from fastconda.tools.rattler import create_environment
from tests.conftest import needs_debian
from tests.helpers import build_options, snapshot
from tests.wheel.wheelmaker import read_conda

from .conftest import EXAMPLE, FAULTS, REPO, drive_powermeter, faulty_powermeter, start_nodb
from .test_licence import MIT

pytestmark = [pytest.mark.slow, needs_debian]


@dataclasses.dataclass(frozen=True)
class Built:
    source: Path
    options: BuildOptions
    result: BuildResult
    progress: list[str]  # the progress lines of the build


@pytest.fixture(scope="module")
def built(cxx_channel: Path, tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("cxx-build")
    source = Path(
        shutil.copytree(EXAMPLE, root / "pm-src")
    )  # not the server's name: the lines name the server
    migrate(source)
    (source / "LICENSE").write_text(MIT, encoding="utf-8")  # both routes ship it and name it (test below)
    options = build_options((cxx_channel.resolve().as_uri(),), root / "channel")
    events: list[ProgressEvent] = []
    result = build_project(source, options, progress=events.append)
    return Built(source, options, result, [f"{e.phase}: {e.message}" for e in events])


def test_migrated_example_builds_and_its_package_tests_ran(built: Built) -> None:
    result = built.result
    assert (result.name, result.version) == ("powermeter", "1.2")
    assert result.package.parent == built.options.output / "linux-64"
    assert [(t.command, t.passed) for t in result.tests] == [("bash tango_server_check.sh PowerMeter", True)]
    output = "\n".join(result.tests[0].output)
    assert "PowerMeter --help: usage ok" in output
    assert "PowerMeter -nodb: ready to accept requests" in output
    assert "compiler('cxx')" in result.recipe
    depends = read_conda(result.package).json("index.json")["depends"]
    assert any(d.startswith("cpptango >=9.3.4,<9.4") for d in depends), depends  # cpptango's run_export
    assert not any(d.startswith("python") for d in depends)


def test_progress_lines_name_the_server_not_its_folder(built: Built) -> None:
    assert "recipe: recipe for the C++ server PowerMeter" in built.progress
    assert "build: rattler-build: build and test the C++ server PowerMeter" in built.progress
    assert not any("pm-src" in line for line in built.progress), built.progress


def test_package_installs_starts_with_nodb_and_answers_pytango(
    built: Built, cxx_channel: Path, pytango_python: Path, tmp_path: Path
) -> None:
    prefix = tmp_path / "env"
    channels = [built.options.output.resolve().as_uri(), cxx_channel.resolve().as_uri()]
    env = create_environment(prefix, ["powermeter"], channels=channels)
    assert "cpptango" in {p.name for p in env.packages}
    server = prefix / "bin" / "PowerMeter"
    linked = subprocess.run(["ldd", server], capture_output=True, text=True, check=True).stdout
    libtango = next(line for line in linked.splitlines() if "libtango.so" in line)
    assert str(prefix / "bin" / ".." / "lib") in libtango or str(prefix / "lib") in libtango, libtango
    with start_nodb(server, tmp_path / "server.log") as device:
        assert drive_powermeter(pytango_python, device) == ["OK", "OFF", "1310.0"]


def test_compile_error_fails_the_build_with_the_compilers_message(built: Built, tmp_path: Path) -> None:
    broken = Path(shutil.copytree(built.source, tmp_path / "PowerMeter"))
    sensor = broken / "PowerSensor.cpp"
    sensor.write_text(sensor.read_text().replace("++sample_count;", "++sample_count\n\tundeclared_x = 1;"))
    output = tmp_path / "channel"
    output.mkdir()
    before = snapshot(output)
    with pytest.raises(BuildFailed) as info:
        build_project(broken, dataclasses.replace(built.options, output=output, force=True))
    assert info.value.phase == "build"
    assert "PowerSensor.cpp:" in str(info.value)
    assert "error:" in str(info.value)
    assert snapshot(output) == before


def test_channels_without_the_cxx_toolchain_say_what_is_missing(
    built: Built, seed_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "channel"
    argv = ["build", str(built.source), "-c", seed_url, "-o", str(output), "--offline", "--force"]
    assert main(argv) == ExitCode.FAILURE
    message = capsys.readouterr().err
    assert "cpptango" in message
    assert "--profile cxx" in message


def test_cmake_project_without_a_version_or_executable_is_a_clear_error(tmp_path: Path) -> None:
    cmakelists = tmp_path / "CMakeLists.txt"
    cmakelists.write_text("cmake_minimum_required(VERSION 3.16)\nproject(Lib LANGUAGES CXX)\n")
    with pytest.raises(ProjectError, match=r"CMakeLists.txt:2: project\(Lib \.\.\.\) has no VERSION"):
        read_server(tmp_path)
    cmakelists.write_text("project(Lib VERSION 1.0)\nadd_library(lib a.cpp)\n")
    with pytest.raises(ProjectError, match="no add_executable"):
        read_server(tmp_path)


def test_fastconda_test_runs_the_tests_the_package_carries_and_no_python_checks(
    built: Built, cxx_channel: Path
) -> None:
    result = run_package_tests(built.result.package, [cxx_channel.resolve().as_uri()])
    kinds = {(c.kind, c.name): c.outcome for c in result.checks}
    assert kinds[("package-test", "bash tango_server_check.sh PowerMeter")] is Outcome.PASSED
    assert not any(kind == "pip-check" for kind, _ in kinds)  # not a Python package: no python, no pip check
    assert not any(p.startswith("python ") for p in result.packages)
    assert result.ok


def test_wheel_route_makes_a_package_that_passes_the_same_test(built: Built, tmp_path: Path) -> None:
    options = dataclasses.replace(built.options, output=tmp_path / "channel", via="wheel")
    events: list[ProgressEvent] = []
    result = build_project(built.source, options, progress=events.append)
    assert "building the C++ server PowerMeter into a wheel with scikit-build-core" in [
        e.message for e in events
    ]
    assert (result.name, result.version) == ("powermeter", "1.2")
    assert [(t.command, t.passed) for t in result.tests] == [("bash tango_server_check.sh PowerMeter", True)]
    assert {"env", "wheel", "convert", "test", "index"} <= set(result.phases)
    depends = read_conda(result.package).json("index.json")["depends"]
    assert any(d.startswith("cpptango >=9.3.4,<9.4") for d in depends), depends
    assert not any(d.startswith("python") for d in depends)
    # the same licence and C library metadata as the recipe route's package
    wheel_pkg, recipe_pkg = read_conda(result.package), read_conda(built.result.package)
    for package in (wheel_pkg, recipe_pkg):
        index = package.json("index.json")
        assert index["license"] == "MIT", index
        assert package.json("about.json")["license"] == "MIT"
        assert package.info["info/licenses/LICENSE"] == MIT.encode()
        assert [d for d in index["depends"] if d.startswith("__glibc")] == [_host_glibc()], index["depends"]
    assert sorted(wheel_pkg.json("index.json")["depends"]) == sorted(recipe_pkg.json("index.json")["depends"])
    assert "the package ships it but names no licence" not in "\n".join(result.notes)


def _host_glibc() -> str:
    """The recipe route's stdlib('c') run_export: the seed's sysroot stand-in has the host's glibc."""
    version = str(os.confstr("CS_GNU_LIBC_VERSION")).split()[1]
    return f"__glibc >={version},<3.0.a0"


def test_wheel_route_is_for_cmake_servers_only(seed_url: str, tmp_path: Path) -> None:
    options = build_options((seed_url,), tmp_path / "channel", via="wheel")
    with pytest.raises(ProjectError, match=r"--via wheel builds CMake C\+\+ servers"):
        build_project(REPO / "examples" / "pytango-powersupply", options)


def test_a_server_that_crashes_on_start_fails_says_how_to_go_on_and_stays_out_of_the_channel(
    built: Built, tmp_path: Path
) -> None:
    source = faulty_powermeter(Path(shutil.copytree(built.source, tmp_path / "PowerMeter")), "segv")
    output = tmp_path / "channel"
    output.mkdir()
    before = snapshot(output)
    with pytest.raises(BuildFailed) as info:
        build_project(source, dataclasses.replace(built.options, output=output, force=True))
    message = str(info.value)
    assert info.value.phase == "test"
    assert message.splitlines()[0] == (
        "test 'PowerMeter start' failed: "
        "crashed with SIGSEGV with -nodb; with a file database: crashed with SIGSEGV"
    )
    assert "--- last lines of PowerMeter with a file database:" in message
    built_package = re.search(
        r"the package itself was built \((\S+\.conda)\) and is not added to the channel", message
    )
    assert built_package is not None, message
    assert Path(built_package.group(1)).is_file()
    assert f'{source / "fastconda.toml"}:\n      [test]\n      start = "skip"' in message
    assert "--no-test" in message
    assert snapshot(output) == before


def test_wheel_route_start_check_follows_the_projects_settings(
    built: Built, cxx_channel: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = faulty_powermeter(Path(shutil.copytree(built.source, tmp_path / "PowerMeter")), "segv")
    argv = [
        "build",
        str(source),
        "-c",
        cxx_channel.resolve().as_uri(),
        "--offline",
        "--via",
        "wheel",
        "--json",
    ]
    failed = tmp_path / "failed"
    assert main([*argv, "-o", str(failed)]) == ExitCode.FAILURE
    message = capsys.readouterr().err
    error = next(line for line in message.splitlines() if line.startswith("error: "))
    assert error.startswith("error: test 'PowerMeter start' failed: crashed with SIGSEGV with -nodb"), message
    assert 'start = "skip"' in message
    assert not any(failed.rglob("*.conda"))
    # the crash is the server's to fix; meanwhile its settings keep the --help check only, and add one
    (source / "fastconda.toml").write_text('[test]\nstart = "skip"\ncommands = ["echo extra-check-ran"]\n')
    assert main([*argv, "-o", str(tmp_path / "skipped")]) == ExitCode.OK
    result = json.loads(capsys.readouterr().out)
    commands = [t["command"] for t in result["tests"]]
    assert commands == ["bash tango_server_check.sh PowerMeter --start skip", "echo extra-check-ran"]
    # its hardware absent instead: the device's Tango exception passes, as a note
    cpp = source / "PowerMeter.cpp"
    cpp.write_text(cpp.read_text().replace(FAULTS["segv"], FAULTS["throw"]))
    (source / "fastconda.toml").unlink()
    assert main([*argv, "-o", str(tmp_path / "channel")]) == ExitCode.OK
    notes = json.loads(capsys.readouterr().out)["notes"]
    assert any(
        n.startswith("PowerMeter stopped in its initialisation with a Tango exception (started with -nodb): "
                     "PowerMeter_NoSerialLine: tcgetattr failed on /dev/ttyS9 (PowerMeter::init_device)")
        for n in notes
    ), notes  # fmt: skip


def test_a_tango_exception_from_the_device_is_a_note_of_the_build_and_of_fastconda_test(
    built: Built, cxx_channel: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = faulty_powermeter(Path(shutil.copytree(built.source, tmp_path / "PowerMeter")), "throw")
    (source / "fastconda.toml").write_text('[test]\ncommands = ["echo extra-check-ran"]\n')
    channel, seed = tmp_path / "channel", cxx_channel.resolve().as_uri()
    assert main(["build", str(source), "-c", seed, "-o", str(channel), "--offline", "--json"]) == ExitCode.OK
    result = json.loads(capsys.readouterr().out)
    commands = [t["command"] for t in result["tests"]]
    assert commands == ["bash tango_server_check.sh PowerMeter", "echo extra-check-ran"]
    expected = (
        "PowerMeter stopped in its initialisation with a Tango exception (started with -nodb): "
        "PowerMeter_NoSerialLine: tcgetattr failed on /dev/ttyS9 (PowerMeter::init_device)"
    )
    assert any(n.startswith(expected) for n in result["notes"]), result["notes"]
    # the package carries the same check: `fastconda test` shows the same note
    assert main(["test", result["package"], "-c", seed, "-c", channel.resolve().as_uri()]) == ExitCode.OK
    assert f"note: {expected}" in capsys.readouterr().err


def test_a_rebuild_compiles_only_what_changed_through_ccache(cxx_channel: Path, tmp_path: Path) -> None:
    """The compiler cache: an unchanged translation unit hits, a changed one or a changed flag misses;
    the counts come from the build's own log (``compiler_cache`` in ``--json``)."""
    source = Path(shutil.copytree(EXAMPLE, tmp_path / "pm"))
    migrate(source)
    units = len(list(source.glob("*.cpp")))
    options = build_options((cxx_channel.resolve().as_uri(),), tmp_path / "channel", force=True, replace=True)

    def counts() -> tuple[int, int]:
        result = build_project(source, options)
        assert result.compiler_cache is not None, result.notes
        assert result.compiler_cache["dir"] == str(options.cache_dir / "ccache")
        return result.compiler_cache["hits"], result.compiler_cache["misses"]

    assert counts() == (0, units)  # a new cache
    sensor = source / "PowerSensor.cpp"
    sensor.write_text(sensor.read_text() + "\nint fastconda_rebuild_marker() { return 1; }\n")
    assert counts() == (units - 1, 1)  # only the changed unit compiles
    cmake = source / "CMakeLists.txt"
    text = cmake.read_text()  # a code generation flag for the targets defined after it: all of them
    at = text.index("\n", text.index("project(")) + 1
    cmake.write_text(text[:at] + "add_compile_options(-fno-omit-frame-pointer)\n" + text[at:])
    args = ["build", str(source), "-c", cxx_channel.resolve().as_uri(), "-o", str(options.output)]
    env = {"FASTCONDA_CACHE_DIR": str(options.cache_dir)}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        printed = subprocess.run(
            [sys.executable, "-m", "fastconda", *args, "--offline", "--force", "--replace", "--json"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    stats = json.loads(printed)["compiler_cache"]
    assert (stats["hits"], stats["misses"]) == (0, units)  # a new flag: every unit compiles again
