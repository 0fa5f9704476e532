"""The one helper that runs subprocesses: timeout, captured output, errors that carry the command.

Each command runs in a session of its own, so that it and everything it starts (a build backend's
own pip, a compiler) form one process group: on Ctrl-C or a timeout the whole group is ended, not
only the direct child. (A terminal's Ctrl-C then reaches only fastconda, which ends the group.)
Each also gets a private temp folder (``TMPDIR``), removed afterwards: a killed pip cannot clean up
its ``pip-*`` folders itself.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from fastconda.errors import CommandError

DEFAULT_TIMEOUT = 1800.0


def run(
    command: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    what: str = "",
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run *command*, capturing stdout and stderr together.

    Raises :class:`CommandError` when the command is missing, times out, or exits non-zero
    (unless ``check`` is false). Whatever stops the wait (a timeout, KeyboardInterrupt) ends the
    command's whole process group first.
    """
    argv = [os.fspath(c) for c in command]
    with private_tmpdir(env) as environ:
        return _run(argv, cwd=cwd, env=environ, timeout=timeout, what=what, check=check)


@contextlib.contextmanager
def private_tmpdir(env: Mapping[str, str] | None = None) -> Iterator[dict[str, str]]:
    """*env* (default: this process's) with ``TMPDIR`` pointing at a new folder, removed after the block.

    A folder whose removal did not happen or did not finish (a Ctrl-C in the middle of it, a thread
    still in its block when fastconda exits) is removed when the interpreter exits.
    """
    with signals_held() as held:  # made and noted as one step: a Ctrl-C cannot come in between
        scratch = tempfile.mkdtemp(prefix="fastconda-run-")
        _LEFT.add(scratch)
    try:
        if held:
            signal.raise_signal(held[0])  # its handler raises (KeyboardInterrupt) right here
        yield {**(os.environ if env is None else env), "TMPDIR": scratch, "TEMP": scratch, "TMP": scratch}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        _LEFT.discard(scratch)


_LEFT: set[str] = set()  # private folders not removed yet


@atexit.register
def remove_left_folders() -> None:
    """Remove the private folders whose removal did not happen or did not finish. Runs at the
    interpreter's exit; the CLI, which ends with ``os._exit`` (no exit handlers), calls it itself."""
    for scratch in list(_LEFT):
        shutil.rmtree(scratch, ignore_errors=True)
        _LEFT.discard(scratch)


def _run(
    argv: list[str], *, cwd: Path | None, env: dict[str, str], timeout: float, what: str, check: bool
) -> subprocess.CompletedProcess[str]:
    try:
        process = spawn(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    except FileNotFoundError:
        raise CommandError(argv, 127, f"{argv[0]}: not found", what=what) from None
    try:  # right after the spawn: a Ctrl-C from here on ends the group
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        end_group(process)
        partial = exc.stdout if isinstance(exc.stdout, str) else (exc.stdout or b"").decode(errors="replace")
        raise CommandError(argv, -1, f"timed out after {timeout:.0f} s\n{partial}", what=what) from None
    except BaseException:
        end_group(process)
        raise
    finally:
        assert process.stdout is not None
        process.stdout.close()
    if check and process.returncode != 0:
        raise CommandError(argv, process.returncode, out, what=what)
    return subprocess.CompletedProcess(argv, process.returncode, out, None)


def spawn(argv: Sequence[str], **popen: Any) -> subprocess.Popen[Any]:
    """``subprocess.Popen(argv, start_new_session=True, **popen)`` that a Ctrl-C cannot split.

    A KeyboardInterrupt raised inside ``Popen`` after the fork would lose the process object while
    the child runs on in a session of its own, writing into a temp folder that is being removed.
    SIGINT and SIGTERM are held during the call; one that came meanwhile ends the new session,
    then is delivered as usual.
    """
    process = None
    try:
        with signals_held() as held:
            process = subprocess.Popen(argv, start_new_session=True, **popen)
    finally:
        if held:
            if process is not None:
                end_group(process)
                for stream in (process.stdin, process.stdout, process.stderr):
                    if stream is not None:
                        stream.close()
            signal.raise_signal(held[0])  # its handler raises (KeyboardInterrupt) right here
    return process


@contextlib.contextmanager
def signals_held() -> Iterator[list[int]]:
    """SIGINT and SIGTERM noted, not acted on, during the block; yields the list they are noted in.

    Only the main thread gets signals and can change their handlers; elsewhere the block runs as is.
    """
    held: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield held
        return
    previous = {sig: signal.signal(sig, lambda number, _frame: held.append(number)) for sig in _HELD}
    try:
        yield held
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


_HELD = (signal.SIGINT, signal.SIGTERM)
GROUP_EXIT_WAIT = 5.0  # seconds to wait for a killed session's processes to be gone


def end_group(process: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    """Kill *process* and every process of its session (it must lead a session of its own), reap it,
    and wait until the others have exited too.

    The whole session, not only the process group: ninja runs each compiler in a process group of its
    own (so that it can forward Ctrl-C itself), and a SIGKILLed ninja forwards nothing, so its
    ``sh -c g++ ...`` children outlived a group kill. Everything is killed before the leader is reaped,
    so the ids cannot have been reused. fastconda does not return (and exit) while a process it
    started still runs (waiting at most :data:`GROUP_EXIT_WAIT` seconds).
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    for pid in _session_running(process.pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        process.kill()
    process.wait()
    deadline = time.monotonic() + GROUP_EXIT_WAIT
    while _session_running(process.pid) and time.monotonic() < deadline:
        time.sleep(0.02)


def _session_running(session: int) -> list[int]:
    """The processes of session *session* that still run (zombies have exited); Linux ``/proc``."""
    try:
        entries = [e for e in os.scandir("/proc") if e.name.isdigit()]
    except OSError:
        return []
    found = []
    for entry in entries:
        try:
            stat = Path(entry.path, "stat").read_text(encoding="utf-8", errors="replace")
            fields = stat.rsplit(")", 1)[1].split()  # state, ppid, pgrp, session, ...
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[3]) == session:
            found.append(int(entry.name))
    return found


class PythonChild:
    """A Python process of fastconda's own (``python -P -c CODE``) that talks over stdin/stdout.

    Like :func:`run`'s commands it leads a session of its own and has a private ``TMPDIR``;
    :meth:`close` ends it and everything it started, then removes that folder. ``-P``: the working
    folder (a project being built) never shadows a module.
    """

    def __init__(self, code: str, *, text: bool, env: Mapping[str, str] | None = None) -> None:
        self._cleanup = contextlib.ExitStack()
        environ = self._cleanup.enter_context(private_tmpdir(env))
        try:
            self.process = spawn(
                [sys.executable, "-P", "-c", code], env=environ, text=text,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT if text else None,
            )  # fmt: skip
        except BaseException:
            self._cleanup.close()
            raise

    def close(self) -> None:
        """End the process and its group (unless already reaped), close its pipes, remove its folder."""
        if self.process.returncode is None:
            end_group(self.process)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        self._cleanup.close()
