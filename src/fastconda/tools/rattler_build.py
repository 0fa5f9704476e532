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
  importing the engine (~0.15 s) overlaps other work.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import os
import pickle
import re
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from fastconda import _proc
from fastconda.errors import EngineError
from fastconda.progress import Progress, ProgressEvent, null_progress
from fastconda.tools.rattler import package_cache_path

DEFAULT_PACKAGE_FORMAT = "conda"
# first log lines of the engine's test phase (py-rattler-build 0.73)
TEST_MARKERS = ("Collecting tests from", "Running tests for")
# the script's first line when the test has files (not one of the package's test commands); the log
# shows the prefix as $PREFIX or as another variable whose value starts the same
_TEST_FILES_CD = re.compile(r"\+ cd \S*/etc/conda/test-files/")
# gcc/clang (`file:line:col: error: ...`), ninja/make and CMake report failures this way
_COMPILER_ERROR = re.compile(r": (?:fatal )?error: |^\w+: FAILED: |CMake Error")
# the engine's message when the build, host or test environment has no solution
_UNSOLVABLE = "Failed to resolve dependencies"
# what the engine logs after the last test command (indexing its scratch channel, the summary)
_ENGINE_CHATTER = ("Adding ", "Successfully added", "Writing repodata", "Could not find", "✔")


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


@dataclasses.dataclass(frozen=True)
class BuildOutcome:
    packages: tuple[BuiltPackage, ...]
    log: tuple[str, ...]
    seconds: float
    test_seconds: float = 0.0  # the part of ``seconds`` spent testing the package
    tests: tuple[TestStep, ...] = ()

    def move_packages(self, folder: Path) -> list[Path]:
        """Move the built package files out of the engine's work folder into *folder*."""
        folder.mkdir(parents=True, exist_ok=True)
        moved: list[Path] = []
        for package in self.packages:
            target = folder / package.path.name
            os.replace(package.path, target)
            moved.append(target)
        return moved


class _Events:
    """Receives rattler-build's progress callbacks; keeps the log for error messages."""

    def __init__(self, progress: Progress, phase: str) -> None:
        self.progress = progress
        self.phase = phase
        self.log: list[str] = []
        self.times: list[float] = []  # when each log line arrived
        self.steps: list[tuple[float, str]] = []

    def on_download_start(self, event: Any) -> None:
        pass

    def on_download_progress(self, event: Any) -> None:
        pass

    def on_download_complete(self, event: Any) -> None:
        pass

    def on_build_step(self, event: Any) -> None:
        self.steps.append((time.perf_counter(), str(event.step_name)))
        self.progress(ProgressEvent(self.phase, f"{event.step_name}: {event.message}"))

    def test_started(self) -> float | None:
        return next((t for t, name in self.steps if "test" in name.lower()), None)

    def on_log(self, event: Any) -> None:
        message = str(event.message).rstrip()
        if message:
            self.log.append(f"{event.level}: {message}")
            self.times.append(time.perf_counter())
            if message.startswith(TEST_MARKERS):  # the engine emits no build step events: its log tells
                self.steps.append((time.perf_counter(), "test"))


def test_steps(events: _Events, end: float, *, failed: bool) -> tuple[TestStep, ...]:
    """The commands of the package test scripts, from the log: each ``+ command`` line echoed by the
    test script starts a step that runs until the next one. When the tests failed, the last step did."""
    starts: list[tuple[int, str]] = []
    testing = False
    for index, line in enumerate(events.log):
        message = line.split(": ", 1)[-1]
        if message.startswith(TEST_MARKERS):
            testing = True
        elif testing and message.startswith("+ ") and not _TEST_FILES_CD.match(message):
            starts.append((index, message[2:].strip()))
    steps: list[TestStep] = []
    for number, (index, command) in enumerate(starts):
        last = number == len(starts) - 1
        stop = starts[number + 1][0] if not last else len(events.log)
        finished = events.times[stop] if stop < len(events.times) else end
        output = tuple(line.split(": ", 1)[-1] for line in events.log[index + 1 : stop])
        if last:
            output = tuple(line for line in output if not line.startswith(_ENGINE_CHATTER))
        steps.append(TestStep(command, not (failed and last), finished - events.times[index], output))
    return tuple(steps)


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


