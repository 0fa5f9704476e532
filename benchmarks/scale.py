"""Scenario ``scale``: 1, 10 and 50 packages in one run.

N synthetic pure-Python projects (a CLI tool depending on ``packaging``, generated from
``benchmarks/templates/pure-project``)
go to a fresh channel by:

- ``wheel fast path``: the N wheels built by a pool of processes (one per core), one ``fastconda wheel``
  call converting all N at once into the channel (its batch mode), then ``fastconda test`` of every
  package by a pool of processes (imports, pip check, ``--help``); 50 packages get one run;
- ``fastconda build``: N ``fastconda build`` command lines (``--force``), by a pool of processes, into
  the same channel (its writers serialise on the channel lock). 1 and 10 packages (50 would take most of
  the suite's time budget); not with ``--quick``.

``--quick``: 1 and 3 packages, the wheel fast path only.
"""

from __future__ import annotations

import shutil
import string
import time
from functools import partial
from pathlib import Path

from benchmarks._core import Context, Row, Scenario, describe, measure, seed_channel
from benchmarks._core import fastconda as fastconda_cli
from benchmarks._routes import backend_python, build_wheel, fastconda_build, pool, test_package

TEMPLATE = Path(__file__).parent / "templates" / "pure-project"
TITLE = "Scale: many packages in one run"
FAST_PATH = "wheel fast path"
BUILD = "fastconda build"


def make_projects(root: Path, count: int) -> list[Path]:
    """*count* projects ``bench-tool-NNN`` from the template (module ``bench_tool_NNN``)."""
    projects = []
    for number in range(count):
        name = f"bench-tool-{number:03d}"
        values = {"name": name, "module": name.replace("-", "_"), "number": str(number)}
        project = root / name
        for source in TEMPLATE.rglob("*"):
            if source.is_file() and "__pycache__" not in source.parts:
                relative = str(source.relative_to(TEMPLATE)).replace("MODULE", values["module"])
                relative = relative.removesuffix(".in")
                target = project / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(string.Template(source.read_text()).substitute(values), encoding="utf-8")
        projects.append(project)
    return projects


def fast_path(projects: list[Path], work: Path, seed: Path, backend: Path) -> dict[str, float]:
    shutil.rmtree(work, ignore_errors=True)
    channel = work / "channel"
    start = time.perf_counter()
    pool(build_wheel, [(p, work / "dist", backend) for p in projects])
    phases = {"wheels": time.perf_counter() - start}
    start = time.perf_counter()
    fastconda_cli("wheel", *sorted((work / "dist").glob("*.whl")), "--channel", channel, ok=(0, 3))
    phases["convert"], start = time.perf_counter() - start, time.perf_counter()
    packages = sorted(channel.glob("noarch/*.conda"))
    pool(test_package, [(p, [channel, seed], work / "junit") for p in packages])
    phases["test"] = time.perf_counter() - start
    return phases


def many_builds(projects: list[Path], work: Path, seed: Path) -> None:
    shutil.rmtree(work, ignore_errors=True)
    pool(fastconda_build, [(p, [seed], work / "channel", "--force", "--replace") for p in projects])


def run_scenario(ctx: Context) -> Scenario:
    scenario = Scenario("scale", TITLE, describe(__doc__))
    seed = seed_channel("tango")
    work = ctx.scratch / "scale"
    counts = (1, 3) if ctx.quick else (1, 10, 50)
    projects = make_projects(work / "projects", max(counts))
    backend = backend_python(projects[0])
    runs = min(ctx.repeat, 3)
    for count in counts:
        group = f"{count} package{'s' if count > 1 else ''}"
        chosen = projects[:count]
        ctx.log(f"{group}: {FAST_PATH} ...")
        row = Row(FAST_PATH, group=group)
        once = partial(fast_path, chosen, work / "fast", seed, backend)
        scenario.rows.append(measure(row, once, runs if count <= 10 else 1, warmup=count == 1))
        if not ctx.quick and count <= 10:
            ctx.log(f"{group}: {BUILD} ...")
            builds = partial(many_builds, chosen, work / "build", seed)
            scenario.rows.append(measure(Row(BUILD, group=group), builds, runs))
    for name in (FAST_PATH, BUILD):
        measured = [(int(r.group.split()[0]), r) for r in scenario.rows if r.name == name and r.ok]
        if len(measured) > 1:
            parts = [f"{n} in {r.median:.1f} s ({r.median / n:.2f} s each)" for n, r in measured]
            scenario.ratios.append(f"{name}: " + ", ".join(parts) + " (medians; runs in the table).")
    scenario.notes.append(
        "pools run one process per core; `fastconda wheel` converts all N wheels in one call"
    )
    return scenario
