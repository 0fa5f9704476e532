"""The one helper that runs subprocesses: timeout, captured output, errors that carry the command."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

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
    (unless ``check`` is false).
    """
    argv = [os.fspath(c) for c in command]
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise CommandError(argv, 127, f"{argv[0]}: not found", what=what) from None
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout if isinstance(exc.stdout, str) else (exc.stdout or b"").decode(errors="replace")
        raise CommandError(argv, -1, f"timed out after {timeout:.0f} s\n{out}", what=what) from None
    if check and proc.returncode != 0:
        raise CommandError(argv, proc.returncode, proc.stdout, what=what)
    return proc
