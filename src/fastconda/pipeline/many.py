"""Building a set of projects (:mod:`fastconda.pipeline.project_set`): each with :func:`build_project`,
after the members it needs, against the output channel first (so against the packages just built),
independent ones in parallel threads.

Threads are enough: a build's real work happens in child processes of its own (the engine worker,
the build backend, grayskull), each in a session of its own; its work folder, build record and
prefill markers are its own; what builds share is guarded by file locks (``flock``, which threads
holding their own descriptors see as separate holders): the output channel's writes, the build
environments, the work folder pruning. Only the main thread may defer signals around the channel
write; a Ctrl-C therefore stops the builds cooperatively: each build stops at its next progress event
(a step of the engine, the next phase), its children ended and its work folder removed as after a
Ctrl-C in a single build, and a package already being added to the channel is added whole.

A member's skip key holds the set's packages it needs as the output channel lists them: it rebuilds
(and is tested again) when one of them was rebuilt. Its own file name usually did not change then;
a package of that name already published is kept (``BuildOptions.keep_published``), with a note.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, Literal

from fastconda.channel import local as channels
from fastconda.errors import BuildFailed, FastcondaError, MissingRequirements
from fastconda.pipeline.build import build_project
from fastconda.pipeline.options import BuildOptions, BuildResult
from fastconda.pipeline.project_set import Member, ProjectSet
from fastconda.progress import Progress, ProgressEvent
from fastconda.wheel.specs import normalize_name

State = Literal["built", "skipped", "failed", "not built", "unchanged"]
GOOD: frozenset[str] = frozenset({"built", "skipped", "unchanged"})  # what a dependent may build after


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What became of one member: its state, the seconds its build took, the phase that failed and
    the first line of the error, or why it was not built."""

    member: Member
    state: State
    seconds: float = 0.0
    result: BuildResult | None = None
    phase: str = ""
    error: str = ""  # the first line of the error
    detail: str = ""  # the whole error
    reason: str = ""  # "not built" and "unchanged": why
    failure: FastcondaError | None = dataclasses.field(default=None, compare=False)  # for CI reports

    @property
    def summary(self) -> str:
        """The result column: the state, and why when it was not built."""
        if self.state == "unchanged":
            return self.reason
        return f"{self.state} ({self.reason})" if self.reason else self.state

    def to_json(self) -> dict[str, Any]:
        return {
            "project": str(self.member.root),
            "package": self.member.package,
            "result": self.state,
            "seconds": round(self.seconds, 3),
            "phase": self.phase or None,
            "error": self.error or None,
            "reason": self.reason or None,
            "build": self.result.to_json() if self.result is not None else None,
        }


@dataclasses.dataclass(frozen=True)
class SetOptions:
    jobs: int = 1
    #: the CPUs of the machine (this process's share): builds side by side share them (CPU_COUNT)
    cpus: int = 1
    keep_going: bool = False
    #: only these roots are built (``--changed-since``); None: all; the others are "unchanged"
    selected: frozenset[Path] | None = None
    unchanged_reason: str = "unchanged"


