"""The rattler-build engine's jobs, as they run inside the engine process, and that process's loop.

:mod:`fastconda.tools.rattler_build` is the parent's side: its :class:`Worker` starts a child that
runs :func:`serve`, which reads pickled jobs from stdin, runs them here (build a recipe, test a
package, prefill the package cache) and sends back their progress and results. This module is
separate because only the child imports it (and the engine): the parent never does, so the two
never import each other, and which code runs in which process shows in the module names.
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
from pathlib import Path
from typing import Any, BinaryIO

from fastconda._failure import failed_checks, last_error_line, missing_module_hint
from fastconda.errors import EngineError
from fastconda.progress import Progress, ProgressEvent
from fastconda.tools.rattler import package_cache_path
from fastconda.tools.rattler_build import BuildOutcome, BuiltPackage, TestStep

# first log lines of the engine's test phase (py-rattler-build 0.73)
TEST_MARKERS = ("Collecting tests from", "Running tests for")
# the script's first line when the test has files (not one of the package's test commands); the log
# shows the prefix as $PREFIX or as another variable whose value starts the same
_TEST_FILES_CD = re.compile(r"\+ cd \S*/etc/conda/test-files/")
# gcc/clang (`file:line:col: error: ...`), ninja/make and CMake report failures this way
_COMPILER_ERROR = re.compile(r": (?:fatal )?error: |^\w+: FAILED: |CMake Error")
# the engine's line when a build or test script exits non-zero; its next message names the prefix
_SCRIPT_FAILED = re.compile(r"^Script failed with status (-?\d+)")
_PREFIX = re.compile(r"^\s*Prefix: (/\S.*?)\s*$", re.MULTILINE)
# what the engine logs after a failure: indexing its scratch channel
_INDEXING = re.compile(
    r"^info: (?:Adding \d+ packages to subdir|Successfully added \d+ packages|Writing repodata to)"
)
# the engine's full log of a failed build, next to the packages' work folder
LOG_NAME = "rattler-build.log"
# the engine's message when the build, host or test environment has no solution
_UNSOLVABLE = "Failed to resolve dependencies"
# what the engine logs after the last test command (indexing its scratch channel, the summary)
_ENGINE_CHATTER = ("Adding ", "Successfully added", "Writing repodata", "Could not find", "✔")


class _Events:
    """Receives rattler-build's progress callbacks; keeps the log for error messages."""

    def __init__(self, progress: Progress, phase: str, tested: Sequence[str] = ()) -> None:
        self.progress = progress
        self.phase = phase
        self.log: list[str] = []
        self.times: list[float] = []  # when each log line arrived
        self.steps: list[tuple[float, str]] = []
        self.tested = tested  # the packages under test (a list the build fills as it renders)
        self._cause: tuple[str, str] | None = None

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
            if self._cause is None and _PREFIX.search(message):
                # a failed script's report: its environment still exists now (a package test's is a
                # temporary one, removed before the engine returns), and a missing module's hint reads it
                cause = self.failure_cause()
                self._cause = cause if cause[0] else None

    def failure_cause(self) -> tuple[str, str]:
        """(check, error line) of the failed build or test script; ``("", "")`` when no script failed."""
        if self._cause is not None:
            return self._cause
        failure = script_failure(self.log)
        if failure is None:
            return "", ""
        return failure.cause(tested=self.tested if self.test_started() is not None else None)


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


@dataclasses.dataclass(frozen=True)
class ScriptFailure:
    """The command of a build or test script that failed, and what it printed.

    The engine runs a recipe's script with ``set -ex``: bash writes ``+ command`` to stderr before
    each command, on the same pipe as the command's own errors (tracebacks, pip's errors), so the
    order of the two is exact; with ``-e`` the failed command is the last one traced before the
    engine's "Script failed with status N".
    """

    command: str
    output: tuple[str, ...]
    status: int
    prefix: Path | None  # the environment the script ran in, as the engine names it

    def cause(self, *, tested: Sequence[str] | None = None) -> tuple[str, str]:
        """(check, error line): in a test (*tested*: the package names under test), a ``FAILED
        <check>: <error>`` summary of the test script names the check inside the command, and a
        missing module gets the hint of :func:`~fastconda._failure.missing_module_hint`."""
        summaries = failed_checks(self.output) if tested is not None else []
        check, error = summaries[0] if summaries else (self.command, "")
        error = error or last_error_line(self.output) or f"exit status {self.status}"
        if tested is not None:
            error += missing_module_hint(error, self.output, self.prefix, tested=tested)
        return check, error


def script_failure(log: Sequence[str]) -> ScriptFailure | None:
    """The failed script command in an engine log (``level: message`` entries), if a script failed."""
    messages = [entry.split(": ", 1)[-1] for entry in log]
    end = next((i for i in range(len(messages) - 1, -1, -1) if _SCRIPT_FAILED.match(messages[i])), None)
    if end is None:
        return None
    start = next(
        (
            i
            for i in range(end - 1, -1, -1)
            if messages[i].startswith("+ ") and not _TEST_FILES_CD.match(messages[i])
        ),
        None,
    )
    if start is None:
        return None
    status = _SCRIPT_FAILED.match(messages[end])
    assert status is not None
    output = tuple(line for message in messages[start + 1 : end] for line in message.splitlines())
    after = "\n".join(log[end + 1 : end + 12])  # the engine's "Script execution failed." text
    prefix = _PREFIX.search(after)
    return ScriptFailure(
        messages[start][2:].strip(), output, int(status.group(1)), Path(prefix.group(1)) if prefix else None
    )


