"""Scenario ``build``: the bundled PyTango server, every route side by side in one run.

On the same project, the same grayskull ``meta.yaml`` and the same local seed channel:

- ``conda-build``: conda-build on grayskull's meta.yaml, fully offline against the seed channel
  (``benchmarks/_conda_build.py``: its own condarc, ``--override-channels``, the network off when root).
  Taken from ``--conda-build PATH`` or PATH; skipped, with the reason, when absent or when it cannot run.
- ``rattler-build engine``: the same meta.yaml (license placeholders and import guess fixed, as a person
  must) converted by fastconda, built and tested by the engine as is (not with ``--quick``).
- ``fastconda build``: the command line (sdist, grayskull, convert, rules, build, test, index), warm caches.
- ``wheel fast path``: ``python -m build --wheel`` + ``fastconda wheel --channel`` + ``fastconda test``.
- ``python -m build --wheel``: the backend alone, the floor of every route.

The routes run in turns (every warm-up, then one run of each, again): this machine's speed drifts.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import _conda_build as conda_build
from benchmarks import _where as where
from benchmarks._core import (
    Context,
    Failed,
    Row,
    Scenario,
    Series,
    compare,
    describe,
    measure_interleaved,
    seed_channel,
)
from benchmarks._routes import PYTANGO_EXAMPLE, backend_python, build_wheel, fastconda_build, wheel_fast_path

EXAMPLE = PYTANGO_EXAMPLE
TITLE = "Pure-Python PyTango server (tango-powersupply)"
CONDA_BUILD = "conda-build (grayskull meta.yaml)"
ENGINE = "rattler-build engine (converted meta.yaml)"
FASTCONDA = "fastconda build"
FAST_PATH = "wheel fast path (build + fastconda wheel + fastconda test)"
FLOOR = "python -m build --wheel (the floor)"


def grayskull_recipe(work: Path) -> Path:
    """grayskull's meta.yaml for the example, with what a person must fix before it builds at all."""
    from fastconda.settings import Caches, load_settings
    from fastconda.tools import grayskull as grayskull_
    from fastconda.tools import pep517 as sdist

    settings = load_settings(overrides={"offline": True})
    tarball = sdist.build_sdist(EXAMPLE, work / "sdist", caches=Caches.of(settings))
    meta: Path = grayskull_.generate_meta_yaml(tarball, work / "grayskull")
    # its license placeholders and its import guess (the module is powersupply, not tango_powersupply)
    fixed = meta.read_text().replace("IT-WAS-NOT-POSSIBLE-TO-RECOVER-LICENCE", "GPL-3.0-or-later")
    fixed = fixed.replace("  license_file: PLEASE_ADD_LICENSE_FILE\n", "")
    meta.write_text(fixed.replace("- tango_powersupply", "- powersupply"))
    return meta


def engine_series(meta: Path, seed: str, work: Path) -> Series:
    from fastconda.convert import convert
    from fastconda.errors import FastcondaError
    from fastconda.tools import rattler_build as engine

    plain = work / "plain-recipe" / "recipe.yaml"
    plain.parent.mkdir(parents=True, exist_ok=True)
    plain.write_text(convert(meta).recipe_text, encoding="utf-8")

    def once() -> None:
        out = Path(tempfile.mkdtemp(dir=work))
        try:
            engine.build_recipe(plain, channels=[seed], work_dir=out)
        except FastcondaError as exc:
            raise Failed(str(exc).splitlines()[0]) from None
        shutil.rmtree(out, ignore_errors=True)

    return Series(Row(ENGINE), once, warmup=True)


def run_scenario(ctx: Context) -> Scenario:
    scenario = Scenario("build", TITLE, describe(__doc__))
    seed = seed_channel("tango")
    work = ctx.scratch / "build"
    work.mkdir(parents=True, exist_ok=True)
    meta = grayskull_recipe(work)
    runs, warm = ctx.repeat, not ctx.quick
    series = [conda_build.series(ctx, CONDA_BUILD, meta.parent, [seed])]
    if ctx.quick:
        scenario.notes.append("--quick: the rattler-build engine alone is not run")
    else:
        series.append(engine_series(meta, seed.as_uri(), work))
    output = work / "channel"
    built: list[dict[str, Any]] = []  # each run's --json, for where the time goes
    ours = Series(
        Row(FASTCONDA),
        lambda: fastconda_build(EXAMPLE, [seed], output, "--force", "--replace", reports=built),
        warm,
    )
    series.append(ours)
    backend = backend_python(EXAMPLE)
    fast: list[dict[str, Any]] = []
    fast_path = Series(
        Row(FAST_PATH), lambda: wheel_fast_path(EXAMPLE, work / "fast", seed, backend, reports=fast), warm
    )
    series.append(fast_path)

    def floor() -> None:
        build_wheel(EXAMPLE, work / "floor", backend)

    series.append(Series(Row(FLOOR), floor, warm))
    ctx.log(f"{', '.join(s.row.name for s in series)}: in turns ...")
    scenario.rows += measure_interleaved(series, runs)
    for row, reports, split in (
        (ours.row, built, where.fastconda_build_parts),
        (fast_path.row, fast, where.fast_path_parts),
    ):
        if found := where.table(row, reports, split):
            scenario.extra[f"Where the time of {row.name} goes (medians, largest first)"] = found
    if ctx.conda_build is not None:
        scenario.notes.append(conda_build.network_note())
    scenario.headline += [("", CONDA_BUILD, route) for route in (FASTCONDA, FAST_PATH, ENGINE)]
    compare(scenario, FASTCONDA, [CONDA_BUILD, ENGINE])
    compare(scenario, FAST_PATH, [CONDA_BUILD, FASTCONDA])
    compare(scenario, FLOOR, [FAST_PATH])
    scenario.notes.append(
        "conda-build and the engine build grayskull's recipe as written (pip install . -vv, separate test "
        "environments); fastconda build applies the facility rules (one test environment, no build isolation)"
    )
    return scenario
