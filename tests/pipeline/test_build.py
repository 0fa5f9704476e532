"""fastconda build, end to end with the real engine against the offline seed channel."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from fastconda.channel.local import list_packages
from fastconda.cli import ExitCode, main
from fastconda.errors import BuildFailed, ProjectError, RecipeError
from fastconda.pipeline.build import build_project
from fastconda.pipeline.options import BuildOptions, BuildResult
from fastconda.pipeline.project import Kind, detect
from fastconda.pipeline.rules import apply_rules
from fastconda.templates import read_template
from fastconda.tools.rattler import create_environment
from tests.conftest import REPO
from tests.helpers import EXAMPLE, SITE_PACKAGES, assert_consistent, build_options, snapshot

DEVICE_CHECK = """
from tango import DevState
from tango.test_context import DeviceTestContext
from powersupply.server import PowerSupply
with DeviceTestContext(PowerSupply, properties={"max_voltage": 24.0}) as proxy:
    assert proxy.state() == DevState.OFF
    proxy.voltage = 5.0
    proxy.current_limit = 0.2
    assert proxy.On()
    assert abs(proxy.current - 0.2) < 0.01, proxy.current
    print("device ok", proxy.status())
"""


def options(seed_url: str, output: Path, **extra: object) -> BuildOptions:
    return build_options((seed_url,), output, **extra)


@dataclasses.dataclass(frozen=True)
class Built:
    project: Path
    options: BuildOptions
    result: BuildResult


@pytest.fixture(scope="module")
def built(seed_channel: Path, tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("build")
    project = root / "pytango-powersupply"
    shutil.copytree(EXAMPLE, project)
    opts = options(seed_channel.as_uri(), root / "channel")
    return Built(project, opts, build_project(project, opts))


@pytest.mark.slow
def test_example_server_builds_tests_and_lands_in_the_channel(built: Built) -> None:
    result = built.result
    assert result.name == "tango-powersupply"
    assert result.package.parent == built.options.output / "noarch"
    assert set(result.phases) == {"sdist", "recipe", "convert", "build", "test", "index"}
    assert result.phases["test"] > 0
    assert assert_consistent(built.options.output) == ["tango-powersupply"]
    assert "python fastconda_check.py --dist tango-powersupply" in result.recipe  # imports: what it installed
    assert "PowerSupply --help" in result.recipe
    assert "script: $PYTHON $RECIPE_DIR/fastconda_install.py" in result.recipe  # the backend, no pip
    assert "- python-installer" in result.recipe
    assert [(t.command, t.passed) for t in result.tests] == [
        ("python fastconda_check.py --dist tango-powersupply", True),
        ("PowerSupply --help", True),
    ]
    assert "import powersupply: ok" in result.tests[0].output
    # the conversion's warnings are notes that name grayskull's meta.yaml and the line
    licence = [n for n in result.notes if "about.license" in n]
    assert licence and licence[0].startswith("convert: grayskull meta.yaml:"), result.notes
    # grayskull cannot recover the licence offline; the project's own `license` is what the package says
    record = next(r for r in list_packages(built.options.output) if r["name"] == "tango-powersupply")
    assert record["license"] == "GPL-3.0-or-later"


@pytest.mark.slow
def test_built_package_installs_and_the_server_runs_under_device_test_context(
    built: Built, seed_url: str, tmp_path: Path
) -> None:
    prefix = tmp_path / "env"
    create_environment(
        prefix, ["tango-powersupply"], channels=[built.options.output.resolve().as_uri(), seed_url]
    )
    done = subprocess.run(
        [prefix / "bin" / "python", "-c", DEVICE_CHECK], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "device ok" in done.stdout
    assert (prefix / "bin" / "PowerSupply").is_file()


@pytest.mark.slow
def test_unchanged_project_is_not_rebuilt_and_a_change_or_force_rebuilds(built: Built) -> None:
    again = build_project(built.project, built.options)
    assert again.skipped is True
    assert again.package == built.result.package
    forced = build_project(
        built.project, dataclasses.replace(built.options, force=True, replace=True, test=False)
    )
    assert forced.skipped is False


def junit_cases(path: Path) -> dict[str, tuple[str, str]]:
    """name → (classname, outcome) of every testcase in a JUnit file."""
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    cases = {}
    for case in suite.iter("testcase"):
        outcome = (
            "failed"
            if case.find("failure") is not None
            else "skipped"
            if case.find("skipped") is not None
            else "passed"
        )
        cases[case.get("name", "")] = (case.get("classname", ""), outcome)
    return cases


@pytest.mark.slow
def test_cli_json_and_junit_report_package_phases_and_each_test_command(
    built: Built, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ["build", str(built.project), "-o", str(built.options.output), "--offline", "--json"]
    argv += ["-c", built.options.channels[0], "--junit", str(tmp_path / "reports" / "build.xml")]
    # the CLI uses the default cache dir: force a real build through the CLI (other bytes: --replace)
    env_cache = ["--force", "--replace"]
    assert main([*argv, *env_cache]) == ExitCode.OK
    data = json.loads(capsys.readouterr().out)
    assert data["package"] == str(built.result.package)
    assert len(data["sha256"]) == 64
    assert set(data["phases"]) == {"sdist", "recipe", "convert", "build", "test", "index"}
    assert [t["command"] for t in data["tests"]] == [
        "python fastconda_check.py --dist tango-powersupply",
        "PowerSupply --help",
    ]
    # where the engine's time went, in the order it ran, adding up to its build and test phases
    steps = [step["step"] for step in data["engine_steps"]]
    assert steps == [
        "environments", "build script", "packaging", "after packaging", "test environment", "test commands",
    ]  # fmt: skip
    engine_seconds = sum(step["seconds"] for step in data["engine_steps"])
    assert 0.5 < engine_seconds / (data["phases"]["build"] + data["phases"]["test"]) <= 1.01
    commands = next(s["seconds"] for s in data["engine_steps"] if s["step"] == "test commands")
    assert commands >= sum(t["seconds"] for t in data["tests"]) - 0.01
    cases = junit_cases(tmp_path / "reports" / "build.xml")
    assert cases["sdist"] == ("tango-powersupply.build", "passed")
    assert cases["index"] == ("tango-powersupply.build", "passed")
    assert cases["PowerSupply --help"] == ("tango-powersupply.test", "passed")
    # up to date: the report says the build was skipped, and why
    argv[argv.index("--junit") + 1] = str(tmp_path / "again.xml")
    assert main(argv) == ExitCode.OK
    assert junit_cases(tmp_path / "again.xml")["build"] == ("tango-powersupply.build", "skipped")


@pytest.mark.slow
def test_failing_package_test_fails_the_build_and_leaves_the_channel_untouched(
    seed_url: str, tmp_path: Path
) -> None:
    project = tmp_path / "broken"
    shutil.copytree(EXAMPLE, project)
    server = project / "src" / "powersupply" / "server.py"
    server.write_text(
        server.read_text().replace("    run((PowerSupply,), args=args)", "    raise SystemExit(3)")
    )
    output = tmp_path / "channel"
    output.mkdir()
    before = snapshot(output)
    with pytest.raises(BuildFailed) as info:
        build_project(project, options(seed_url, output))
    assert info.value.phase == "test"
    assert "PowerSupply --help" in str(info.value)
    assert snapshot(output) == before
    # which test failed, and with what: the steps the engine ran, and the CI report of the CLI
    steps = {t.command: t for t in info.value.tests}
    assert steps["python fastconda_check.py --dist tango-powersupply"].passed
    assert not steps["PowerSupply --help"].passed
    assert any("status 3" in line for line in steps["PowerSupply --help"].output)
    assert {"sdist", "recipe", "convert"} <= set(info.value.phases)
    report = tmp_path / "junit.xml"
    argv = ["build", str(project), "-c", seed_url, "-o", str(output), "--offline", "--junit", str(report)]
    argv += ["--force"]
    assert main(argv) == ExitCode.FAILURE
    cases = junit_cases(report)
    assert cases["PowerSupply --help"] == ("broken.test", "failed")
    assert cases["python fastconda_check.py --dist tango-powersupply"] == ("broken.test", "passed")
    assert cases["sdist"] == ("broken.build", "passed")
    assert snapshot(output) == before


def test_not_a_python_project_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ProjectError, match="is not a Python project"):
        detect(tmp_path)
    code = main(["build", str(tmp_path), "-c", str(tmp_path), "-o", str(tmp_path / "out")])
    assert code == ExitCode.FAILURE
    assert "is not a Python project" in capsys.readouterr().err


def test_a_pogo_folder_that_was_not_migrated_is_named_with_the_command_that_migrates_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = Path(shutil.copytree(REPO / "examples" / "pogo-powermeter", tmp_path / "PowerMeter"))
    with pytest.raises(ProjectError) as caught:
        detect(project)
    message = str(caught.value)
    assert "is a Pogo C++ project (its Makefile includes Pogo's tango.opt, PowerMeter.xmi)" in message
    assert f"`fastconda pogo-migrate {project}`" in message
    assert "is not a Python project" not in message
    code = main(["build", str(project), "-c", str(tmp_path), "-o", str(tmp_path / "out")])
    assert code == ExitCode.FAILURE
    assert f"fastconda pogo-migrate {project}" in capsys.readouterr().err
    # what the message says to do makes it a project fastconda builds
    assert main(["pogo-migrate", str(project)]) == ExitCode.OK
    assert detect(project).kind is Kind.CMAKE


def test_pogo_s_own_cmakelists_is_named_and_migrating_moves_it_aside(tmp_path: Path) -> None:
    project = Path(shutil.copytree(REPO / "examples" / "pogo-powermeter", tmp_path / "PowerMeter"))
    (project / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.0)\nproject(PowerMeter)\ninclude(${MAKE_ENV}/cmake_tango.opt)\n"
    )
    with pytest.raises(ProjectError, match=r"is Pogo's own \(it includes \$\{MAKE_ENV\}/cmake_tango.opt\)"):
        detect(project)
    assert main(["pogo-migrate", str(project)]) == ExitCode.OK
    assert (project / "CMakeLists.txt.pogo").is_file()
    assert detect(project).kind is Kind.CMAKE


def test_a_makefile_and_an_xmi_without_pogo_s_variables_is_not_called_a_pogo_project(tmp_path: Path) -> None:
    (tmp_path / "Makefile").write_text("all:\n\tcc -o hello hello.c\n")
    (tmp_path / "Model.xmi").write_text("<xmi/>")
    with pytest.raises(ProjectError, match="is not a Python project"):
        detect(tmp_path)


def test_offline_build_with_a_remote_channel_says_which_and_how_to_name_a_local_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # no -c: the default channel is conda-forge, which an offline (air-gapped) build cannot reach
    monkeypatch.delenv("FASTCONDA_CHANNELS", raising=False)
    project = Path(shutil.copytree(EXAMPLE, tmp_path / "project"))
    code = main(["build", str(project), "--offline", "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE, err
    assert err.strip().splitlines() == [
        "error: channel conda-forge cannot be reached offline: name a local channel with -c DIR "
        "(or [tool.fastconda] channels in pyproject.toml)"
    ]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.conda"))


def test_recipe_that_is_not_noarch_python_is_refused_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / "setup.py").write_text("from setuptools import setup\nsetup(scripts=['bin/server'])\n")
    recipe = "package:\n  name: x\n  version: '1'\nbuild:\n  script: pip install .\n"
    with pytest.raises(RecipeError, match="replace them by an entry point"):
        apply_rules(recipe, detect(tmp_path))


def test_help_tests_are_dropped_for_taurus_applications(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'gui'\n")
    (tmp_path / "gui").mkdir()
    (tmp_path / "gui" / "__init__.py").write_text("")
    recipe = (
        "package:\n  name: gui\n  version: '1'\nbuild:\n  noarch: python\n  python:\n"
        "    entry_points:\n      - gui = gui:main\nrequirements:\n  run:\n    - python\n    - taurus >=5\n"
    )
    ruled = apply_rules(recipe, detect(tmp_path))
    assert "--help" not in ruled.text
    assert "python fastconda_check.py --dist gui" in ruled.text
    assert any("taurus" in note for note in ruled.notes)


SCM_PYPROJECT = """
[build-system]
requires = ["setuptools>=64", "setuptools-scm>=8"]
build-backend = "setuptools.build_meta"