def _test_package_here(package: Path, *, channels: Sequence[str], progress: Progress) -> tuple[TestStep, ...]:
    from rattler_build import Package, RattlerBuildError

    try:
        loaded = Package.from_file(package)
    except RattlerBuildError as exc:
        msg = f"{package}: the engine cannot read it: {exc}"
        raise EngineError(msg) from None
    if not loaded.test_count:
        return ()
    _forget_unpacked(package.name.removesuffix(".conda").removesuffix(".tar.bz2"))
    events = _Events(progress, f"test {package.name}")
    started = time.perf_counter()
    try:
        results = loaded.run_tests(channel=list(channels), progress_callback=events)
    except RattlerBuildError as exc:  # the test environment could not be made, or a test failed
        steps = test_steps(events, time.perf_counter(), failed=True)
        tail = tuple(f"{line}" for line in "\n".join(events.log).splitlines()[-30:])
        return steps or (TestStep("package tests", False, time.perf_counter() - started, (str(exc), *tail)),)
    passed = all(result.success for result in results)
    return test_steps(events, time.perf_counter(), failed=not passed) or tuple(
        TestStep(f"package test {r.test_index}", r.success, 0.0, tuple(r.output)) for r in results
    )


def _forget_unpacked(stem: str) -> None:
    """Drop an earlier build of the same name-version-build (*stem*) from the shared package cache.

    A rebuild keeps its file name (the build string hashes the variant, not the content), and the
    cache is keyed by that name: without this, the test environment would be linked from the
    *previous* build's unpacked files and test stale code.
    """
    shutil.rmtree(package_cache_path() / stem, ignore_errors=True)


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
) -> BuildOutcome:
    """Render, build and (unless ``test`` is false) test *recipe*; packages land in ``work_dir``.

    Runs in *engine* (a :func:`worker` started earlier) or in a new one; KeyboardInterrupt ends it.
    """
    if not channels:
        msg = f"{recipe}: no channels given; refusing to let the engine fall back to conda-forge"
        raise EngineError(msg)
    job = {
        "recipe": recipe, "channels": list(channels), "work_dir": work_dir, "variant_config": variant_config,
        "variant_overrides": {k: list(v) for k, v in (variant_overrides or {}).items()} or None,
        "test": test, "package_format": package_format,
    }  # fmt: skip
    with contextlib.ExitStack() as stack:
        child = engine if engine is not None else stack.enter_context(worker())
        outcome: BuildOutcome = child.call("build", job, progress)
    return outcome


def _build_recipe_here(
    recipe: Path,
    *,
    channels: Sequence[str],
    work_dir: Path,
    variant_config: Path | None,
    variant_overrides: Mapping[str, Sequence[str]] | None,
    test: bool,
    package_format: str,
    progress: Progress,
) -> BuildOutcome:
    from rattler_build import RattlerBuildError, Stage0Recipe, ToolConfiguration, VariantConfig

    events = _Events(progress, f"build {recipe.parent.name or recipe.name}")
    started = time.perf_counter()
    try:
        stage0 = Stage0Recipe.from_file(recipe)
        variants = VariantConfig.from_file(variant_config) if variant_config else None
        if variant_overrides:
            overrides = {k: list(v) for k, v in variant_overrides.items()}
            base = variants.to_dict() if variants is not None else {}
            base.update(overrides)
            variants = VariantConfig(base)
        rendered = stage0.render(variants)
        for variant in rendered:
            package = variant.recipe.package
            _forget_unpacked(f"{package.name}-{package.version}-{variant.recipe.build.string}")
        results = [
            variant.run_build(
                tool_config=ToolConfiguration(test_strategy="native" if test else "skip"),
                output_dir=work_dir,
                channels=list(channels),
                progress_callback=events,
                package_format=package_format,
            )
            for variant in rendered
        ]
    except RattlerBuildError as exc:
        lines = "\n".join(events.log).splitlines()
        tail = "\n".join(f"    {line}" for line in lines[-30:])
        msg = f"rattler-build failed on {recipe}: {exc}"
        errors = [line for line in lines[:-30] if _COMPILER_ERROR.search(line)][:10]
        if errors:  # a compiler's or CMake's own error scrolled out of the tail
            msg += "\n  errors in the build log:\n" + "\n".join(f"    {line}" for line in errors)
        if tail:
            msg += f"\n  build log (last lines):\n{tail}"
        in_tests = test and events.test_started() is not None
        steps = test_steps(events, time.perf_counter(), failed=True) if in_tests else ()
        if in_tests and not steps:  # failed before any command ran (e.g. the test env did not solve)
            steps = (TestStep("package tests", False, 0.0, tuple(tail.splitlines())),)
        raise EngineError(msg, tests=steps, unsolvable=_UNSOLVABLE in str(exc)) from None
    packages = tuple(
        BuiltPackage(
            path=Path(path),
            name=result.name,
            version=result.version,
            build=result.build_string,
            subdir=result.platform,
        )
        for result in results
        for path in result.packages
    )
    finished = time.perf_counter()
    test_start = events.test_started()
    return BuildOutcome(
        packages=packages,
        log=tuple(events.log),
        seconds=finished - started,
        test_seconds=finished - test_start if test_start is not None else 0.0,
        tests=test_steps(events, finished, failed=False) if test else (),
    )


