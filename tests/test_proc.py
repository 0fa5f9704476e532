"""The subprocess helper under a Ctrl-C that lands inside ``Popen``: after the fork, before it returns.

The real ``Popen`` starts a real child; the wrapper only raises the signal at the moment a terminal's
Ctrl-C (or a cancelled CI job's SIGTERM) can come, which a test cannot hit by timing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fastconda import _proc
from fastconda.cli import _terminated
from fastconda.errors import CommandError

# writes into its temp folder, then waits: it would outlive fastconda and keep the folder alive
CHILD = "import os, time; open(os.path.join(os.environ['TMPDIR'], 'left'), 'w').close(); time.sleep(60)"


@pytest.fixture
def sigterm_raises() -> Iterator[None]:
    """SIGTERM handled as the CLI handles it (a KeyboardInterrupt), as during a build."""
    previous = signal.signal(signal.SIGTERM, _terminated)
    yield
    signal.signal(signal.SIGTERM, previous)


class SignalInPopen:
    """``subprocess.Popen`` that starts the child, then receives *number* before returning."""

    def __init__(self, number: int, *, fail: bool = False) -> None:
        self.number, self.fail = number, fail
        self.started: list[subprocess.Popen[Any]] = []
        self.folders: list[Path] = []
        self.real = subprocess.Popen

    def __call__(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
        self.folders.append(Path(kwargs["env"]["TMPDIR"]))
        if self.fail:
            signal.raise_signal(self.number)
            raise FileNotFoundError(argv[0])
        process = self.real(argv, **kwargs)
        self.started.append(process)
        Path(self.folders[-1], "written").touch()
        signal.raise_signal(self.number)
        return process


def _running(process: subprocess.Popen[Any]) -> bool:
    try:
        state = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_inside_popen_ends_the_new_session_and_removes_its_folder(
    monkeypatch: pytest.MonkeyPatch, sigterm_raises: None, number: int
) -> None:
    popen = SignalInPopen(number)
    monkeypatch.setattr(_proc.subprocess, "Popen", popen)
    try:
        with pytest.raises(KeyboardInterrupt):
            _proc.run([sys.executable, "-c", CHILD], timeout=60)
    finally:
        for process in popen.started:  # do not leave it to the next test if the helper failed
            if _running(process):
                os.killpg(process.pid, signal.SIGKILL)
    [process] = popen.started
    assert not _running(process)
    assert process.returncode == -signal.SIGKILL
    assert not popen.folders[0].exists()


def test_a_python_child_interrupted_while_it_starts_is_ended(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    popen = SignalInPopen(signal.SIGINT)
    monkeypatch.setattr(_proc.subprocess, "Popen", popen)
    try:
        with pytest.raises(KeyboardInterrupt):
            _proc.PythonChild("import time; time.sleep(60)", text=True)
    finally:
        for process in popen.started:
            if _running(process):
                os.killpg(process.pid, signal.SIGKILL)
    assert not _running(popen.started[0])
    assert not popen.folders[0].exists()


def test_a_ctrl_c_is_not_lost_when_the_command_is_missing_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_proc.subprocess, "Popen", SignalInPopen(signal.SIGINT, fail=True))
    with pytest.raises(KeyboardInterrupt):
        _proc.run(["no-such-command"])


def test_without_a_signal_the_command_runs_and_its_folder_is_removed(tmp_path: Path) -> None:
    done = _proc.run([sys.executable, "-c", "import os; print(os.environ['TMPDIR'])"])
    folder = Path(done.stdout.strip())
    assert folder.name.startswith("fastconda-run-")
    assert not folder.exists()
    with pytest.raises(CommandError, match="exit"):
        _proc.run([sys.executable, "-c", "raise SystemExit(3)"])
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handlers are back


# A Ctrl-C that lands while the private folder is being removed (it stands for that moment, which
# cannot be timed: the first removal raises KeyboardInterrupt after deleting part of the folder).
INTERRUPTED_REMOVAL = """
import os, shutil, sys
from fastconda import _proc
real = shutil.rmtree
def interrupted(path, *args, **kwargs):
    shutil.rmtree = real
    os.remove(os.path.join(path, "first"))
    raise KeyboardInterrupt
def command():
    try:
        with _proc.private_tmpdir() as env:
            print(env["TMPDIR"], flush=True)
            for name in ("first", "second"):
                open(os.path.join(env["TMPDIR"], name), "w").close()
            shutil.rmtree = interrupted
    except KeyboardInterrupt:
        return 130
if sys.argv[1] == "cli":  # as the console script ends: os._exit, no exit handlers
    import fastconda.cli
    fastconda.cli.main = command
    fastconda.cli.run()
sys.exit(command())
"""


@pytest.mark.parametrize("how", ["cli", "library"])
def test_a_private_folder_whose_removal_was_interrupted_is_removed_at_exit(tmp_path: Path, how: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_REMOVAL, how], capture_output=True, text=True, check=False,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 130, done.stderr
    folder = Path(done.stdout.strip())
    assert folder.parent == tmp_path
    assert not folder.exists()  # removed when the interpreter exited