def build_set(
    projects: ProjectSet,
    options_for: Callable[[Member], BuildOptions],
    settings: SetOptions,
    *,
    progress_for: Callable[[Member], Progress],
) -> list[Outcome]:
    """Build every member of *projects* (in its order, *settings.jobs* at a time); one outcome per
    member, in the set's order. Raises KeyboardInterrupt after the running builds have stopped."""
    outcomes: dict[Path, Outcome] = {}
    members = {m.root: m for m in projects.members}
    for member in projects.members:
        if settings.selected is not None and member.root not in settings.selected:
            outcomes[member.root] = Outcome(member, "unchanged", reason=settings.unchanged_reason)
    side_by_side = min(settings.jobs, len(projects.members) - len(outcomes))
    cpu_count = max(1, settings.cpus // side_by_side) if side_by_side > 1 else None  # compiles share them
    cancel = threading.Event()
    failed: str | None = None  # the first failure: without --keep-going, nothing more starts
    running: dict[Future[Outcome], Path] = {}
    with ThreadPoolExecutor(max_workers=max(1, settings.jobs), thread_name_prefix="fastconda-build") as pool:
        try:
            while True:
                if failed is None or settings.keep_going:
                    for member in _ready(projects, outcomes, set(running.values())):
                        if len(running) >= settings.jobs:
                            break
                        try:
                            options = _options(projects, outcomes, member, options_for, cpu_count)
                        except FastcondaError as exc:  # its settings ([tool.fastconda]) are wrong
                            outcomes[member.root] = _failed(member, exc, 0.0)
                            failed = failed or member.package
                            continue
                        progress = _cancellable(progress_for(member), cancel)
                        running[pool.submit(_build_one, member, options, progress)] = member.root
                    _mark_blocked(projects, outcomes, members)
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    outcome = future.result()
                    outcomes[running.pop(future)] = outcome
                    if outcome.state == "failed":
                        failed = failed or outcome.member.package
        except KeyboardInterrupt:
            cancel.set()
            _wait_out(running)
            raise
    _mark_blocked(projects, outcomes, members)
    for member in projects.members:
        if member.root not in outcomes:
            why = f"{failed} failed; --keep-going builds what does not depend on it"
            outcomes[member.root] = Outcome(member, "not built", reason=why)
    return [outcomes[m.root] for m in projects.members]


def _options(
    projects: ProjectSet,
    outcomes: dict[Path, Outcome],
    member: Member,
    options_for: Callable[[Member], BuildOptions],
    cpu_count: int | None,
) -> BuildOptions:
    """*member*'s options, against the output channel first, keyed on the set's packages it needs;
    keeping a published package of its file name when one of those was rebuilt."""
    options = options_for(member)
    options = _against_output(options, _inputs(projects, member, options.output))
    rebuilt = any(outcomes[d].state == "built" for d in projects.depends[member.root])
    return dataclasses.replace(options, keep_published=rebuilt, cpu_count=cpu_count)


def _wait_out(running: dict[Future[Outcome], Path]) -> None:
    """Wait for the running builds to stop (each at its next progress event), whatever signal comes
    meanwhile: leaving earlier would leave their engine processes running, with nobody to end them."""
    while True:
        try:
            wait(running)
        except KeyboardInterrupt:
            continue
        return


def _ready(projects: ProjectSet, outcomes: dict[Path, Outcome], running: set[Path]) -> list[Member]:
    """The members not started whose needs are all built (or skipped, or unchanged)."""
    return [
        m
        for m in projects.members
        if m.root not in outcomes
        and m.root not in running
        and all(d in outcomes and outcomes[d].state in GOOD for d in projects.depends[m.root])
    ]


def _mark_blocked(projects: ProjectSet, outcomes: dict[Path, Outcome], members: dict[Path, Member]) -> None:
    """Members that need a failed (or not built) one are not built; the reason names the failure."""
    for member in projects.members:  # build order: the failure a member inherits is already known
        if member.root in outcomes:
            continue
        for needed in projects.depends[member.root]:
            done = outcomes.get(needed)
            if done is None or done.state in GOOD:
                continue
            name = members[needed].package
            if done.state == "failed":
                reason = f"depends on {name}, which failed"
            elif done.reason.startswith("depends on "):
                reason = f"{done.reason} (through {name})"
            else:
                reason = f"depends on {name}, which was not built"
            outcomes[member.root] = Outcome(member, "not built", reason=reason)
            break


def _inputs(projects: ProjectSet, member: Member, output: Path) -> tuple[str, ...]:
    """The packages of the set *member* can build against, as the output channel lists them (file
    name and sha256): part of its skip key, so that it rebuilds when one of them was rebuilt or added,
    whether that happened in this run or an earlier one (``--changed-since`` runs and full runs share
    the build records)."""
    makers = {m.root: m for m in projects.members}
    names = {key for root in projects.depends[member.root] for key in makers[root].keys}
    if not names:
        return ()
    try:
        records = channels.list_packages(output) if output.is_dir() else []
    except (OSError, ValueError):  # an index that cannot be read: the build says what is wrong
        records = []
    return tuple(
        sorted(
            f"{r['filename']}={r.get('sha256', '')}"
            for r in records
            if normalize_name(str(r.get("name"))) in names
        )
    )


def _against_output(options: BuildOptions, inputs: tuple[str, ...]) -> BuildOptions:
    """*options* with the output channel as the first channel (and first after a fill channel)."""
    own = channels.channel_url(options.output)
    first = (own, *(c for c in options.channels if c.rstrip("/") != own.rstrip("/")))
    fill = options.fill
    if fill is not None:
        fill = dataclasses.replace(
            fill, channels=(own, *(c for c in fill.channels if c.rstrip("/") != own.rstrip("/")))
        )
    return dataclasses.replace(options, channels=first, fill=fill, set_inputs=inputs)


def _cancellable(progress: Progress, cancel: threading.Event) -> Progress:
    def report(event: ProgressEvent) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        progress(event)

    return report


def _build_one(member: Member, options: BuildOptions, progress: Progress) -> Outcome:
    started = time.perf_counter()
    try:
        channels.create_channel(options.output)  # an indexed channel, before it is read as one
        result = build_project(member.root, options, progress=progress)
    except KeyboardInterrupt:
        return Outcome(member, "not built", time.perf_counter() - started, reason="interrupted")
    except (FastcondaError, OSError) as exc:
        return _failed(member, exc, time.perf_counter() - started)
    state: State = "skipped" if result.skipped else "built"
    return Outcome(member, state, time.perf_counter() - started, result=result)


def _failed(member: Member, exc: FastcondaError | OSError, seconds: float) -> Outcome:
    phase = exc.phase if isinstance(exc, BuildFailed) else "setup"
    if isinstance(exc, MissingRequirements):  # the requirement check, before the engine
        phase = "recipe"
    text = str(exc) if isinstance(exc, FastcondaError) else f"{exc.strerror or exc}: {exc.filename}"
    first = next((line for line in text.splitlines() if line.strip()), type(exc).__name__)
    failure = exc if isinstance(exc, FastcondaError) else None
    return Outcome(member, "failed", seconds, phase=phase, error=first, detail=text, failure=failure)
