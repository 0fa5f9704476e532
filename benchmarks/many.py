"""Scenario ``many``: a set of projects built by one ``fastconda build FOLDER``, against separate calls.

N synthetic pure-Python projects (``benchmarks/templates/pure-project``, as the ``scale`` scenario makes
them, independent of each other) in one folder, all changed (``--force --replace``, into a fresh channel):

- ``set -j 1``: ``fastconda build FOLDER -j 1``, one build after the other in one process;
- ``set -j CPUS``: ``fastconda build FOLDER -j <CPU count>``, independent builds side by side;
- ``separate calls``: N ``fastconda build PROJECT`` command lines, one after the other (a shell loop);
- ``skip check``: ``fastconda build FOLDER`` again with nothing changed: every project read, checked
  and skipped (the largest N only).

Full run: 1, 10 and 50 projects (50: one run each). ``--quick``: 2 projects.
Goals (issue 20): 50 unchanged projects checked and skipped in under 2 s; 10 changed projects built
with ``-j 2`` on 2 cores in at most 60 % of the time of ten separate calls.
"""

from __future__ import annotations

import os
import shutil
from functools import partial
from pathlib import Path

from benchmarks._core import Context, Row, Scenario, compare, describe, fastconda, measure, seed_channel
from benchmarks.scale import make_projects

TITLE = "Many projects: one fastconda build over a set, against separate calls"
SEPARATE = "separate calls"
SKIP = "skip check (nothing changed)"


def _set_name(jobs: int) -> str:
    return f"set -j {jobs}"


def build_set(folder: Path, channel: Path, seed: Path, jobs: int, *extra: str) -> None:
    """``fastconda build FOLDER -j JOBS`` into *channel* (the set's summary table goes nowhere)."""
    fastconda("build", folder, "-c", seed, "-o", channel, "--offline", "-j", str(jobs), *extra)


def separate_calls(projects: list[Path], channel: Path, seed: Path) -> None:
    for project in projects:
        fastconda("build", project, "-c", seed, "-o", channel, "--offline", "--force", "--replace")


def _fresh(channel: Path) -> None:
    shutil.rmtree(channel, ignore_errors=True)


def run_scenario(ctx: Context) -> Scenario:
    scenario = Scenario("many", TITLE, describe(__doc__))
    seed = seed_channel("tango")
    work = ctx.scratch / "many"
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    counts = (2,) if ctx.quick else (1, 10, 50)
    projects = make_projects(work / "all", max(counts))
    for count in counts:
        group = f"{count} project{'s' if count > 1 else ''}"
        folder = work / f"set-{count}"  # a folder holding exactly these projects
        for project in projects[:count]:
            shutil.copytree(project, folder / project.name)
        chosen = sorted(folder.iterdir())
        channel = work / f"channel-{count}"
        runs = 1 if count > 10 else min(ctx.repeat, 3)
        setup = partial(_fresh, channel)
        for jobs in dict.fromkeys((1, cpus)):
            ctx.log(f"{group}: {_set_name(jobs)} ...")
            once = partial(build_set, folder, channel, seed, jobs, "--force", "--replace")
            scenario.rows.append(
                measure(Row(_set_name(jobs), group=group), once, runs, warmup=count == counts[0], setup=setup)
            )
        ctx.log(f"{group}: {SEPARATE} ...")
        loop = partial(separate_calls, chosen, channel, seed)
        scenario.rows.append(measure(Row(SEPARATE, group=group), loop, runs, setup=setup))
        compare(scenario, _set_name(cpus), [SEPARATE, _set_name(1)], group)
        if count == max(counts):
            ctx.log(f"{group}: {SKIP} ...")
            build_set(folder, channel, seed, cpus, "--replace")  # each recorded as the set builds it
            check = partial(build_set, folder, channel, seed, cpus)
            row = measure(Row(SKIP, group=group), check, min(ctx.repeat, 5))
            scenario.rows.append(row)
            if row.ok:
                scenario.ratios.append(
                    f"{group}: nothing changed: all {count} checked and skipped in {row.median:.2f} s, "
                    "start-up included (goal for 50: under 2 s)."
                )
    scenario.notes.append(
        f"{cpus} CPUs; the projects are independent (no project needs another), so -j runs them all side "
        "by side; every row but the skip check rebuilds every project into a fresh channel"
    )
    return scenario
