"""``fastconda build PATH...``: a set of projects read, ordered, and built in dependency order against
the packages just built (the real engine and the offline seed channel for the builds)."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from fastconda.cli import ExitCode, main
from fastconda.cxx.migrate import migrate
from fastconda.errors import ProjectError
from fastconda.pipeline.many import Outcome, SetOptions, build_set
from fastconda.pipeline.project_set import Member, changed_since, find_projects, plan, read_member
from fastconda.progress import null_progress
from tests.conftest import REPO, needs_debian
from tests.helpers import build_options, python_project

EXAMPLE_CXX = REPO / "examples" / "pogo-powermeter"
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false"]


# B prints the version of A that its test environment holds: built against A just built, not another
SHOWS_A = "from importlib.metadata import version; print('usage: proj-b with proj-a', version('proj-a'))"


def test_a_folder_of_projects_is_read_and_ordered_each_after_what_it_needs(tmp_path: Path) -> None:
    python_project(
        tmp_path / "b", "proj-b", needs=("proj-a >=0.3", "numpy", "proj-c; sys_platform == 'win32'")
    )
    python_project(tmp_path / "a", "proj-a", needs=("pytango",))
    python_project(tmp_path / "c", "proj-c")
    projects = plan([tmp_path])
    assert [m.package for m in projects.members] == ["proj-a", "proj-b", "proj-c"]
    assert projects.depends[tmp_path / "b"] == (tmp_path / "a",)
    assert projects.depends[tmp_path / "c"] == ()
    assert projects.dependents([tmp_path / "a"]) == {tmp_path / "a", tmp_path / "b"}


def test_the_search_skips_hidden_build_and_ignored_folders_and_a_project_s_own_subfolders(
    tmp_path: Path,
) -> None:
    python_project(tmp_path / "servers" / "one", "one")
    (tmp_path / "servers" / "one" / "docs").mkdir()
    (tmp_path / "servers" / "one" / "docs" / "setup.py").write_text("")  # inside a project: its own
    for skipped in (".hidden/x", "venv/lib/x", "build/x", "scratch/x"):
        python_project(tmp_path / skipped, skipped.replace("/", "-").strip(".-"))
    (tmp_path / ".gitignore").write_text("scratch/\n")
    assert find_projects([tmp_path]) == [tmp_path / "scratch" / "x", tmp_path / "servers" / "one"]
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    assert find_projects([tmp_path]) == [tmp_path / "servers" / "one"]  # git applies .gitignore
    python_project(tmp_path / "clones" / "other" / "tool", "tool")  # a clone of its own, inside
    subprocess.run(["git", "init", "-q", str(tmp_path / "clones" / "other")], check=True)
    assert find_projects([tmp_path]) == [tmp_path / "clones" / "other" / "tool", tmp_path / "servers" / "one"]


def test_a_recipe_s_package_name_and_requirements_are_read_from_it(tmp_path: Path) -> None:
    project = python_project(tmp_path / "p", "pypi-name")
    (project / "recipe").mkdir()
    (project / "recipe" / "recipe.yaml").write_text(
        'context:\n  name: Tango-Thing\npackage:\n  name: ${{ name | lower }}\n  version: "1"\n'
        "requirements:\n  host: [python, pip]\n  run:\n    - proj-a >=1\n"
        "    - if: linux\n      then: other-lib\n"
    )
    member = read_member(project)
    assert member.packages == ("tango-thing",)
    assert {"proj-a", "other-lib", "python"} <= member.needs
    meta = tmp_path / "m"
    meta.mkdir()
    (meta / "CMakeLists.txt").write_text("project(X VERSION 1.0)\nadd_executable(X main.cpp)\n")
    (meta / "meta.yaml").write_text(
        '{% set name = "Meta-Pkg" %}\npackage:\n  name: {{ name|lower }}\n  version: "1"\n'
        "requirements:\n  host:\n    - proj-a\n"
    )
    assert read_member(meta) == Member(meta, ("meta-pkg",), frozenset({"proj-a"}))


def test_a_cmake_server_is_named_after_its_cmake_project(tmp_path: Path) -> None:
    (tmp_path / "CMakeLists.txt").write_text(
        "project(MyServer VERSION 1.0)\nadd_executable(MyServer a.cpp)\n"
    )
    assert read_member(tmp_path).packages == ("myserver",)


def test_a_cycle_is_an_error_that_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    python_project(tmp_path / "a", "proj-a", needs=("proj-c",))
    python_project(tmp_path / "b", "proj-b", needs=("proj-a",))
    python_project(tmp_path / "c", "proj-c", needs=("proj-b",))
    python_project(tmp_path / "d", "proj-d", needs=("proj-a",))
    with pytest.raises(
        ProjectError, match=r"cycle: proj-a \(a\) → proj-c \(c\) → proj-b \(b\) → proj-a \(a\)"
    ):
        plan([tmp_path])
    assert main(["build", str(tmp_path), "-o", str(tmp_path / "out")]) == ExitCode.FAILURE
    assert "cycle" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # nothing built


def test_two_projects_making_one_package_and_an_unreadable_name_are_errors_before_building(
    tmp_path: Path,
) -> None:
    python_project(tmp_path / "one", "Same_Name")
    python_project(tmp_path / "two", "same-name")
    with pytest.raises(ProjectError, match=r"two projects make the package same-name: .*one and .*two"):
        plan([tmp_path])
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "setup.py").write_text("from setuptools import setup\nsetup(name='legacy')\n")
    with pytest.raises(ProjectError, match=r"cannot read the package name of .*legacy: no pyproject.toml"):
        plan([tmp_path / "one", legacy])


def test_changed_since_names_the_projects_with_changed_or_new_files(tmp_path: Path) -> None:
    python_project(tmp_path / "a", "proj-a")
    python_project(tmp_path / "b", "proj-b", needs=("proj-a",))
    python_project(tmp_path / "c", "proj-c")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run([*GIT, "-C", str(tmp_path), "add", "."], check=True)
    subprocess.run([*GIT, "-C", str(tmp_path), "commit", "-qm", "first"], check=True)
    projects = plan([tmp_path])
    assert changed_since(projects.members, "HEAD") == set()
    (tmp_path / "a" / "proj_a" / "more.py").write_text("")  # new, untracked
    (tmp_path / "README.md").write_text("")  # in no project
    assert changed_since(projects.members, "HEAD") == {tmp_path / "a"}
    with pytest.raises(ProjectError, match="--changed-since no-such-ref: git in"):
        changed_since(projects.members, "no-such-ref")


def test_failures_before_any_work_stop_the_set_or_with_keep_going_not_what_is_independent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # each fails at once: a remote channel offline, a pin that is no NAME=VERSION ([tool.fastconda])
    remote = python_project(tmp_path / "x", "proj-x")
    with (remote / "pyproject.toml").open("a") as handle:
        handle.write('\n[tool.fastconda]\nchannels = ["conda-forge"]\n')
    python_project(tmp_path / "y", "proj-y", needs=("proj-x",))
    pinned = python_project(tmp_path / "z", "proj-z")
    with (pinned / "pyproject.toml").open("a") as handle:
        handle.write(f'\n[tool.fastconda]\nchannels = ["{tmp_path.as_uri()}"]\npins = ["pytango"]\n')
    argv = ["build", str(tmp_path), "-o", str(tmp_path / "out"), "--offline", "-j", "1", "--json"]
    assert main(argv) == ExitCode.FAILURE
    records = {r["package"]: r for r in json.loads(capsys.readouterr().out)["projects"]}
    assert [(n, r["result"], r["phase"]) for n, r in records.items()] == [
        ("proj-x", "failed", "setup"),
        ("proj-y", "not built", None),
        ("proj-z", "not built", None),
    ]
    assert records["proj-x"]["error"].startswith("channel conda-forge cannot be reached offline")
    assert records["proj-y"]["reason"] == "depends on proj-x, which failed"
    assert main([*argv, "--keep-going"]) == ExitCode.FAILURE
    captured = capsys.readouterr()
    records = {r["package"]: r for r in json.loads(captured.out)["projects"]}
    assert records["proj-z"]["result"] == "failed"  # tried: it does not depend on proj-x
    assert "invalid pin 'pytango'" in records["proj-z"]["error"]
    assert "error: proj-x: channel conda-forge cannot be reached offline" in captured.err
    assert main(["build", str(tmp_path), "-j", "0"]) == ExitCode.USAGE


# -- builds (each ~3 s) --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SetBuilt:
    root: Path
    output: Path
    outcomes: dict[str, Outcome]


def _run(root: Path, seed_url: str, output: Path, **settings: object) -> dict[str, Outcome]:
    projects = plan([root])
    outcomes = build_set(
        projects,
        lambda member: build_options((seed_url,), output),
        SetOptions(**settings),  # type: ignore[arg-type]
        progress_for=lambda member: null_progress,
    )
    return {o.member.package: o for o in outcomes}


@pytest.fixture(scope="module")
def set_built(seed_channel: Path, tmp_path_factory: pytest.TempPathFactory) -> SetBuilt:
    root = tmp_path_factory.mktemp("set")
    python_project(root / "a", "proj-a")
    python_project(root / "b", "proj-b", needs=("proj-a >=0.3",), script=SHOWS_A)
    python_project(root / "c", "proj-c")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run([*GIT, "-C", str(root), "add", "."], check=True)
    subprocess.run([*GIT, "-C", str(root), "commit", "-qm", "first"], check=True)
    output = root / "channel"
    return SetBuilt(root, output, _run(root, seed_channel.resolve().as_uri(), output, jobs=2))


def _help_output(outcome: Outcome) -> str:
    assert outcome.result is not None
    return "\n".join(line for t in outcome.result.tests if "--help" in t.command for line in t.output)


@pytest.mark.slow
def test_a_set_builds_in_order_each_against_the_packages_just_built(set_built: SetBuilt) -> None:
    outcomes = set_built.outcomes
    assert {name: o.state for name, o in outcomes.items()} == {
        "proj-a": "built",
        "proj-b": "built",
        "proj-c": "built",
    }
    assert "proj-b with proj-a 0.3.0" in _help_output(outcomes["proj-b"])  # A is in no other channel


@pytest.mark.slow
def test_a_second_run_skips_all_and_changed_since_rebuilds_what_changed_and_its_dependents(
    set_built: SetBuilt, seed_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FASTCONDA_CACHE_DIR", str(set_built.output.parent / "build-cache"))  # the fixture's
    argv = ["build", str(set_built.root), "-c", seed_url, "-o", str(set_built.output), "--offline"]
    assert main([*argv, "--json"]) == ExitCode.OK
    again = json.loads(capsys.readouterr().out)["projects"]
    assert [(r["package"], r["result"]) for r in again] == [
        ("proj-a", "skipped"),
        ("proj-b", "skipped"),
        ("proj-c", "skipped"),
    ]
    a = set_built.root / "a"
    (a / "pyproject.toml").write_text((a / "pyproject.toml").read_text().replace("0.3.0", "0.3.1"))
    assert main([*argv, "--changed-since", "HEAD"]) == ExitCode.OK
    summary = capsys.readouterr().out.splitlines()
    assert summary[0].split() == ["project", "package", "result", "seconds", "phase", "error"]
    rows = {line.split()[1]: line.split()[2:] for line in summary[1:]}
    assert rows["proj-a"][0] == "built"
    assert rows["proj-b"][0] == "built"  # against the new A
    assert rows["proj-c"][:3] == ["unchanged", "since", "HEAD"]
    assert main([*argv, "--json"]) == ExitCode.OK  # all recorded now, B with the new A: skipped
    assert {r["result"] for r in json.loads(capsys.readouterr().out)["projects"]} == {"skipped"}
    # B alone changes: its dependency not built in that run, the next full run still finds B's record
    subprocess.run([*GIT, "-C", str(set_built.root), "commit", "-qam", "A 0.3.1"], check=True)
    b = set_built.root / "b"
    (b / "pyproject.toml").write_text((b / "pyproject.toml").read_text().replace("0.3.0", "0.3.2"))
    assert main([*argv, "--changed-since", "HEAD", "--json"]) == ExitCode.OK
    results = {r["package"]: r["result"] for r in json.loads(capsys.readouterr().out)["projects"]}
    assert results == {"proj-a": "unchanged", "proj-b": "built", "proj-c": "unchanged"}
    assert main([*argv, "--json"]) == ExitCode.OK
    assert {r["result"] for r in json.loads(capsys.readouterr().out)["projects"]} == {"skipped"}


@pytest.mark.slow
def test_a_failure_stops_the_set_and_keep_going_builds_what_does_not_depend_on_it(
    seed_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "set"
    python_project(root / "a", "proj-a")
    python_project(root / "b", "proj-b", needs=("proj-a", "no-such-package"))  # fails in the middle
    python_project(root / "c", "proj-c", needs=("proj-b",))
    python_project(root / "d", "proj-d")
    output = tmp_path / "channel"
    stopped = _run(root, seed_url, output, jobs=1)
    assert [(n, o.state) for n, o in stopped.items()] == [
        ("proj-a", "built"),
        ("proj-b", "failed"),
        ("proj-c", "not built"),
        ("proj-d", "not built"),
    ]
    assert stopped["proj-b"].phase == "recipe"
    assert stopped["proj-b"].error.startswith("requirements missing from the channels: no-such-package")
    assert stopped["proj-c"].summary == "not built (depends on proj-b, which failed)"
    assert stopped["proj-d"].reason == "proj-b failed; --keep-going builds what does not depend on it"
    monkeypatch.setenv(
        "FASTCONDA_CACHE_DIR", str(output.parent / "build-cache")
    )  # the records of the run above
    report = tmp_path / "junit.xml"
    argv = ["build", str(root), "-c", seed_url, "-o", str(output), "--offline", "-j", "2", "--keep-going"]
    assert main([*argv, "--json", "--junit", str(report)]) == ExitCode.FAILURE
    captured = capsys.readouterr()
    going = {r["package"]: r for r in json.loads(captured.out)["projects"]}
    # builds side by side: every progress line names its project
    lines = captured.err.splitlines()
    assert lines[0] == "4 projects, in build order: proj-a, proj-b, proj-c, proj-d"
    progress = [line for line in lines[1:] if not line.startswith(("error: ", "  "))]
    assert {line.split(": ")[0] for line in progress} == {"proj-b", "proj-d"}  # proj-a: skipped, silently
    assert {n: (r["result"], r["reason"]) for n, r in going.items()} == {
        "proj-a": ("skipped", None),
        "proj-b": ("failed", None),
        "proj-c": ("not built", "depends on proj-b, which failed"),
        "proj-d": ("built", None),
    }
    assert going["proj-b"]["phase"] == "recipe"
    suites = {s.get("name"): s for s in ET.parse(report).getroot().iter("testsuite")}
    assert [(name, s.get("failures"), s.get("skipped")) for name, s in suites.items()] == [
        ("fastconda build proj-a", "0", "1"),
        ("fastconda build proj-b", "1", "0"),
        ("fastconda build proj-c", "0", "1"),
        ("fastconda build proj-d", "0", "0"),
    ]
    skipped = suites["fastconda build proj-c"].find("testcase/skipped")
    assert skipped is not None
    assert skipped.get("message") == "not built (depends on proj-b, which failed)"


@pytest.mark.slow
@needs_debian
def test_a_cmake_server_and_a_python_project_build_side_by_side(cxx_channel: Path, tmp_path: Path) -> None:
    root = tmp_path / "set"
    migrate(Path(shutil.copytree(EXAMPLE_CXX, root / "powermeter")))
    python_project(root / "client", "proj-client")
    built = _run(root, cxx_channel.resolve().as_uri(), tmp_path / "channel", jobs=2, cpus=2)  # a CPU each
    assert {n: o.state for n, o in built.items()} == {"powermeter": "built", "proj-client": "built"}
    assert built["powermeter"].result is not None
    assert built["powermeter"].result.package.parent.name == "linux-64"