def _with_error(steps: tuple[TestStep, ...], error: str) -> tuple[TestStep, ...]:
    """*steps* with *error* on the failed one."""
    return tuple(dataclasses.replace(s, error=error) if not s.passed else s for s in steps)


def _write_log(work_dir: Path, log: Sequence[str]) -> Path | None:
    """The whole engine log of a failed build, kept with its work folder (the message shows a tail)."""
    path = work_dir / LOG_NAME
    try:
        work_dir.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(log) + "\n", encoding="utf-8")
    except OSError:
        return None
    return path


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
    events = _Events(progress, f"test {package.name}", tested=[loaded.name])
    started = time.perf_counter()
    try:
        results = loaded.run_tests(channel=list(channels), progress_callback=events)
    except RattlerBuildError as exc:  # the test environment could not be made, or a test failed
        steps = test_steps(events, time.perf_counter(), failed=True)
        if steps and (error := events.failure_cause()[1]):
            steps = _with_error(steps, error)
        tail = tuple(f"{line}" for line in "\n".join(events.log).splitlines()[-30:])
        return steps or (TestStep("package tests", False, time.perf_counter() - started, (str(exc), *tail)),)
    passed = all(result.success for result in results)
    if not passed and (error := events.failure_cause()[1]):
        steps = test_steps(events, time.perf_counter(), failed=True)
        return _with_error(steps, error) if steps else ()
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


@contextlib.contextmanager
def _environment(environ: Mapping[str, str]) -> Iterator[None]:
    """*environ* in this process's environment (where the engine's ``env.get()`` reads) for one job:
    the worker runs several jobs one after the other, and one job's variables never reach the next."""
    before = {name: os.environ.get(name) for name in environ}
    os.environ.update(environ)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _with_environ(job: Callable[..., BuildOutcome]) -> Callable[..., BuildOutcome]:
    """*job* run with the variables of its ``environ`` argument set, for that job only
    (:func:`_environment`)."""

    def run(*, environ: Mapping[str, str] | None = None, **arguments: Any) -> BuildOutcome:
        with _environment(environ or {}):
            return job(**arguments)

    return run


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

    names: list[str] = []  # the packages being built: a test failure's hint tells them from others
    events = _Events(progress, f"build {recipe.parent.name or recipe.name}", tested=names)
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
            names.append(package.name)
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
        # the tail ends with the failure, not with the engine indexing its scratch channel (full log kept)
        lines = [line for line in "\n".join(events.log).splitlines() if not _INDEXING.match(line)]
        tail = "\n".join(f"    {line}" for line in lines[-30:])
        in_tests = test and events.test_started() is not None
        check, error = events.failure_cause()
        if check:  # the log shows the prefix as $PREFIX, not the recipe's folder as $RECIPE_DIR
            check = check.replace(f"{Path(recipe).parent}/", "$RECIPE_DIR/")
        # the cause first: the failed command's error line; then the engine's own words and the log
        msg = f"rattler-build failed on {recipe}: {exc}"
        if check:
            msg = f"{error}\n  {msg}"
        errors = [line for line in lines[:-30] if _COMPILER_ERROR.search(line)][:10]
        if errors:  # a compiler's or CMake's own error scrolled out of the tail
            msg += "\n  errors in the build log:\n" + "\n".join(f"    {line}" for line in errors)
        if tail:
            msg += f"\n  build log (last lines):\n{tail}"
        if (log_file := _write_log(work_dir, events.log)) is not None:
            msg += f"\n  full log: {log_file}"
        steps = test_steps(events, time.perf_counter(), failed=True) if in_tests else ()
        if in_tests and not steps:  # failed before any command ran (e.g. the test env did not solve)
            steps = (TestStep("package tests", False, 0.0, tuple(tail.splitlines())),)
        steps = _with_error(steps, error) if error else steps
        raise EngineError(msg, tests=steps, unsolvable=_UNSOLVABLE in str(exc), check=check) from None
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


_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_JOBS: dict[str, Callable[..., Any]] = {
    "build": _with_environ(_build_recipe_here),
    "test": _test_package_here,
}


def serve() -> None:
    """The child's side of :class:`~fastconda.tools.rattler_build.Worker`: jobs from stdin, one after
    the other, until it closes."""
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


def _check_here(
    sections: dict[str, list[str]],
    *,
    channels: Sequence[str],
    origins: dict[str, str],
    marker_dir: Path,
    progress: Progress,
) -> None:
    from fastconda.tools.rattler_missing import check_requirements

    check_requirements(sections, channels, origins=origins, marker_dir=marker_dir)


_JOBS["check"] = _check_here
