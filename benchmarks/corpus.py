"""Scenario ``corpus``: ``fastconda build`` on the real-projects corpus, per project, warm and cold.

The projects of ``tests/corpus/projects.toml`` (Tango device servers, Sardana plug-ins, facility libraries;
PyPI sdists at pinned versions), each unpacked and built offline with the command line against the tango
seed channel alone with ``--fill``, exactly as the slow corpus test builds them: what a project needs beyond
the seed is filled from the corpus wheels into a fill channel of its own.

- ``cold``: a fresh, empty fastconda cache folder (no sdist build environments, no backend environments)
  and an empty fill channel, with the corpus wheels available (``FASTCONDA_WHEEL_CACHE``) and the rattler
  package cache as it is: the ``fill`` phase converts the project's whole missing closure;
- ``warm``: a persistent fastconda cache and fill channel of the benchmark's own, after one unmeasured
  warm-up build: the fill finds nothing missing.

Every build is timed, whatever its outcome: a refusal's time is the time to the refusal (the outcome is in
the per-project table). The rows ``all projects`` hold one sample per project (its median), so their
median is the median over the corpus. Needs ``python -m tests.fetch_corpus`` once; ``--quick`` builds one
project that builds today: cold once, warm once after its warm-up.
"""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
from pathlib import Path

from tests.corpus.corpus import (
    CORPUS_CACHE,
    CorpusError,
    Outcome,
    Project,
    build,
    build_env,
    forget_kept_work,
    load_fetched,
    unpack,
)

from benchmarks._core import Context, Failed, Row, Scenario, describe, seed_channel
from fastconda.pipeline.fill_lock import LOCK_NAME

TITLE = "Real projects corpus: fastconda build per project, warm and cold"
QUICK_PROJECTS = 1
#: the warm cache of the benchmark, apart from the corpus test's (the two may run at the same time)
WARM_CACHE = CORPUS_CACHE / "bench-fastconda"


def _build(project: Project, work: Path, channels: list[Path], cache: Path, fill: Path) -> Outcome:
    scratch = Path(tempfile.mkdtemp(prefix=f"{project.name}-", dir=work))
    try:
        source = unpack(project, scratch / "src")
        return build(source, channels, scratch / "channel", build_env(cache), fill=fill)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _filled(fill: Path) -> int:
    """How many packages the fill channel's record lists."""
    lock = fill / LOCK_NAME
    return len(json.loads(lock.read_text(encoding="utf-8"))["packages"]) if lock.is_file() else 0


def run_scenario(ctx: Context) -> Scenario:
    scenario = Scenario("corpus", TITLE, describe(__doc__))
    try:
        corpus = load_fetched()
    except CorpusError as exc:
        raise Failed(str(exc)) from None
    forget_kept_work(WARM_CACHE)
    channels = [seed_channel("tango")]
    projects = list(corpus.projects)
    if ctx.quick:
        projects = [p for p in projects if p.expect == "built" and not p.known][:QUICK_PROJECTS]
    runs = 1 if ctx.quick else min(ctx.repeat, 2)
    work = ctx.scratch / "corpus"
    work.mkdir(parents=True, exist_ok=True)
    table: list[dict[str, object]] = []
    warm_medians: list[float] = []
    cold_times: list[float] = []
    fill_times: list[float] = []
    for project in projects:
        ctx.log(f"{project.id} ...")
        cold_cache = Path(tempfile.mkdtemp(prefix="cold-cache-", dir=work))
        cold = _build(project, work, channels, cold_cache, cold_cache / "fill")
        filled = _filled(cold_cache / "fill")
        shutil.rmtree(cold_cache, ignore_errors=True)
        warm_fill = WARM_CACHE / "fill" / project.id
        _build(project, work, channels, WARM_CACHE, warm_fill)  # the warm-up (--quick too)
        warm = [_build(project, work, channels, WARM_CACHE, warm_fill) for _ in range(runs)]
        warm_row = Row("warm", [o.seconds for o in warm], group=project.id)
        warm_row.phases = {k: statistics.median(o.phases.get(k, 0.0) for o in warm) for k in warm[-1].phases}
        scenario.rows += [warm_row, Row("cold", [cold.seconds], dict(cold.phases), group=project.id)]
        warm_medians.append(warm_row.median)
        cold_times.append(cold.seconds)
        if "fill" in cold.phases:  # a refused build reports no phases
            fill_times.append(cold.phases["fill"])
        outcome = warm[-1]
        table.append({
            "project": project.id,
            "expected": project.expect,
            "outcome": outcome.status,
            "warm s": f"{warm_row.median:.1f}",
            "cold s": f"{cold.seconds:.1f}",
            "cold/warm": f"{cold.seconds / warm_row.median:.1f}" if warm_row.median else "",
            "filled (cold)": filled,
            "fill s (cold)": f"{cold.phases['fill']:.2f}" if "fill" in cold.phases else "",
            "first line": outcome.line.replace("|", "/")[:160],
        })  # fmt: skip
    scenario.rows += [
        Row("warm (one sample per project: its median)", warm_medians, group="all projects"),
        Row("cold (one sample per project)", cold_times, group="all projects"),
    ]
    if fill_times:
        scenario.rows.append(
            Row("fill phase, cold (one per built project that filled)", fill_times, group="all projects")
        )
    built = [i for i, t in enumerate(table) if t["outcome"] == "built"]
    if warm_medians:
        scenario.ratios.append(
            f"Median over {len(warm_medians)} projects: warm {statistics.median(warm_medians):.1f} s, "
            f"cold {statistics.median(cold_times):.1f} s."
        )
    if built:
        warm_built = statistics.median(warm_medians[i] for i in built)
        cold_built = statistics.median(cold_times[i] for i in built)
        scenario.ratios.append(
            f"Median over the {len(built)} built: warm {warm_built:.1f} s, cold {cold_built:.1f} s "
            f"({cold_built / warm_built:.1f}× the warm time)."
        )
    scenario.extra["per project"] = table
    scenario.notes += [
        "cold: an empty fastconda cache folder and fill channel per project, wheels available, rattler's "
        "package cache warm",
        "filled: packages the cold build's --fill converted from the corpus wheels into its fill channel",
    ]
    return scenario
