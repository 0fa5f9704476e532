"""``fastconda build PATH...``: a set of projects, in dependency order, in parallel, only what changed.

One PATH that is a project builds as it always did (:mod:`fastconda.cli.build`); several, a folder
holding projects, or ``--changed-since`` make a set (:mod:`fastconda.pipeline.project_set`), built by
:mod:`fastconda.pipeline.many`. Progress lines carry the project's package name; the summary is one
table (``--json``: one record per project); the exit code is 1 when a build failed.
"""

from __future__ import annotations

import argparse
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from fastconda.cli._ui import ExitCode, Ui
from fastconda.errors import SettingsError

if TYPE_CHECKING:
    from fastconda.pipeline.many import Outcome
    from fastconda.pipeline.project_set import Member
    from fastconda.progress import Progress, ProgressEvent

COLUMNS = ("project", "package", "result", "seconds", "phase", "error")


def is_set(args: argparse.Namespace) -> bool:
    """Whether the command line names a set: several paths, a folder that is not a project but holds
    some, or ``--changed-since``. One project folder (or a folder that holds none, whose error the
    single build gives) builds as before."""
    from fastconda.errors import ProjectError
    from fastconda.pipeline.project_set import find_projects, is_project

    paths: list[Path] = args.paths or [Path()]
    if len(paths) > 1 or args.changed_since is not None:
        return True
    if is_project(paths[0]) or not paths[0].is_dir():
        return False
    try:
        find_projects(paths)
    except ProjectError:
        return False
    return True


def build_many(args: argparse.Namespace, ui: Ui) -> int:
    from fastconda.cli.build import build_options
    from fastconda.pipeline.many import SetOptions, build_set
    from fastconda.pipeline.project_set import changed_since, plan

    for flag, given in (("--render", args.render), ("--recipe", args.recipe)):
        if given:
            msg = f"{flag} takes one project; it cannot be used with several (build them one by one)"
            raise SettingsError(msg)
    if args.jobs is not None and args.jobs < 1:
        msg = f"-j {args.jobs}: give at least 1"
        raise SettingsError(msg)
    projects = plan(args.paths or [Path()])
    selected = None
    reason = "unchanged"
    if args.changed_since is not None:
        changed = changed_since(projects.members, args.changed_since)
        selected = frozenset(projects.dependents(changed))
        reason = f"unchanged since {args.changed_since}"
    cpus = _cpus()
    jobs = args.jobs if args.jobs is not None else cpus
    settings = SetOptions(
        jobs=jobs, cpus=cpus, keep_going=args.keep_going, selected=selected, unchanged_reason=reason
    )
    names = ", ".join(m.package for m in projects.members)
    ui.info(f"{len(projects.members)} projects, in build order: {names}")
    outcomes = build_set(
        projects,
        lambda member: build_options(args, member.root),
        settings,
        progress_for=_printer(ui),
    )
    for outcome in outcomes:
        if outcome.state == "failed":
            ui.error(f"{outcome.member.package}: {outcome.detail}")
    if args.junit:
        _write_junit(args.junit, outcomes)
    data = {"projects": [o.to_json() for o in outcomes], "failed": sum(o.state == "failed" for o in outcomes)}
    ui.result(data, table(outcomes))
    return ExitCode.FAILURE if data["failed"] else ExitCode.OK


def _cpus() -> int:
    """The CPUs this process may run on (a container's or a CI job's share), else the machine's."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _write_junit(path: Path, outcomes: list[Outcome]) -> None:
    """One test suite per project: its phases and package tests; one skipped case for a project that
    was not built (why)."""
    from fastconda.cli.build import junit_suite
    from fastconda.errors import FastcondaError
    from fastconda.testing import junit

    suites = []
    for outcome in outcomes:
        name = outcome.member.package
        if outcome.state in {"built", "skipped"}:
            suites.append(junit_suite(name, outcome.result, None))
        elif outcome.state == "failed":
            suites.append(junit_suite(name, None, outcome.failure or FastcondaError(outcome.detail)))
        else:
            case = junit.Case(f"{name}.build", "build", junit.Outcome.SKIPPED, 0.0, outcome.summary)
            suites.append(junit.Suite(f"fastconda build {name}", [case], 0.0))
    junit.write_suites(path, suites)


def _printer(ui: Ui) -> Callable[[Member], Progress]:
    """Progress as plain lines prefixed with the project's package name (builds run side by side);
    nothing with -q."""
    lock = threading.Lock()

    def for_member(member: Member) -> Progress:
        def show(event: ProgressEvent) -> None:
            if ui.verbosity < 0:
                return
            count = f" [{event.done}/{event.total}]" if event.total else ""
            with lock:
                print(f"{member.package}: {event.phase}{count}: {event.message}", file=ui.stderr, flush=True)

        return show

    return for_member


def table(outcomes: list[Outcome]) -> str:
    """The summary: one row per project, columns padded to their widest cell."""
    cwd = Path.cwd()
    rows = [list(COLUMNS)]
    for outcome in outcomes:
        root = outcome.member.root
        where = str(root.relative_to(cwd)) if root.is_relative_to(cwd) else str(root)
        seconds = f"{outcome.seconds:.1f}" if outcome.state in {"built", "skipped", "failed"} else ""
        rows.append(
            [where or ".", outcome.member.package, outcome.summary, seconds, outcome.phase, outcome.error]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS) - 1)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1]
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines)
