"""``fastconda test``: checks run in a fresh environment; failures show their output and exit 1."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from fastconda.channel.local import add_packages
from fastconda.cli import ExitCode, main
from fastconda.settings import PackageTestSettings
from fastconda.testing.installed import top_level_modules
from fastconda.testing.package import Outcome, run_package_tests
from fastconda.wheel import WheelOptions, wheel_to_conda
from tests.helpers import SITE_PACKAGES, make_conda
from tests.wheel.wheelmaker import make_wheel

QUICK = PackageTestSettings(pip_check=False)


def _package(folder: Path, name: str = "demo_pkg", **wheel: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    built = make_wheel(folder, name, **wheel)  # type: ignore[arg-type]
    return wheel_to_conda(built, folder / "out", WheelOptions(python="3.11")).path


def _channels(*extra: Path, seed: Path) -> list[str]:
    return [*(p.resolve().as_uri() for p in extra), seed.resolve().as_uri()]


def test_top_level_modules_come_from_the_installed_files() -> None:
    site = "lib/python3.11/site-packages"
    files = [
        f"{site}/pkg/__init__.py",
        f"{site}/pkg/sub/__init__.py",
        f"{site}/single.py",
        f"{site}/_speedups.cpython-311-x86_64-linux-gnu.so",
        f"{site}/ns/plugin/__init__.py",
        f"{site}/pkg-1.0.dist-info/METADATA",
        f"{site}/not-a-module.py",
        f"{site}/extra.pth",
        f"{site}/__pycache__/single.cpython-311.pyc",
        "bin/tool",
        "share/doc/readme.txt",
    ]
    assert top_level_modules(files) == ("_speedups", "ns.plugin", "pkg", "single")


def test_a_passing_package_reports_every_check(seed_channel: Path, tmp_path: Path) -> None:
    code = "import sys\ndef main():\n    sys.exit(0)\n"
    package = _package(
        tmp_path,
        entry_points="[console_scripts]\ndemo = demo_pkg:main\n",
        files={"demo_pkg/__init__.py": code},
    )
    result = run_package_tests(package, _channels(seed=seed_channel), cwd=tmp_path)
    assert result.ok
    assert [(c.kind, c.name, c.outcome) for c in result.checks] == [
        ("install", f"demo-pkg ==1.0 {result.build}", Outcome.PASSED),
        ("import", "demo_pkg", Outcome.PASSED),
        ("pip-check", "pip check", Outcome.PASSED),
        ("entry-point", "demo --help", Outcome.PASSED),
    ]
    assert not result.prefix.exists(), "the environment is removed unless --keep"


def test_an_unmet_requirement_fails_the_pip_check_with_the_requirement_named(
    seed_channel: Path, tmp_path: Path
) -> None:
    # the conda package depends on `python` where the wheel requires absent-pkg (a wrong name map):
    # it installs, and only the requirement check sees it (run in the import process, without pip)
    wheel = make_wheel(tmp_path, "demo_pkg", metadata="Requires-Dist: absent-pkg>=2\n")
    options = WheelOptions(python="3.11", name_map={"absent-pkg": "python"})
    package = wheel_to_conda(wheel, tmp_path / "out", options).path
    result = run_package_tests(package, _channels(seed=seed_channel))
    [check] = [c for c in result.checks if c.kind == "pip-check"]
    assert check.failed
    assert check.error == "demo-pkg 1.0 requires absent-pkg, which is not installed."
    assert [c.outcome for c in result.checks if c.kind == "import"] == [Outcome.PASSED]


def test_the_environment_holds_what_the_package_needs_and_nothing_for_the_checks(
    seed_channel: Path, tmp_path: Path
) -> None:
    # the requirement check parses with fastconda's own packaging when the environment has none: a
    # package that uses pip (or packaging) without requiring it fails, as it would for its users
    package = _package(tmp_path, files={"demo_pkg/__init__.py": "import pip\n"})
    result = run_package_tests(package, _channels(seed=seed_channel))
    assert sorted(p.split()[0] for p in result.packages) == ["demo-pkg", "python", "python_abi"]
    [imported] = [c for c in result.checks if c.kind == "import"]
    assert imported.failed and imported.error.startswith("ModuleNotFoundError: No module named 'pip'")
    [check] = [c for c in result.checks if c.kind == "pip-check"]
    assert check.outcome is Outcome.PASSED, check.output


def test_a_package_in_the_first_channel_is_installed_from_it_unless_its_index_differs(
    seed_channel: Path, tmp_path: Path
) -> None:
    from fastconda.testing.package import _target

    package = _package(tmp_path / "built")
    channel = tmp_path / "channel"
    [info] = add_packages(channel, [package]).added
    added = info.path
    urls = _channels(channel, seed=seed_channel)
    assert _target(added, tmp_path / "s1", urls).channel is None, "no throw-away channel for it"
    assert _target(added, tmp_path / "s2", list(reversed(urls))).channel is not None, "not the first channel"
    assert _target(package, tmp_path / "s3", urls).channel is not None, "a copy elsewhere is not that file"
    assert run_package_tests(added, urls, QUICK).ok
    added.write_bytes(_package(tmp_path / "other", files={"demo_pkg/__init__.py": "X = 2\n"}).read_bytes())
    scratch = _target(
        added, tmp_path / "s4", urls
    ).channel  # replaced after indexing: not what the index says
    assert scratch is not None and scratch.startswith((tmp_path / "s4").as_uri())
    assert run_package_tests(added, urls, QUICK).ok


def test_failing_import_and_entry_point_fail_with_their_output(
    seed_channel: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    package = _package(
        tmp_path,
        "broken_pkg",
        files={"broken_pkg/__init__.py": "import not_there_xyz\n"},
        entry_points="[console_scripts]\nbroken = broken_pkg:main\n",
    )
    junit = tmp_path / "report" / "junit.xml"
    args = ["test", str(package), "-c", str(seed_channel), "--no-pip-check", "--junit", str(junit)]
    assert main(args) == ExitCode.FAILURE
    captured = capsys.readouterr()
    assert "FAIL import: broken_pkg" in captured.out
    assert "FAIL entry-point: broken --help" in captured.out
    assert "error: import broken_pkg failed:" in captured.err
    assert "No module named 'not_there_xyz'" in captured.err
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("3", "2")
    failures = [c for c in suite.iter("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failures] == ["broken_pkg", "broken --help"]
    assert "No module named 'not_there_xyz'" in (failures[0].findtext("failure") or "")


def test_user_commands_run_in_the_environment_and_a_failing_one_fails(
    seed_channel: Path, tmp_path: Path
) -> None:
    package = _package(tmp_path)
    commands = (
        "python -c 'import demo_pkg, sys; assert sys.prefix == \"'$CONDA_PREFIX'\"; print(demo_pkg.VALUE)'",
        "echo visible-output && exit 3",
    )
    settings = PackageTestSettings(pip_check=False, commands=commands)
    result = run_package_tests(package, _channels(seed=seed_channel), settings, cwd=tmp_path)
    assert not result.ok
    first, second = (c for c in result.checks if c.kind == "command")
    assert first.outcome is Outcome.PASSED, first.output
    assert second.outcome is Outcome.FAILED
    assert "exit code 3" in second.output
    assert "visible-output" in second.output


def test_keep_leaves_the_environment(
    seed_channel: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    package = _package(tmp_path)
    assert main(["test", str(package), "-c", str(seed_channel), "--no-pip-check", "--keep", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    prefix = Path(data["prefix"])
    try:
        assert data["kept"] and (prefix / "bin" / "python").exists()
        assert (prefix / SITE_PACKAGES / "demo_pkg" / "__init__.py").exists()
    finally:
        shutil.rmtree(prefix.parent)


def test_entry_points_of_taurus_applications_are_not_asked_for_help(
    seed_channel: Path, tmp_path: Path
) -> None:
    taurus_channel = tmp_path / "taurus-channel"
    add_packages(taurus_channel, [make_conda(tmp_path / "t", "taurus", "5.1")])
    package = _package(
        tmp_path,
        metadata="Requires-Dist: taurus\n",
        entry_points="[console_scripts]\ndemo-gui = demo_pkg:main\n",
    )
    result = run_package_tests(package, _channels(taurus_channel, seed=seed_channel), QUICK, cwd=tmp_path)
    assert result.ok
    (check,) = (c for c in result.checks if c.kind == "entry-point")
    assert check.outcome is Outcome.SKIPPED
    assert "taurus" in check.output


def test_unsolvable_requirements_fail_the_install_check(seed_channel: Path, tmp_path: Path) -> None:
    package = _package(tmp_path, metadata="Requires-Dist: no-such-dependency>=1\n")
    result = run_package_tests(package, _channels(seed=seed_channel), QUICK, cwd=tmp_path)
    assert not result.ok
    (install,) = result.checks
    assert install.kind == "install"
    assert "no-such-dependency" in install.output


def test_settings_come_from_pyproject_and_flags_win(
    seed_channel: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    package = _package(tmp_path / "pkg")
    (tmp_path / "pyproject.toml").write_text(
        "[tool.fastconda.test]\npip-check = false\ncommands = ['test -x \"$PREFIX/bin/python\"']\n"
        "imports = ['json']\n"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["test", str(package), "-c", str(seed_channel), "--json"]) == ExitCode.OK
    checks = [(c["kind"], c["name"]) for c in json.loads(capsys.readouterr().out)["checks"]]
    assert checks[1:] == [("import", "json"), ("command", 'test -x "$PREFIX/bin/python"')]
    assert main(["test", str(package), "-c", str(seed_channel), "--command", "false", "--json"]) == 1
    checks = [(c["kind"], c["name"]) for c in json.loads(capsys.readouterr().out)["checks"]]
    assert checks[-1] == ("command", "false")


@pytest.mark.slow
def test_pytest_suite_runs_against_the_installed_package(
    wheel_channel: Path, seed_channel: Path, tmp_path: Path
) -> None:
    package = _package(tmp_path)
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_demo.py").write_text(
        "import demo_pkg\n\ndef test_value():\n    assert demo_pkg.VALUE == 1\n\n"
        "def test_wrong():\n    assert demo_pkg.VALUE == 2\n"
    )
    settings = PackageTestSettings(pip_check=False, pytest=suite)
    result = run_package_tests(package, _channels(wheel_channel, seed=seed_channel), settings, cwd=tmp_path)
    (check,) = (c for c in result.checks if c.kind == "pytest")
    assert check.outcome is Outcome.FAILED
    assert "1 failed, 1 passed" in check.output
    assert "assert 1 == 2" in check.output


@pytest.mark.slow
def test_a_package_from_a_channel_by_name(wheel_channel: Path, seed_channel: Path, tmp_path: Path) -> None:
    result = run_package_tests("idna >=3", _channels(wheel_channel, seed=seed_channel), cwd=tmp_path)
    assert result.ok, [c.output for c in result.failures]
    assert (result.name, result.version) == ("idna", "3.20")
    assert ("entry-point", "idna --help") in [(c.kind, c.name) for c in result.checks]
