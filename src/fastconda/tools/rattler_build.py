"""Adapter for the rattler-build engine (py-rattler-build): the one place that knows its quirks.

Quirks handled here (see DESIGN.md):

- ``ToolConfiguration()`` defaults to ``test_strategy="skip"``: we always pass ``native`` unless
  tests are explicitly disabled, so package tests never silently stop running.
- ``channels=None`` means conda-forge: we refuse to call the engine without explicit channels.
- the output folder also receives ``bld/``, ``src_cache/`` and ``test/`` and is indexed by the
  engine: callers pass a scratch folder and move the packages where they belong.
- a build or test runs in native code that never hands control back to Python's signal handling
  (a Ctrl-C in the same process becomes an ignored "Error in Python progress callback"): every
  engine job runs in a child process (:class:`Worker`, in a session of its own) that the caller
  ends with everything it started when it is interrupted. :func:`worker` starts one early, so that
  importing the engine (~0.15 s) overlaps other work. What runs in that child (the engine calls
  themselves, and the code for the quirks above) is :mod:`fastconda.tools.rattler_build_jobs`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fastconda import _proc
from fastconda.errors import EngineError
from fastconda.progress import Progress, null_progress

DEFAULT_PACKAGE_FORMAT = "conda"


@dataclasses.dataclass(frozen=True)
class BuiltPackage:
    path: Path
    name: str
    version: str
    build: str
    subdir: str


@dataclasses.dataclass(frozen=True)
class TestStep:
    """One command of a package test script, as the engine's log shows it."""

    command: str
    passed: bool
    seconds: float
    output: tuple[str, ...]
    error: str = ""  # a failed step: the line of its output that says why (see fastconda._failure)


@dataclasses.dataclass(frozen=True)
class BuildOutcome:
    packages: tuple[BuiltPackage, ...]
    log: tuple[str, ...]
    seconds: float
    test_seconds: float = 0.0  # the part of ``seconds`` spent testing the package
    tests: tuple[TestStep, ...] = ()
    spans: tuple[tuple[str, float], ...] = ()  # where ``seconds`` went, from the engine's log

    def move_packages(self, folder: Path) -> list[Path]:
        """Move the built package files out of the engine's work folder into *folder*."""
        folder.mkdir(parents=True, exist_ok=True)
        moved: list[Path] = []
        for package in self.packages:
            target = folder / package.path.name
            os.replace(package.path, target)
            moved.append(target)
        return moved


def test_package(
    package: Path, *, channels: Sequence[str], progress: Progress = null_progress
) -> tuple[TestStep, ...]:
    """Run the tests a package carries (``info/tests``, written by rattler-build) in a new environment.

    Returns the steps (none when the package carries no tests); a failed test is a step that did not
    pass, never an exception. ``channels`` must provide the package's dependencies.
    """
    if not channels:
        msg = f"{package}: no channels given; refusing to let the engine fall back to conda-forge"
        raise EngineError(msg)
    with worker() as child:
        steps: tuple[TestStep, ...] = child.call(
            "test", {"package": package, "channels": list(channels)}, progress
        )
    return steps


def build_recipe(
    recipe: Path,
    *,
    channels: Sequence[str],
    work_dir: Path,
    variant_config: Path | None = None,
    variant_overrides: Mapping[str, Sequence[str]] | None = None,
    test: bool = True,
    package_format: str = DEFAULT_PACKAGE_FORMAT,
    progress: Progress = null_progress,
    engine: Worker | None = None,
    environ: Mapping[str, str] | None = None,
) -> BuildOutcome:
    """Render, build and (unless ``test`` is false) test *recipe*; packages land in ``work_dir``.

    Runs in *engine* (a :func:`worker` started earlier) or in a new one; KeyboardInterrupt ends it.
    *environ* is added to the engine process's environment for this job only (the recipe's
    ``env.get()`` reads it there), and taken away again before the worker's next job.
    """
    if not channels:
        msg = f"{recipe}: no channels given; refusing to let the engine fall back to conda-forge"
        raise EngineError(msg)
    job = {
        "recipe": recipe, "channels": list(channels), "work_dir": work_dir, "variant_config": variant_config,
        "variant_overrides": {k: list(v) for k, v in (variant_overrides or {}).items()} or None,
        "test": test, "package_format": package_format, "environ": dict(environ or {}),
    }  # fmt: skip
    with contextlib.ExitStack() as stack:
        child = engine if engine is not None else stack.enter_context(worker())
        outcome: BuildOutcome = child.call("build", job, progress)
    return outcome


# the child reads pickled (job, arguments) from stdin once the engine is imported
_SERVE = "from fastconda.tools.rattler_build_jobs import serve; serve()"


class Worker:
    """A child process that imports the engine, runs jobs and sends back their progress and results.

    It leads a session of its own: a terminal's Ctrl-C reaches only fastconda, which then ends the
    child and everything it started (build and test scripts) before its work folder is removed, so
    an interrupted build never reaches a channel.
    """

    def __init__(self) -> None:
        self._child = _proc.PythonChild(_SERVE, text=False)
        self._process = self._child.process
        self._pending = 0  # jobs started ahead whose answers have not been read

    def start(self, job: str, arguments: dict[str, Any]) -> None:
        """Send *job* without waiting for it: the child runs it while this process works on.

        For work that only makes a later job faster (unpacking packages into rattler's cache):
        its progress and its answer, an error included, are read and dropped before the next
        :meth:`call`, which therefore waits for it."""
        self._send(job, arguments)
        self._pending += 1

    def _send(self, job: str, arguments: dict[str, Any]) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        try:
            pickle.dump((job, arguments), stdin)
            stdin.flush()
        except OSError:  # it died before reading: its exit code tells when the answer is read
            pass

    def _drop_pending(self) -> None:
        stdout = self._process.stdout
        assert stdout is not None
        while self._pending:
            try:
                kind, _value = pickle.load(stdout)
            except EOFError:  # it died: the next call reports it
                self._pending = 0
                return
            if kind != "progress":
                self._pending -= 1

    def call(self, job: str, arguments: dict[str, Any], progress: Progress) -> Any:
        """Run *job* with *arguments*; its progress events go to *progress*; its errors are raised here."""
        stdout = self._process.stdout
        assert stdout is not None
        self._drop_pending()
        self._send(job, arguments)
        while True:
            try:
                kind, value = pickle.load(stdout)
            except EOFError:
                code = self._process.wait()
                msg = f"the rattler-build engine process ended without an answer (exit code {code})"
                raise EngineError(msg) from None
            if kind == "progress":
                progress(value)
            elif kind == "done":
                return value
            elif kind == "error":
                raise value
            else:
                msg = f"the rattler-build engine process failed:\n{value}"
                raise RuntimeError(msg)

    def close(self) -> None:
        """End the child and its process group (at once: its answer is in, or nobody wants it)."""
        self._child.close()


def worker() -> contextlib.closing[Worker]:
    """An engine process started now (it imports the engine meanwhile), ended when the block ends."""
    return contextlib.closing(Worker())
