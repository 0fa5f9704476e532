"""What the rattler-build engine's log says, read in the engine process: its progress callbacks, the
commands of a package test (each ``+ command`` line its scripts echo starts one) and the script command
that failed, with the line of its output that says why.

Only :mod:`fastconda.tools.rattler_build_jobs` uses it, in the engine's process. What it matches is
what py-rattler-build 0.73 logs: a new engine version that words its log differently shows up in the
tests of the failure messages (tests/adversarial/test_failmsg.py).
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastconda._failure import failed_checks, last_error_line, missing_module_hint
from fastconda.progress import Progress, ProgressEvent
from fastconda.tools.rattler_build import TestStep

# first log lines of the engine's test phase (py-rattler-build 0.73)
TEST_MARKERS = ("Collecting tests from", "Running tests for")
# the script's first line when the test has files (not one of the package's test commands); the log
# shows the prefix as $PREFIX or as another variable whose value starts the same
_TEST_FILES_CD = re.compile(r"\+ cd \S*/etc/conda/test-files/")
# gcc/clang (`file:line:col: error: ...`), ninja/make and CMake report failures this way
COMPILER_ERROR = re.compile(r": (?:fatal )?error: |^\w+: FAILED: |CMake Error")
# the engine's line when a build or test script exits non-zero; its next message names the prefix
_SCRIPT_FAILED = re.compile(r"^Script failed with status (-?\d+)")
_PREFIX = re.compile(r"^\s*Prefix: (/\S.*?)\s*$", re.MULTILINE)
# what the engine logs after a failure: indexing its scratch channel
INDEXING = re.compile(
    r"^info: (?:Adding \d+ packages to subdir|Successfully added \d+ packages|Writing repodata to)"
)
# the engine's full log of a failed build, next to the packages' work folder
LOG_NAME = "rattler-build.log"
# the engine's message when the build, host or test environment has no solution
UNSOLVABLE = "Failed to resolve dependencies"
# what the engine logs after the last test command (indexing its scratch channel, the summary)
_ENGINE_CHATTER = ("Adding ", "Successfully added", "Writing repodata", "Could not find", "✔")


class EngineEvents:
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


def test_steps(events: EngineEvents, end: float, *, failed: bool) -> tuple[TestStep, ...]:
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


# the engine's log lines that end each span of a build, in order (py-rattler-build 0.73's wording)
_BUILD_SPANS = (
    ("environments", "Successfully updated the host environment"),  # source, build and host envs
    ("build script", "Copying done!"),  # the script, then the new files collected
    ("packaging", "Archive written to"),
)
_TEST_SPANS = (("test environment", "Successfully updated the test environment"),)


def engine_spans(events: EngineEvents, started: float, finished: float) -> tuple[tuple[str, float], ...]:
    """Where the engine's time went, from the arrival times of its log lines: source and
    environments, build script, packaging, what follows it; then, when it tested, the test
    environment and the test commands. Spans sum to *finished* - *started*. A marker line the log
    lacks (another engine version's wording) joins its span to the next one's name, never to a
    wrong one."""
    test_start = events.test_started()
    build_end = test_start if test_start is not None else finished
    spans: list[tuple[str, float]] = []

    def walk(marks: tuple[tuple[str, str], ...], begin: float, end: float, rest: str) -> None:
        at, pending, index = begin, [], 0
        for name, marker in marks:
            pending.append(name)
            found = next(
                (
                    i
                    for i in range(index, len(events.log))
                    if marker in events.log[i] and begin <= events.times[i] <= end
                ),
                None,
            )
            if found is not None:
                spans.append((" and ".join(pending), events.times[found] - at))
                at, pending, index = events.times[found], [], found + 1
        spans.append((" and ".join([*pending, rest]), end - at))

    walk(_BUILD_SPANS, started, build_end, "after packaging")
    if test_start is not None:
        walk(_TEST_SPANS, test_start, finished, "test commands")
    return tuple((name, max(seconds, 0.0)) for name, seconds in spans)


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


def with_error(steps: tuple[TestStep, ...], error: str) -> tuple[TestStep, ...]:
    """*steps* with *error* on the failed one."""
    return tuple(dataclasses.replace(s, error=error) if not s.passed else s for s in steps)


def write_log(work_dir: Path, log: Sequence[str]) -> Path | None:
    """The whole engine log of a failed build, kept with its work folder (the message shows a tail)."""
    path = work_dir / LOG_NAME
    try:
        work_dir.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(log) + "\n", encoding="utf-8")
    except OSError:
        return None
    return path