[project]
name = "tango-counter"
dynamic = ["version"]
requires-python = ">=3.9"
license = "MIT"
dependencies = ["pytango"]

[project.scripts]
Counter = "counter:main"

[tool.setuptools_scm]
"""


@pytest.mark.slow
def test_version_comes_from_the_git_tag(seed_url: str, tmp_path: Path) -> None:
    project = tmp_path / "counter"
    (project / "counter").mkdir(parents=True)
    (project / "pyproject.toml").write_text(SCM_PYPROJECT)
    (project / "counter" / "__init__.py").write_text(
        "import sys\n\ndef main():\n    print('usage: Counter instance')\n    sys.exit(0)\n"
    )
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q", project], check=True)
    subprocess.run([*git, "-C", project, "add", "."], check=True)
    subprocess.run([*git, "-C", project, "commit", "-qm", "first"], check=True)
    subprocess.run([*git, "-C", project, "tag", "v0.3.1"], check=True)
    result = build_project(project, options(seed_url, tmp_path / "channel"))
    assert result.version == "0.3.1"
    assert result.package.name.startswith("tango-counter-0.3.1-")


@pytest.mark.slow
def test_project_without_dependencies_builds_and_its_check_runs(seed_url: str, tmp_path: Path) -> None:
    # nothing in the test environment brings `packaging`: the check script takes pip's copy
    project = tmp_path / "plain"
    (project / "plain").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
        '[project]\nname = "plain-tool"\nversion = "0.1.0"\nlicense = "MIT"\n'
        '[project.scripts]\nplain = "plain:main"\n\n[tool.hatch.build.targets.wheel]\npackages = ["plain"]\n'
    )
    (project / "plain" / "__init__.py").write_text("def main():\n    print('usage: plain')\n")
    result = build_project(project, options(seed_url, tmp_path / "channel"))
    assert [(t.command, t.passed) for t in result.tests] == [
        ("python fastconda_check.py --dist plain-tool", True),
        ("plain --help", True),
    ]


OWN_RECIPE = """
context:
  version: "1.2.0"
