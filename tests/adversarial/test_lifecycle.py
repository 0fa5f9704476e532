"""Process lifecycle: Ctrl-C at any phase, what a run leaves in temp folders and the cache.

The interruption tests run a real ``fastconda build`` (of the bundled example) in a subprocess
against the seed channel and send it SIGINT while it is in the sdist or the engine phase, to the
process or to its whole process group (what a terminal's Ctrl-C does). This test process becomes a
"child subreaper" for them, so any process fastconda started and left behind becomes our child
and can be seen (and then ended) here.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fastconda._files import file_lock, is_ready
from fastconda.channel import local as channels
from fastconda.cli import ExitCode, main
from fastconda.cxx.migrate import migrate
from fastconda.errors import BuildFailed
from fastconda.pipeline.build import build_project
from fastconda.settings import Caches, load_settings
from fastconda.tools import grayskull as grayskull_
from fastconda.tools import pep517 as sdist
from tests.conftest import REPO, needs_debian
from tests.helpers import assert_consistent, build_options, make_conda, python_project

EXAMPLE = REPO / "examples" / "pytango-powersupply"
PR_SET_CHILD_SUBREAPER = 36
PHASE_LINE = re.compile(r"(sdist|recipe|convert|test|build|index): ")


def _children() -> dict[int, str]:
    """pid → state of the processes whose parent is this process."""
    me = os.getpid()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state, ppid, ...
        if int(fields[1]) == me:
            found[int(entry.name)] = fields[0]
    return found


def _describe(pid: int) -> str:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return f"{pid} (gone)"
    return f"{pid} [{state}] {command[:200]}"


@contextlib.contextmanager
def _subreaper() -> Iterator[None]:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        pytest.skip("cannot become a child subreaper (prctl)")
    try:
        yield
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def channel(tmp_path: Path) -> Path:
    """An output channel that already holds one package."""
    out = tmp_path / "channel"
    assert main(["channel", "add", str(out), str(make_conda(tmp_path / "pkgs", "alpha"))]) == ExitCode.OK
    return out


def _interrupted_build(
    tmp_path: Path,
    channel_url: str,
    output: Path,
    *,
    phase: str | tuple[str, ...],
    delay: float,
    how: str,
    project: Path | None = None,
    extra: tuple[str, ...] = (),
) -> tuple[int, str, list[str]]:
    """Run ``fastconda build`` and send SIGINT *delay* s after it prints *phase*'s line (the first of
    the *phase* lines, for several): to the
    process, to its group (*how* "group", a terminal's Ctrl-C), or SIGTERM ("term", a cancelled CI job).

    Returns the exit code, everything it printed, and the processes it left running.
    """
    if project is None:
        project = tmp_path / "pytango-powersupply"
        shutil.copytree(EXAMPLE, project)
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {
        **os.environ,
        "TMPDIR": str(temp),
        "FASTCONDA_CACHE_DIR": str(tmp_path / "cache"),  # a cold build environment: a long sdist phase
        "FASTCONDA_WHEEL_CACHE": str(load_settings(overrides={"offline": True}).wheel_cache_dir),
    }
    argv = [sys.executable, "-m", "fastconda", "build", str(project), "-c", channel_url, "-o", str(output)]
    prefixes = tuple(f"{p}:" for p in ([phase] if isinstance(phase, str) else phase))
    before = set(_children())
    with _subreaper():
        with subprocess.Popen(
            [*argv, "--offline", *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        ) as process:  # fmt: skip
            assert process.stdout is not None
            lines = []
            for line in process.stdout:
                lines.append(line)
                if line.startswith(prefixes):
                    time.sleep(delay)
                    if how == "group":
                        os.killpg(process.pid, signal.SIGINT)
                    else:
                        os.kill(process.pid, signal.SIGTERM if how == "term" else signal.SIGINT)
                    break
            lines.append(process.stdout.read())
            code = process.wait(timeout=120)
        deadline = time.monotonic() + 0.5  # SIGKILLed processes take a moment to become zombies
        left = {pid for pid, state in _children().items() if pid not in before and state != "Z"}
        while left and time.monotonic() < deadline:
            time.sleep(0.05)
            left = {pid for pid, state in _children().items() if pid not in before and state != "Z"}
        described = sorted(_describe(pid) for pid in left)  # what they are, for the failure message
        for pid in left:  # do not leave them to the next test
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for pid in set(_children()) - before:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
    return code, "".join(lines), described


SLOW_SDIST_HOOK = """
import time

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class SlowSdist(BuildHookInterface):
    def initialize(self, version, build_data):
        time.sleep(5)
"""


def _slow_sdist_project(tmp_path: Path) -> Path:
    """The example whose sdist takes 5 s more (a real hatchling build hook of the sdist target only)."""
    project = tmp_path / "pytango-powersupply"
    shutil.copytree(EXAMPLE, project)
    (project / "slow_sdist.py").write_text(SLOW_SDIST_HOOK)
    pyproject = project / "pyproject.toml"
    hook = '\n[tool.hatch.build.targets.sdist.hooks.custom]\npath = "slow_sdist.py"\n'
    pyproject.write_text(pyproject.read_text() + hook)
    return project


@pytest.mark.parametrize(
    "case",
    [
        # while rattler installs the build backend into a new environment, or the backend runs (made
        # slow: on a fast machine the phase is shorter than any fixed delay)
        ("sdist", 0.3, "process"),
        ("sdist", 0.3, "group"),
        ("recipe", 0.05, "group"),  # grayskull
        # a cold rattler cache: the engine process unpacks the test packages (native code) during the sdist
        ("sdist", 0.8, "cold"),
        ("build", 0.4, "process"),  # while rattler-build builds and tests the package
        ("build", 0.4, "group"),
        ("build", 0.4, "term"),
    ],
    ids=["sdist", "sdist-group", "grayskull-group", "prefill", "engine", "engine-group", "engine-sigterm"],
)
def test_ctrl_c_stops_the_build_at_any_phase_and_leaves_nothing_behind(
    tmp_path: Path,
    seed_url: str,
    channel: Path,
    case: tuple[str, float, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    phase, delay, how = case
    if how == "cold":
        monkeypatch.setenv("RATTLER_CACHE_DIR", str(tmp_path / "rattler"))
        how = "process"
    before = _files(channel)
    project = _slow_sdist_project(tmp_path) if phase == "sdist" else None
    code, output, left = _interrupted_build(
        tmp_path, seed_url, channel, phase=phase, delay=delay, how=how, project=project
    )
    phases = [m.group(1) for line in output.splitlines() if (m := PHASE_LINE.match(line))]
    assert phases[-1] == phase, output  # the signal came in that phase
    assert "index:" not in output, output
    assert code == ExitCode.INTERRUPTED, output
    assert "error: interrupted" in output
    assert "Traceback" not in output
    assert left == [], f"processes left running: {left}"
    assert _files(channel) == before  # nothing added, no temp file
    assert sorted(p.name for p in (tmp_path / "tmp").iterdir()) == []  # no fastconda-build-*, grayskull-*
    cache = tmp_path / "cache"
    assert [p.name for p in (cache / "build-envs").glob(".tmp-*")] == []  # no half-made environment
    envs = (
        [p for p in (cache / "build-envs").iterdir() if p.is_dir()] if (cache / "build-envs").is_dir() else []
    )
    assert [p.name for p in envs if not is_ready(p)] == []  # nor one made in place and left half-way
    assert list((cache / "work").iterdir()) == []


@needs_debian
def test_ctrl_c_stops_a_cxx_server_build_via_the_wheel_route(
    tmp_path: Path, cxx_channel: Path, channel: Path
) -> None:
    project = tmp_path / "PowerMeter"
    shutil.copytree(REPO / "examples" / "pogo-powermeter", project)
    migrate(project)
    before = _files(channel)
    code, output, left = _interrupted_build(
        tmp_path, cxx_channel.resolve().as_uri(), channel, phase="wheel", delay=3.0, how="process",
        project=project, extra=("--via", "wheel"),
    )  # fmt: skip
    assert "wheel: building the C++ server PowerMeter" in output, output
    assert "convert:" not in output, output  # stopped while cmake and g++ were at work
    assert code == ExitCode.INTERRUPTED, output
    assert left == [], f"processes left running: {left}"
    assert _files(channel) == before
    assert sorted(p.name for p in (tmp_path / "tmp").iterdir()) == []
    assert list((tmp_path / "cache" / "work").iterdir()) == []


def _hatch_project(root: Path, name: str = "plain-tool") -> Path:
    (root / "plain").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
        f'[project]\nname = "{name}"\nversion = "0.1.0"\nlicense = "MIT"\n\n'
        '[tool.hatch.build.targets.wheel]\npackages = ["plain"]\n'
    )
    (root / "plain" / "__init__.py").write_text("")
    return root


def test_grayskull_leaves_nothing_in_the_temp_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wheels = load_settings(overrides={"offline": True}).wheel_cache_dir
    project = _hatch_project(tmp_path / "plain")
    tarball = sdist.build_sdist(
        project, tmp_path / "sdist", caches=Caches(tmp_path / "cache", wheels, offline=True)
    )
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr("tempfile.tempdir", str(temp))
    meta = grayskull_.generate_meta_yaml(tarball, tmp_path / "one")
    with grayskull_.prewarmed() as grayskull:
        again = grayskull.generate(tarball, tmp_path / "two")
    assert meta.read_text() == again.read_text()
    assert "plain-tool" in meta.read_text()
    assert sorted(p.name for p in temp.iterdir()) == []  # no grayskull-*, pip-dir-*


FAILING_RECIPE = """
package:
  name: plain-tool
  version: "0.1.0"
build:
  noarch: generic
  script: BUILD_SCRIPT
"""


def test_a_failed_build_keeps_its_work_folder_until_the_next_success(seed_url: str, tmp_path: Path) -> None:
    project = _hatch_project(tmp_path / "plain")
    (project / "recipe").mkdir()
    recipe = project / "recipe" / "recipe.yaml"
    recipe.write_text(FAILING_RECIPE.replace("BUILD_SCRIPT", "exit 3"))
    options = build_options((seed_url,), tmp_path / "channel", test=False)
    kept = []
    for _ in range(4):
        with pytest.raises(BuildFailed) as info:
            build_project(project, options)
        message = str(info.value)
        # rattler-build's hint points into the work folder: it must still be there
        hint = next(line for line in message.splitlines() if "./conda_build.sh" in line)
        folder = Path(hint.split('"')[1])
        assert (folder / "conda_build.sh").is_file(), message
        assert "work folder kept: " in message
        kept.append(Path(message.split("work folder kept: ")[1].split(" (", maxsplit=1)[0]))
        assert folder.is_relative_to(kept[-1])
        time.sleep(0.01)  # distinct modification times
    work = options.cache_dir / "work"
    assert sorted(work.iterdir()) == sorted(kept[-3:])  # only the last three failures
    recipe.write_text(FAILING_RECIPE.replace("BUILD_SCRIPT", "echo ok"))
    build_project(project, options)
    assert list(work.iterdir()) == []


def _immutable(folder: Path) -> contextlib.AbstractContextManager[None]:
    """A folder nobody may write into, root included (chattr +i); chmod for others."""

    @contextlib.contextmanager
    def flagged() -> Iterator[None]:
        if os.geteuid() != 0:
            folder.chmod(0o555)
            try:
                yield
            finally:
                folder.chmod(0o755)
            return
        if subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False).returncode:
            pytest.skip("root cannot make a read-only folder here (chattr +i)")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(folder)], check=True)

    return flagged()


def test_read_only_channel_subfolder_is_refused_before_building(
    tmp_path: Path, channel: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FASTCONDA_CACHE_DIR", str(tmp_path / "cache"))
    project = tmp_path / "ps"
    shutil.copytree(EXAMPLE, project)
    before = _files(channel)
    with _immutable(channel / "noarch"):
        code = main(["build", str(project), "-c", str(channel), "-o", str(channel), "--offline"])
    err = capsys.readouterr().err
    assert code == ExitCode.FAILURE
    assert err.startswith("error: cannot write into ")
    assert str(channel / "noarch") in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "cache" / "build-envs").exists()  # refused before any work
    assert _files(channel) == before


def test_an_os_error_that_escapes_is_one_line_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("not a project")
    report = Path("/proc/fastconda-no-such-folder/report.xml")  # cannot be created, not even by root
    code = main(
        ["build", str(tmp_path), "-c", str(tmp_path), "-o", str(tmp_path / "out"), "--junit", str(report)]
    )
    err = capsys.readouterr().err
    assert code == ExitCode.FAILURE
    assert err.startswith("error: ")
    assert "/proc/fastconda-no-such-folder" in err
    assert len(err.strip().splitlines()) == 1


def _fill(cache: Path) -> dict[str, Path]:
    entries = {
        "env": cache / "build-envs" / "0123456789abcdef",
        "scratch": cache / "build-envs" / ".tmp-0123456789abcdef-x1",
        "busy_env": cache / "build-envs" / "fedcba9876543210",
        "record": cache / "builds" / "abc.json",
        "work": cache / "work" / "plain-tool-20260101-000000-abc",
        "seed": cache / "packages" / "python" / "x",
        "wheel": cache / "wheels" / "pip-24.0-py3-none-any.whl",
        "deb": cache / "debs" / "libtango9_9.3.4_amd64.deb",
    }
    for path in entries.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix in {".json", ".whl", ".deb"}:
            path.write_bytes(b"x" * 1000)
        else:
            path.mkdir()
            (path / "file").write_bytes(b"y" * 2000)
    return entries


def test_cache_info_shows_each_area_and_clean_removes_what_can_be_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("FASTCONDA_CACHE_DIR", str(cache))
    entries = _fill(cache)
    assert main(["cache", "info", "--json"]) == ExitCode.OK
    data = json.loads(capsys.readouterr().out)
    assert data["path"] == str(cache)
    areas = {a["name"]: a for a in data["areas"]}
    assert areas["build-envs"]["entries"] == 3
    assert areas["build-envs"]["size"] == 6000
    assert areas["wheels"]["size"] == 1000
    assert areas["wheels"]["rebuildable"] is False
    assert main(["cache", "info"]) == ExitCode.OK
    assert "build-envs" in capsys.readouterr().out
    # a build holds this environment (sdist.build holds its lock shared while it uses it)
    with file_lock(cache / "build-envs" / "fedcba9876543210.lock", shared=True):
        assert main(["cache", "clean"]) == ExitCode.OK
    captured = capsys.readouterr()
    assert "removed 5 entries" in captured.out
    assert "a running build uses it" in captured.err
    assert entries["busy_env"].is_dir()
    assert entries["wheel"].is_file() and entries["deb"].is_file()  # downloads stay
    for name in ("env", "scratch", "record", "work"):
        assert not entries[name].exists(), name
    assert not (cache / "packages" / "python").exists()
    # a seed bootstrap making an entry right now (no locks there: its scratch folder is young)
    (cache / "packages" / "wheels" / ".tmp-abc").mkdir(parents=True)
    assert main(["cache", "clean"]) == ExitCode.OK
    assert (cache / "packages" / "wheels" / ".tmp-abc").is_dir()


def test_cache_clean_older_than_keeps_what_was_used_recently(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("FASTCONDA_CACHE_DIR", str(cache))
    entries = _fill(cache)
    old = time.time() - 10 * 86400
    for name in ("env", "record"):
        os.utime(entries[name], (old, old))
    assert main(["cache", "clean", "--older-than", "5", "--json"]) == ExitCode.OK
    data = json.loads(capsys.readouterr().out)
    assert sorted(data["removed"]) == sorted([str(entries["env"]), str(entries["record"])])
    assert entries["scratch"].is_dir() and entries["work"].is_dir()
    assert main(["cache", "clean", "--older-than", "soon"]) == ExitCode.USAGE


def test_a_build_environment_in_use_is_marked_used(tmp_path: Path) -> None:
    wheels = load_settings(overrides={"offline": True}).wheel_cache_dir
    project = _hatch_project(tmp_path / "plain")
    cache = tmp_path / "cache"
    sdist.build_sdist(project, tmp_path / "one", caches=Caches(cache, wheels, offline=True))
    (env,) = [p for p in (cache / "build-envs").iterdir() if p.is_dir()]
    os.utime(env, (1, 1))
    sdist.build_sdist(project, tmp_path / "two", caches=Caches(cache, wheels, offline=True))
    assert env.stat().st_mtime > time.time() - 60


def test_ctrl_c_while_the_package_is_added_finishes_the_commit_then_stops(
    seed_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _hatch_project(tmp_path / "plain")
    (project / "recipe").mkdir()
    (project / "recipe" / "recipe.yaml").write_text(FAILING_RECIPE.replace("BUILD_SCRIPT", "echo ok"))
    real = channels.add_packages

    def interrupted_add(*args: Any, **kwargs: Any) -> Any:
        # stands for a Ctrl-C that lands in the few milliseconds of the commit (cannot be timed)
        os.kill(os.getpid(), signal.SIGINT)
        return real(*args, **kwargs)

    monkeypatch.setattr(channels, "add_packages", interrupted_add)
    options = build_options((seed_url,), tmp_path / "channel", test=False)
    with pytest.raises(KeyboardInterrupt):
        build_project(project, options)
    monkeypatch.undo()
    repodata = json.loads((tmp_path / "channel" / "noarch" / "repodata.json").read_text())
    assert [r["name"] for r in repodata["packages.conda"].values()] == ["plain-tool"]  # whole, listed
    assert build_project(project, options).skipped  # and recorded: the rerun has nothing to do


def test_ctrl_c_stops_every_build_of_a_set_and_leaves_nothing_behind(
    tmp_path: Path, seed_url: str, channel: Path
) -> None:
    root = tmp_path / "set"
    for name in ("a", "b", "c"):  # independent: -j 2 builds two at once, the third waits
        python_project(root / name, f"proj-{name}")
    # The Ctrl-C comes 0.2 s after the first of the two running builds starts its engine: neither can
    # have ended by then (the engine, the test and the index take longer), so the third has not begun
    # before the Ctrl-C; one of them ending first would start it with no fault (a flake seen in CI).
    code, output, left = _interrupted_build(
        tmp_path, seed_url, channel, phase=("proj-a: build", "proj-b: build"), delay=0.2, how="group",
        project=root, extra=("-j", "2"),
    )  # fmt: skip
    assert code == ExitCode.INTERRUPTED, output
    assert "error: interrupted" in output
    assert "Traceback" not in output
    assert "proj-c: " not in output  # not started after the Ctrl-C
    assert "proj-a: index" not in output  # each stopped at its next step, not built to the end
    assert "proj-b: index" not in output
    assert left == [], f"processes left running: {left}"
    assert set(assert_consistent(channel)) == {"alpha"}  # nothing of theirs
    assert list(channel.rglob(f"{channels.TEMP_PREFIX}*")) == []  # no half-written file
    assert sorted(p.name for p in (tmp_path / "tmp").iterdir()) == []
    assert list((tmp_path / "cache" / "work").iterdir()) == []
