"""How the CLI talks to people and to machines: exit codes, messages, progress, results."""

from __future__ import annotations

import enum
import functools
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

from fastconda.progress import Progress as ProgressFn
from fastconda.progress import ProgressEvent

if TYPE_CHECKING:
    from rich.console import Console

#: what makes rich treat a stream that is not a terminal as one (CI systems set them for colour)
_RICH_TERMINAL_VARIABLES = ("FORCE_COLOR", "TTY_INTERACTIVE", "TTY_COMPATIBLE")


class ExitCode(enum.IntEnum):
    """Exit codes of every fastconda command.

    OK (0): done. FAILURE (1): the job failed (the message says which phase and why).
    USAGE (2): bad command line or configuration. WARNINGS (3): done, with warnings worth reading.
    INTERRUPTED (130): stopped by Ctrl-C; nothing half-written was left behind.
    """

    OK = 0
    FAILURE = 1
    USAGE = 2
    WARNINGS = 3
    INTERRUPTED = 130


class Ui:
    """Messages go to stderr; stdout carries only the result (JSON with ``--json``)."""

    def __init__(
        self,
        *,
        verbosity: int = 0,
        json_output: bool = False,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
    ) -> None:
        self.verbosity = verbosity
        self.json_output = json_output
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr

    @functools.cached_property
    def _console(self) -> Console:
        from rich.console import Console  # ~20 ms: loaded only for a terminal (CI runs need none)

        return Console(file=self.stderr, highlight=False, soft_wrap=True)

    @property
    def interactive(self) -> bool:
        if self.json_output:
            return False
        if not _isatty(self.stderr) and not any(map(os.environ.get, _RICH_TERMINAL_VARIABLES)):
            return False  # what rich would say, without loading it
        return self._console.is_terminal

    def info(self, message: str) -> None:
        if self.verbosity >= 0:
            print(message, file=self.stderr, flush=True)

    def warn(self, message: str) -> None:
        if self.verbosity >= -1:
            print(f"warning: {message}", file=self.stderr, flush=True)

    def error(self, message: str) -> None:
        print(f"error: {message}", file=self.stderr, flush=True)

    def result(self, data: dict[str, Any], human: str) -> None:
        """The command's result: JSON on stdout with ``--json``, else the human text."""
        if self.json_output:
            json.dump(data, self.stdout, indent=2, sort_keys=True, default=str)
            self.stdout.write("\n")
        elif self.verbosity >= 0 and human:
            print(human, file=self.stdout, flush=True)

    @contextmanager
    def progress(self) -> Iterator[ProgressFn]:
        """A progress callback: a rich bar on a terminal, plain lines otherwise, nothing with -q."""
        if self.verbosity < 0:
            yield lambda event: None
            return
        if not self.interactive:

            def plain(event: ProgressEvent) -> None:
                count = f" [{event.done}/{event.total}]" if event.total else ""
                print(f"{event.phase}{count}: {event.message}", file=self.stderr, flush=True)

            yield plain
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        bars = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self._console,
            transient=False,
        )
        tasks: dict[str, Any] = {}

        def rich_event(event: ProgressEvent) -> None:
            task = tasks.get(event.phase)
            if task is None:
                task = tasks[event.phase] = bars.add_task(event.phase, total=event.total)
            bars.update(
                task,
                completed=event.done or 0,
                total=event.total,
                description=f"{event.phase}: {event.message}",
            )

        with bars:
            yield rich_event


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no such method, or a closed stream
        return False