package:
  name: tango-powersupply
  version: ${{ version }}
source:
  path: ..
build:
  noarch: python
  script: $PYTHON -m pip install . --no-deps --no-build-isolation --no-compile -q
  python:
    entry_points:
      - PowerSupply = powersupply.server:main
requirements:
  host: [python, hatchling, pip]
  run: [python, pytango, numpy]
tests:
  - script:
      - python -c "import powersupply"
about:
  license: GPL-3.0-or-later
"""

OWN_META = """
{% set version = "1.2.0" %}
package:
  name: tango-powersupply
  version: {{ version }}
source:
  path: ..
build:
  noarch: python
  script: {{ PYTHON }} -m pip install . --no-deps --no-build-isolation -q
  entry_points:
    - PowerSupply = powersupply.server:main
requirements:
  host:
    - python
    - hatchling
    - pip
  run:
    - python
    - pytango
    - numpy
test:
  imports:
    - powersupply
about:
  license: GPL-3.0-or-later  # [unix]
"""


@pytest.mark.slow
@pytest.mark.parametrize(("folder", "text"), [("recipe.yaml", OWN_RECIPE), ("meta.yaml", OWN_META)])
def test_project_with_its_own_recipe_uses_it(seed_url: str, tmp_path: Path, folder: str, text: str) -> None:
    project = tmp_path / "ps"
    shutil.copytree(EXAMPLE, project)
    (project / "recipe").mkdir()
    (project / "recipe" / folder).write_text(text)
    result = build_project(project, options(seed_url, tmp_path / "channel"))
    assert "sdist" not in result.phases  # no grayskull route
    assert any(f"recipe/{folder}" in note or "convert" in result.phases for note in result.notes)
    assert assert_consistent(tmp_path / "channel") == ["tango-powersupply"]


@pytest.mark.slow
def test_site_pins_reach_the_engine_as_variants(seed_url: str, tmp_path: Path) -> None:
    project = tmp_path / "ps"
    shutil.copytree(EXAMPLE, project)
    (project / "recipe").mkdir()
    # pytango as a bare host dependency: the variant pin decides which version is solved for
    (project / "recipe" / "recipe.yaml").write_text(
        OWN_RECIPE.replace("host: [python, hatchling, pip]", "host: [python, hatchling, pip, pytango]")
    )
    with pytest.raises(BuildFailed, match=r"pytango 1\.0\.\*"):
        build_project(project, options(seed_url, tmp_path / "channel", pins=("pytango=1.0",), test=False))
    pinned = build_project(
        project, options(seed_url, tmp_path / "channel", pins=("pytango=10.3.1",), test=False)
    )
    assert pinned.name == "tango-powersupply"


def test_a_malformed_pin_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["build", str(EXAMPLE), "-c", str(tmp_path), "-o", str(tmp_path / "out"), "--pin", "pytango"])
    assert code == ExitCode.USAGE
    assert "write NAME=VERSION" in capsys.readouterr().err


def test_check_script_does_what_pip_check_does_and_imports(seed_url: str, tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    create_environment(prefix, ["python", "pip", "packaging"], channels=[seed_url])
    script = tmp_path / "fastconda_check.py"
    script.write_text(read_template("recipe", "python/fastconda_check.py"))
    python = str(prefix / "bin" / "python")
    good = subprocess.run([python, script, "json", "packaging"], capture_output=True, text=True, check=False)
    assert good.returncode == 0, good.stderr
    assert "import packaging: ok" in good.stdout
    # a distribution whose requirement is missing, as pip check would report it
    info = prefix / SITE_PACKAGES / "broken-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: broken\nVersion: 1.0\nRequires-Dist: absent-pkg>=2\n"
    )
    bad = subprocess.run([python, script, "no_such_module"], capture_output=True, text=True, check=False)
    assert bad.returncode == 1
    # a summary line per problem names the check (fastconda reads them), after the import's traceback
    assert "FAILED import no_such_module: ModuleNotFoundError: No module named 'no_such_module'" in bad.stderr
    assert bad.stderr.index("Traceback (most recent call last):") < bad.stderr.index("FAILED import")
    assert "FAILED pip check: broken 1.0 requires absent-pkg, which is not installed." in bad.stderr


IN_TREE_BACKEND = """
from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403  (the other hooks as they are)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    open("intree/built_by.txt", "w").write("the in-tree backend")
    return _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)
