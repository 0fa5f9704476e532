"""Scenario ``projects``: real facility projects from PyPI, grayskull + conda-build against fastconda build.

Six projects of the real-projects corpus (``tests/corpus/projects.toml``: pinned PyPI sdists of Tango
device servers, a Sardana plug-in and facility libraries), each built in the same run by both routes, offline,
against the same channels:

- ``fastconda build --fill``: the unpacked sdist against the tango seed channel, what it needs beyond the
  seed filled from the corpus wheels into a fill channel of its own (one unmeasured warm-up build fills it);
- ``conda-build``: grayskull's ``meta.yaml`` for the same sdist (made offline from the corpus wheels; its
  licence placeholders removed, as a person must, nothing else changed), built by conda-build against the
  same fill channel and the seed (``benchmarks/_conda_build.py``), after one unmeasured warm-up build.

The two routes' runs of a project alternate (fastconda, conda-build, fastconda, ...).

Each route's outcome is in the per-project table: a route that fails on a project has no time there, and
the project gives no ratio. Needs ``python -m tests.fetch_corpus`` once; ``--quick`` builds one project
once, without a warm-up.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import statistics
import tempfile
from functools import partial
from pathlib import Path

from tests.corpus.corpus import WHEELS, CorpusError, Project, build, build_env, load_fetched, unpack

from benchmarks import _conda_build as conda_build
from benchmarks._core import (
    Context,
    Failed,
    Row,
    Scenario,
    Series,
    describe,
    measure_interleaved,
    seed_channel,
)

TITLE = "Real facility projects: grayskull + conda-build against fastconda build"
PROJECTS = ("tangods-achtung", "facadedevice", "dsconfig", "tango-gateway", "sardana-icepap", "pytango-db")
CONDA_BUILD = "conda-build (grayskull meta.yaml)"
FASTCONDA = "fastconda build --fill"
_PLACEHOLDER = re.compile(r"^\s*license_file:\s*PLEASE_ADD_LICENSE_FILE\s*$", re.MULTILINE)


def grayskull_meta(project: Project, work: Path) -> Path:
    """grayskull's recipe folder for the project's sdist, made offline from the corpus wheels."""
    from fastconda.errors import FastcondaError
    from fastconda.settings import Caches
    from fastconda.tools.grayskull import generate_meta_yaml

    caches = Caches(work / "grayskull-cache", WHEELS, offline=True)
    try:
        meta = generate_meta_yaml(project.sdist, work / "grayskull", caches)
    except FastcondaError as exc:
        msg = f"grayskull on {project.sdist.name}: {str(exc).splitlines()[0]}"
        raise Failed(msg) from None
    text = _PLACEHOLDER.sub("", meta.read_text(encoding="utf-8"))
    text = text.replace("IT-WAS-NOT-POSSIBLE-TO-RECOVER-LICENCE", "LicenseRef-unknown")
    meta.write_text(text, encoding="utf-8")
    return meta.parent


def _fastconda(project: Project, work: Path, seed: Path, fill: Path) -> dict[str, float]:
    scratch = Path(tempfile.mkdtemp(prefix="build-", dir=work))
    try:
        source = unpack(project, scratch / "src")
        outcome = build(source, [seed], scratch / "channel", build_env(work / "fastconda-cache"), fill=fill)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if outcome.status != "built":
        msg = f"{outcome.status}: {outcome.line}"
        raise Failed(msg)
    return dict(outcome.phases)


def run_scenario(ctx: Context) -> Scenario:
    scenario = Scenario("projects", TITLE, describe(__doc__))
    try:
        corpus = load_fetched()
    except CorpusError as exc:
        raise Failed(str(exc)) from None
    by_name = {p.name: p for p in corpus.projects}
    projects = [by_name[name] for name in PROJECTS[: 1 if ctx.quick else None]]
    seed = seed_channel("tango")
    runs = 1 if ctx.quick else min(ctx.repeat, 2)
    table: list[dict[str, object]] = []
    for project in projects:
        ctx.log(f"{project.id}: fastconda build --fill, then grayskull + conda-build ...")
        work = ctx.scratch / "projects" / project.id
        work.mkdir(parents=True)
        fill = work / "fill"
        build_ours = Series(Row(FASTCONDA, group=project.id), partial(_fastconda, project, work, seed, fill))
        if not ctx.quick:  # the warm-up fills the fill channel, which conda-build's runs use too
            with contextlib.suppress(Failed):  # a build that fails fails again in its measured runs
                build_ours.fn()
        try:
            meta = grayskull_meta(project, work)
        except Failed as exc:
            build_theirs = Series(Row(CONDA_BUILD, group=project.id, skipped=exc.reason), lambda: None)
        else:
            channels = [fill, seed] if fill.is_dir() else [seed]
            build_theirs = conda_build.series(ctx, CONDA_BUILD, meta, channels, group=project.id)
        # in turns, so that the machine's drift does not favour either
        ours, theirs = measure_interleaved([build_ours, build_theirs], runs)
        scenario.rows += [ours, theirs]
        scenario.headline.append((project.id, CONDA_BUILD, FASTCONDA))
        table.append({
            "project": project.id,
            "facility": project.facility,
            "fastconda s": f"{ours.median:.1f}" if ours.ok else "",
            "fastconda": "built" if ours.ok else ours.skipped[:160],
            "conda-build s": f"{theirs.median:.1f}" if theirs.ok else "",
            "conda-build": "built" if theirs.ok else (theirs.skipped or "no runs")[:160],
            "ratio": f"{theirs.median / ours.median:.1f}×" if ours.ok and theirs.ok else "",
        })  # fmt: skip
    scenario.extra["per project"] = table
    both = [(scenario.row(CONDA_BUILD, p.id), scenario.row(FASTCONDA, p.id)) for p in projects]
    pairs = [(t.median, o.median) for t, o in both if t and o and t.ok and o.ok]
    if pairs:
        theirs_s = statistics.median(t for t, _ in pairs)
        ours_s = statistics.median(o for _, o in pairs)
        scenario.ratios.append(
            f"On the {len(pairs)} of {len(projects)} projects both routes built: median conda-build "
            f"{theirs_s:.1f} s, fastconda build {ours_s:.1f} s ({theirs_s / ours_s:.1f}×)."
        )
    if ctx.conda_build is not None:
        scenario.notes.append(conda_build.network_note())
    return scenario
