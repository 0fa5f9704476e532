"""Failures say their cause on the first line; `fastconda build --render` shows the recipe without building.

Real projects written into a temporary folder, built by the CLI with the real engine against the seed
channel: a module that imports a package nobody declares, an entry point that raises, a build script
that fails, a backend that cannot read setup.py. The first line of the error names the check (or
build step) that failed and the last error line of its output; the log follows for context.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fastconda.cli import ExitCode, main
from fastconda.settings import load_settings
from tests.helpers import snapshot

ABSENT = "absent_dependency_xyz"  # a module no package in the seed channel provides


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for this module's CLI builds (the build backend's environment is made once)."""
    return tmp_path_factory.mktemp("failmsg-cache")


@pytest.fixture
def cli_env(cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    wheels = load_settings(overrides={"offline": True}).wheel_cache_dir
    monkeypatch.setenv("FASTCONDA_CACHE_DIR", str(cache))
    monkeypatch.setenv("FASTCONDA_WHEEL_CACHE", str(wheels))
    return cache


def hatch_project(root: Path, modules: dict[str, str], *, extra: str = "") -> Path:
    """A real hatchling project `undecl-tool` with the package `undecl` and the entry point `undecl`."""
    (root / "undecl").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
        '[project]\nname = "undecl-tool"\nversion = "0.1.0"\nlicense = "MIT"\n'
        f"{extra}\n"
        '[project.scripts]\nundecl = "undecl.server:main"\n\n'
        '[tool.hatch.build.targets.wheel]\npackages = ["undecl"]\n'
    )
    for name, text in {"__init__.py": "", **modules}.items():
        (root / "undecl" / name).write_text(text)
    return root


def build_cli(project: Path, seed_url: str, output: Path, *extra: str) -> int:
    return main(["build", str(project), "-c", seed_url, "-o", str(output), "--offline", *extra])


def first_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert lines, err
    return lines[0]


SERVER = "import sys\n\n\ndef main():\n    print('usage: undecl INSTANCE')\n    sys.exit(0)\n"


