"""The CLI is thin and testable in-process: exit codes, --json, errors without tracebacks."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from fastconda import __version__
from fastconda.cli import ExitCode, main
from fastconda.cli._ui import Ui
from fastconda.progress import ProgressEvent
from tests.helpers import make_conda


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == ExitCode.OK
    assert __version__ in capsys.readouterr().out
    assert main(["--help"]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "channel" in out
    assert "Exit codes: 0 ok, 1 failure, 2 usage, 3 warnings" in out


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == ExitCode.USAGE
    assert main(["no-such-command"]) == ExitCode.USAGE
    assert "invalid choice" in capsys.readouterr().err
    assert main(["channel", "add"]) == ExitCode.USAGE


def test_a_run_loads_only_its_own_command() -> None:
    """Every command's module imports its stage (the build pipeline, the publisher ...): a run of one
    command loads that one only, and the full help still lists them all."""
    probe = (
        "import sys; from fastconda.cli import main; code = main(sys.argv[1:]); "
        "print(sorted(m for m in sys.modules if m.startswith('fastconda.cli.') and '._' not in m))"
    )
    for argv, loaded in (
        (["-q", "test", "--help"], ["fastconda.cli.test"]),
        (["--json", "pogo-migrate", "--help"], ["fastconda.cli.pogo"]),
    ):
        done = subprocess.run(
            [sys.executable, "-c", probe, *argv], capture_output=True, text=True, check=True
        )
        assert done.stdout.strip().splitlines()[-1] == repr(loaded), done.stdout
    done = subprocess.run([sys.executable, "-c", probe, "--help"], capture_output=True, text=True, check=True)
    assert "pogo-migrate" in done.stdout and "publish" in done.stdout
    assert "fastconda.cli.build" in done.stdout.splitlines()[-1]


def test_the_build_pipeline_loads_the_converter_and_the_fill_only_when_it_uses_them() -> None:
    """A rebuild that is skipped, or a C++ server's, converts no meta.yaml and fills nothing: the
    pipeline starts without the converter and the wheel conversion (~90 ms of imports)."""
    heavy = ("fastconda.convert", "fastconda.pipeline.fill", "fastconda.wheel.convert")
    probe = (
        "import sys, fastconda.cli.build, fastconda.pipeline.build, fastconda.pipeline.requirements; "
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    done = subprocess.run(
        [sys.executable, "-c", probe.replace("; print", "; import fastconda.pipeline.fill; print")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "fastconda.wheel.convert" in done.stdout  # the probe sees a module that is loaded


def test_progress_is_a_bar_on_a_terminal_and_plain_lines_elsewhere_without_loading_rich(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """rich draws the bar on a terminal; a CI log (a pipe) gets plain lines, and rich (~20 ms of
    start-up) is not even loaded for it."""
    for name in ("FORCE_COLOR", "TTY_INTERACTIVE", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)
    probe = (
        "import sys; from fastconda.cli import main; main(sys.argv[1:]); "
        "print('rich' in sys.modules, file=sys.stdout)"
    )
    package = make_conda(tmp_path / "b", "alpha")
    argv = [sys.executable, "-c", probe, "channel", "add", str(tmp_path / "ch"), str(package)]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "False", done.stdout + done.stderr
    assert "add [1/1]: alpha-1.0-0.conda" in done.stderr  # plain lines
    assert "\x1b[" not in done.stderr
    leader, follower = pty.openpty()
    with os.fdopen(follower, "w", encoding="utf-8") as terminal:
        ui = Ui(stderr=terminal)
        assert ui.interactive
        with ui.progress() as report:
            report(ProgressEvent("index", "noarch", 1, 2))
        terminal.flush()
    drawn = ""
    while select.select([leader], [], [], 0.5)[0]:  # everything rich wrote, in as many reads as it takes
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal's other end is closed and drained
            break
        if not chunk:
            break
        drawn += chunk.decode(errors="replace")
    os.close(leader)
    assert "index: noarch" in drawn and "1/2" in drawn and "\x1b[" in drawn  # a bar, with terminal codes
    with Path(os.devnull).open("w", encoding="utf-8") as pipe:
        assert not Ui(stderr=pipe).interactive
        monkeypatch.setenv("FORCE_COLOR", "1")  # CI systems that want colour: rich decides, as before
        assert Ui(stderr=pipe).interactive


def test_json_result_on_stdout_and_messages_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pkg = make_conda(tmp_path / "b", "alpha")
    assert main(["channel", "add", str(tmp_path / "ch"), str(pkg), "--json"]) == ExitCode.OK
    data = json.loads(capsys.readouterr().out)
    assert data["added"] == [str(tmp_path / "ch" / "noarch" / pkg.name)]
    assert main(["--json", "channel", "list", str(tmp_path / "ch")]) == ExitCode.OK
    listed = json.loads(capsys.readouterr().out)
    assert [p["name"] for p in listed["packages"]] == ["alpha"]


def test_user_error_is_one_clear_line_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("x")
    code = main(["channel", "add", str(tmp_path), str(make_conda(tmp_path / "b", "alpha"))])
    err = capsys.readouterr().err
    assert code == ExitCode.FAILURE
    assert err.startswith("error: ")
    assert "is not a conda channel" in err
    assert "Traceback" not in err


def test_bad_environment_setting_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FASTCONDA_OFFLINE", "perhaps")
    monkeypatch.chdir(tmp_path)
    assert main(["channel", "bootstrap", str(tmp_path / "ch")]) == ExitCode.USAGE
    assert "FASTCONDA_OFFLINE" in capsys.readouterr().err
    assert not (tmp_path / "ch").exists()


def test_console_script_and_module_entry_points_run() -> None:
    for argv in (
        [sys.executable, "-m", "fastconda", "--version"],
        [str(Path(sys.executable).parent / "fastconda"), "--version"],
    ):
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("fastconda ")