# the child reads pickled (job, arguments) from stdin once the engine is imported
_SERVE = "from fastconda.tools.rattler_build import _serve; _serve()"
_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_JOBS: dict[str, Callable[..., Any]] = {"build": _build_recipe_here, "test": _test_package_here}


class Worker:
    """A child process that imports the engine, runs jobs and sends back their progress and results.

    It leads a session of its own: a terminal's Ctrl-C reaches only fastconda, which then ends the
    child and everything it started (build and test scripts) before its work folder is removed, so
    an interrupted build never reaches a channel.
    """

    def __init__(self) -> None:
        self._child = _proc.PythonChild(_SERVE, text=False)
        self._process = self._child.process

    def call(self, job: str, arguments: dict[str, Any], progress: Progress) -> Any:
        """Run *job* with *arguments*; its progress events go to *progress*; its errors are raised here."""
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None and stdout is not None
        try:
            pickle.dump((job, arguments), stdin)
            stdin.flush()
        except OSError:  # it died before reading: its exit code tells below
            pass
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


@contextmanager
def worker() -> Iterator[Worker]:
    """An engine process started now (it imports the engine meanwhile), ended when the block ends."""
    child = Worker()
    try:
        yield child
    finally:
        child.close()


def _serve() -> None:
    """The child's side of :class:`Worker`: jobs from stdin, one after the other, until it closes."""
    with contextlib.suppress(OSError, AttributeError):  # end with fastconda even if it is SIGKILLed
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    answers: BinaryIO = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever the engine prints goes to stderr, never into the answers
    import rattler_build  # noqa: F401 - importing early is what a worker started ahead saves

    def send(kind: str, value: Any) -> None:
        answers.write(pickle.dumps((kind, value)))  # whole or not at all: never half an answer
        answers.flush()

    while True:
        try:
            job, arguments = pickle.load(sys.stdin.buffer)
        except EOFError:
            break
        try:
            value = _JOBS[job](**arguments, progress=lambda event: send("progress", event))
        except Exception as exc:  # ours, or an OSError: raised again in the parent, same type
            try:
                send("error", exc)
            except (pickle.PicklingError, TypeError, AttributeError):
                send("crash", traceback.format_exc())
        except BaseException:  # a panic in the native code
            send("crash", traceback.format_exc())
        else:
            send("done", value)
    answers.close()
    os._exit(0)  # rattler's native threads may still be winding down (see fastconda.cli.run)


def _prefill_here(
    specs: Sequence[str], *, channels: Sequence[str], marker_dir: Path, progress: Progress
) -> bool:
    from fastconda.tools.rattler import prefill_package_cache

    return prefill_package_cache(specs, channels=channels, marker_dir=marker_dir)


_JOBS["prefill"] = _prefill_here