"""


@pytest.mark.slow
def test_the_build_script_runs_the_projects_own_backend_from_its_backend_path(
    seed_url: str, tmp_path: Path
) -> None:
    """PEP 517 `backend-path`: the build script imports the backend from the source tree, and what it
    installs is the wheel's content only (no bytecode, no direct_url.json pointing at the build folder)."""
    root = tmp_path / "intree"
    (root / "_build").mkdir(parents=True)
    (root / "intree").mkdir()
    (root / "_build" / "backend.py").write_text(IN_TREE_BACKEND)
    (root / "intree" / "__init__.py").write_text("def main():\n    print('usage: intree')\n")
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "backend"\nbackend-path = ["_build"]\n\n'
        '[project]\nname = "intree"\nversion = "1.0"\nlicense = "MIT"\n\n'
        '[project.scripts]\nintree = "intree:main"\n\n'
        '[tool.setuptools]\npackages = ["intree"]\n[tool.setuptools.package-data]\nintree = ["*.txt"]\n'
    )
    (root / "MANIFEST.in").write_text("recursive-include _build *.py\n")
    result = build_project(root, options(seed_url, tmp_path / "channel"))
    assert all(t.passed for t in result.tests), result.tests
    files = _package_files(result.package)
    assert "site-packages/intree/built_by.txt" in files  # the in-tree backend built the wheel
    assert "site-packages/intree-1.0.dist-info/INSTALLER" in files
    assert not [f for f in files if f.endswith((".pyc", "direct_url.json"))], files


def _package_files(package: Path) -> list[str]:
    from conda_package_streaming.package_streaming import stream_conda_component

    return [member.name for _tar, member in stream_conda_component(str(package), component="pkg")]