@pytest.mark.slow
def test_undeclared_import_names_the_import_check_the_error_and_the_hint(
    seed_url: str, tmp_path: Path, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = hatch_project(tmp_path / "p", {"__init__.py": f"import {ABSENT}\n", "server.py": SERVER})
    output = tmp_path / "channel"
    assert build_cli(project, seed_url, output) == ExitCode.FAILURE
    err = capsys.readouterr().err
    assert first_line(err) == (
        f"error: test 'import undecl' failed: ModuleNotFoundError: No module named '{ABSENT}' "
        f"(the project imports {ABSENT} but does not declare it)"
    )
    assert "PyRattlerBuildError" not in first_line(err)
    assert not output.exists() or not list(output.rglob("*.conda"))


@pytest.mark.slow
def test_entry_point_that_imports_an_undeclared_module_names_its_help_check(
    seed_url: str, tmp_path: Path, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the package imports fine; only the server module (what `undecl --help` runs) needs the absent module
    project = hatch_project(tmp_path / "p", {"server.py": f"import {ABSENT}\n{SERVER}"})
    assert build_cli(project, seed_url, tmp_path / "channel") == ExitCode.FAILURE
    err = capsys.readouterr().err
    assert first_line(err) == (
        f"error: test 'undecl --help' failed: ModuleNotFoundError: No module named '{ABSENT}' "
        f"(the project imports {ABSENT} but does not declare it)"
    )
    # the log tail follows, with the traceback, and the work folder with the engine's full log
    assert 'undecl/server.py", line 1' in err
    kept = Path(err.split("work folder kept: ")[1].split(" (", maxsplit=1)[0])
    log = next(line for line in err.splitlines() if "full log: " in line).split("full log: ")[1].strip()
    assert Path(log).is_relative_to(kept)
    assert "+ undecl --help" in Path(log).read_text()
    # `fastconda cache clean` removes the kept folder, log included
    assert main(["cache", "clean"]) == ExitCode.OK
    assert not kept.exists()


@pytest.mark.slow
def test_a_module_declared_as_an_extra_gets_no_undeclared_hint(
    seed_url: str, tmp_path: Path, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the project declares the package in an extra: "does not declare it" would be wrong
    extra = '\n[project.optional-dependencies]\nhw = ["absent-dependency-xyz"]\n'
    project = hatch_project(tmp_path / "p", {"server.py": f"import {ABSENT}\n{SERVER}"}, extra=extra)
    assert build_cli(project, seed_url, tmp_path / "channel") == ExitCode.FAILURE
    err = capsys.readouterr().err
    assert first_line(err) == (
        f"error: test 'undecl --help' failed: ModuleNotFoundError: No module named '{ABSENT}'"
    )


@pytest.mark.slow
def test_entry_point_that_raises_names_its_help_check_and_the_exception(
    seed_url: str, tmp_path: Path, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = "def main():\n    raise RuntimeError('no serial line at /dev/ttyS9')\n"
    project = hatch_project(tmp_path / "p", {"server.py": server})
    assert build_cli(project, seed_url, tmp_path / "channel") == ExitCode.FAILURE
    err = capsys.readouterr().err
    assert first_line(err) == "error: test 'undecl --help' failed: RuntimeError: no serial line at /dev/ttyS9"
    assert "Traceback (most recent call last):" in err  # the context follows


OWN_RECIPE = """
package:
  name: undecl-tool
  version: "0.1.0"
source:
  path: ..
build:
  noarch: python
  script: $PYTHON -m pip install . --no-deps --no-build-isolation --no-compile -q
requirements:
  host: [python, pip]
  run: [python]
"""


@pytest.mark.slow
def test_failing_build_script_names_the_command_and_pips_error(
    seed_url: str, tmp_path: Path, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the project's own recipe forgot the build backend in host: pip cannot import it
    project = hatch_project(tmp_path / "p", {"server.py": SERVER})
    (project / "recipe").mkdir()
    (project / "recipe" / "recipe.yaml").write_text(OWN_RECIPE)
    assert build_cli(project, seed_url, tmp_path / "channel") == ExitCode.FAILURE
    err = capsys.readouterr().err
    assert first_line(err) == (
        "error: build '$PREFIX/bin/python -m pip install . --no-deps --no-build-isolation --no-compile -q' "
        "failed: ModuleNotFoundError: No module named 'hatchling'"
    )


@pytest.mark.slow
def test_a_backend_error_in_the_build_script_names_the_script_and_the_error(
    seed_url: str, tmp_path: Path, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the sdist is fine; only the wheel force-includes a file that does not exist
    extra = '[tool.hatch.build.targets.wheel.force-include]\n"gone.txt" = "undecl/gone.txt"\n'
    project = hatch_project(tmp_path / "p", {"server.py": SERVER}, extra=extra)
    output = tmp_path / "channel"
    assert build_cli(project, seed_url, output) == ExitCode.FAILURE
    err = capsys.readouterr().err
    line = first_line(err)
    assert line.startswith("error: build '$PREFIX/bin/python $RECIPE_DIR/fastconda_install.py' failed: "), err
    assert "gone" in line, err  # hatchling's own words about the missing folder
    assert not output.exists() or not list(output.rglob("*.conda"))


def test_sdist_failure_names_the_backends_error(
    tmp_path: Path, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "p"
    (project / "syn").mkdir(parents=True)
    (project / "syn" / "__init__.py").write_text("")
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
    )
    (project / "setup.py").write_text(
        'from setuptools import setup\nsetup(name="syn-tool", version="0.1", packages=["syn"]\n'
    )
    code = main(["build", str(project), "-c", str(tmp_path), "-o", str(tmp_path / "out"), "--offline"])
    err = capsys.readouterr().err
    assert code == ExitCode.FAILURE
    assert first_line(err) == "error: sdist failed: SyntaxError: '(' was never closed"
    assert "CommandError(" not in err
    log = Path(err.split("full log: ")[1].split()[0])  # the backend's whole output, in the kept work folder
    assert "SyntaxError: '(' was never closed" in log.read_text()
    assert log.parent.parent.name == "work"


# --render: the recipe the build would hand to the engine, and nothing else


def test_render_prints_the_final_recipe_and_touches_no_channel(
    tmp_path: Path, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = hatch_project(tmp_path / "p", {"server.py": SERVER})
    channel = tmp_path / "channel"
    channel.mkdir()
    before = snapshot(channel)
    code = main(["build", str(project), "-c", str(channel), "--offline", "--render"])
    out, err = capsys.readouterr()
    assert code == ExitCode.OK, err
    assert "name: undecl-tool" in out
    assert "python fastconda_check.py --dist undecl-tool" in out  # the facility rules' test script
    assert "undecl --help" in out
    assert "$RECIPE_DIR/fastconda_install.py" in out
    assert snapshot(channel) == before
    assert not Path("output-channel").exists()  # the default output channel is not created either


def drop_source(recipe: str) -> list[str]:
    return [line for line in recipe.splitlines() if "file://" not in line and "sha256:" not in line]


def test_render_writes_the_recipe_to_a_file(
    tmp_path: Path, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = hatch_project(tmp_path / "p", {"server.py": SERVER})
    target = tmp_path / "rendered" / "recipe.yaml"
    target.parent.mkdir()
    code = main(["build", str(project), "-c", str(tmp_path), "--offline", "--render", "-o", str(target)])
    out, err = capsys.readouterr()
    assert code == ExitCode.OK, err
    text = target.read_text()
    assert "python fastconda_check.py --dist undecl-tool" in text
    assert "python fastconda_check.py" not in out  # written, not printed
    assert sorted(p.name for p in target.parent.iterdir()) == ["recipe.yaml"]  # no temp file left
    assert target.stat().st_mode & 0o044 == 0o044  # others can read it
    # '-' is stdout
    assert main(["build", str(project), "-c", str(tmp_path), "--offline", "--render", "-o", "-"]) == 0
    out, err = capsys.readouterr()
    # the same recipe; only its source, an sdist made in a scratch folder (removed, the note says), differs
    assert drop_source(out) == drop_source(text)
    assert "the recipe's source is the sdist made in" in err


def test_render_of_a_projects_own_meta_yaml_prints_the_converted_recipe(
    tmp_path: Path, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = hatch_project(tmp_path / "p", {"server.py": SERVER})
    (project / "recipe").mkdir()
    (project / "recipe" / "meta.yaml").write_text(
        '{% set version = "0.1.0" %}\npackage:\n  name: undecl-tool\n  version: {{ version }}\n'
        "source:\n  path: ..\nbuild:\n  noarch: python\n  script: {{ PYTHON }} -m pip install . -vv\n"
        "requirements:\n  host:\n    - python\n    - pip\n    - hatchling\n  run:\n    - python\n"
    )
    code = main(["build", str(project), "-c", str(tmp_path), "--offline", "--render"])
    out, err = capsys.readouterr()
    assert code == ExitCode.OK, err
    assert "${{ version }}" in out or "version: 0.1.0" in out
    assert "${{ PYTHON }}" in out or "$PYTHON" in out  # v1 syntax: converted


def test_build_help_documents_render(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "--help"]) == 0
    assert "--render" in capsys.readouterr().out


# fastconda test: the same first-line rule for its checks


def test_fastconda_test_failures_name_the_check_and_its_error_first(
    seed_channel: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fastconda.wheel import WheelOptions, wheel_to_conda
    from tests.wheel.wheelmaker import make_wheel

    wheel = make_wheel(
        tmp_path,
        "broken_pkg",
        files={
            "broken_pkg/__init__.py": f"import {ABSENT}\n",
            "tool_pkg/__init__.py": "def main():\n    raise AttributeError('QUALITY_EVENT')\n",
        },
        entry_points="[console_scripts]\ntool = tool_pkg:main\n",
    )
    package = wheel_to_conda(wheel, tmp_path / "out", WheelOptions()).path
    assert main(["test", str(package), "-c", str(seed_channel), "--no-pip-check"]) == ExitCode.FAILURE
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert errors == [
        f"error: import broken_pkg failed: ModuleNotFoundError: No module named '{ABSENT}' "
        f"(the project imports {ABSENT} but does not declare it)",
        "error: entry-point 'tool --help' failed: AttributeError: QUALITY_EVENT",
    ]


# the error line, from real tools' output


PIP_BACKEND_FAILED = """\
  error: subprocess-exited-with-error

  \u00d7 Building wheel for undecl-tool (pyproject.toml) did not run successfully.
  │ exit code: 1
  ╰─> [12 lines of output]
      Traceback (most recent call last):
        File "/x/_in_process.py", line 389, in <module>
          main()
        File "/x/setup.py", line 3, in <module>
          raise RuntimeError("no compiler for the extension")
      RuntimeError: no compiler for the extension
      [end of output]

  note: This error originates from a subprocess, and is likely not a problem with pip.
  ERROR: Failed building wheel for undecl-tool
ERROR: Failed to build installable wheels for some pyproject.toml based projects (undecl-tool)
"""

CHAINED = """\
Traceback (most recent call last):
  File "server.py", line 3, in main
    import tango
ImportError: libtango.so.9: cannot open shared object file

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "server.py", line 5, in main
    raise SystemError("PyTango is broken")
SystemError: PyTango is broken
"""

COMPILER = """\
[1/4] Building CXX object CMakeFiles/Sensor.dir/Sensor.cpp.o
FAILED: CMakeFiles/Sensor.dir/Sensor.cpp.o
/src/Sensor.cpp:12:5: error: 'Tango::DevStat' has not been declared
/src/Sensor.cpp:40:1: error: expected '}' at end of input
ninja: build stopped: subcommand failed.
"""


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (PIP_BACKEND_FAILED, "RuntimeError: no compiler for the extension"),
        (CHAINED, "SystemError: PyTango is broken"),
        (COMPILER, "/src/Sensor.cpp:12:5: error: 'Tango::DevStat' has not been declared"),
        (
            "CMake Error at CMakeLists.txt:5 (find_package):\n  Could not find a package configuration file "
            'provided by "Tango"\n',
            "CMake Error at CMakeLists.txt:5 (find_package): Could not find a package configuration file "
            'provided by "Tango"',
        ),
        (
            "Server: error while loading shared libraries: libtango.so.9\n",
            "Server: error while loading shared libraries: libtango.so.9",
        ),
        (
            "usage: tool [-h]\nbash: line 3: tool: command not found\n",
            "bash: line 3: tool: command not found",
        ),
        ("", ""),
    ],
)
def test_the_error_line_is_the_cause_not_the_tools_closing_words(output: str, expected: str) -> None:
    from fastconda._failure import last_error_line

    assert last_error_line(output.splitlines()) == expected


@pytest.mark.slow
def test_fastconda_test_names_the_failed_carried_test_and_its_error(
    seed_url: str, tmp_path: Path, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # built without its tests, then tested: the tests the package carries fail in the engine's test run
    project = hatch_project(tmp_path / "p", {"server.py": f"import {ABSENT}\n{SERVER}"})
    output = tmp_path / "channel"
    assert build_cli(project, seed_url, output, "--no-test") == ExitCode.OK
    package = next(output.rglob("undecl-tool-*.conda"))
    capsys.readouterr()
    code = main(["test", str(package), "-c", seed_url, "--no-pip-check", "--no-entry-points"])
    assert code == ExitCode.FAILURE
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert errors == [
        f"error: package-test 'undecl --help' failed: ModuleNotFoundError: No module named '{ABSENT}' "
        f"(the project imports {ABSENT} but does not declare it)"
    ]


def test_an_unsolvable_test_environment_names_every_missing_requirement_before_the_build(
    seed_url: str, tmp_path: Path, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """tango-pyaml, tango-serial, icepap (real projects): the engine said only "Test failed", after the
    whole build, when a run requirement is in no channel; each missing requirement is named now."""
    extra = 'dependencies = ["packaging", "absent-dependency-xyz >=1", "pytango >=99"]'
    project = hatch_project(tmp_path / "p", {"server.py": SERVER}, extra=extra)
    output = tmp_path / "channel"
    assert build_cli(project, seed_url, output) == ExitCode.FAILURE
    err = capsys.readouterr().err
    line = first_line(err)
    assert line.startswith("error: requirements missing from the channels: ")
    assert "absent-dependency-xyz >=1 (run)" in line
    assert "pytango >=99 (run)" in line  # the second one too, not only the solver's first
    assert "packaging" not in line
    assert "PyRattlerBuildError" not in err
    assert not output.exists() or not list(output.rglob("*.conda"))
