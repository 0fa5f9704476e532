"""Scenario ``caches``: cold against warm caches, with the command lines a user runs.

- ``seed bootstrap``: ``fastconda channel bootstrap --profile tango`` with wheels in the wheel cache but an
  empty package cache (what a first bootstrap on a CI runner with a cached wheel folder costs), with the
  package cache warm (a second channel on the same machine), and again on the same channel (no-op);
- ``env create``: ``fastconda env create`` (python, pytango, numpy, pip) from the seed channel with an empty
  rattler package cache, and with a warm one (environments become hard links);
- ``fastconda build``: the bundled PyTango server built on cold caches (a CI runner that starts clean: empty
  fastconda and rattler caches, only the wheel folder kept), on a cold fastconda cache with rattler's package
  cache warm (a runner that keeps ``~/.cache/rattler``), and again on the same, now warm, caches: the phases
  show where the cold time goes (the backend environment in ``sdist``, unpacking the test packages in
  ``test``); then rebuilt with the repository's caches (``--force``), and the same command when nothing
  changed (skip-unchanged).

``--quick``: the no-op bootstrap, env create (python, pip) cold and warm, the example build cold and warm, and
the skip-unchanged build.
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

from benchmarks._core import Context, Row, Scenario, compare, describe, fastconda, measure, seed_channel
from benchmarks._routes import PYTANGO_EXAMPLE, fastconda_build

TITLE = "Cold and warm caches"
EXAMPLE = PYTANGO_EXAMPLE
SPECS = ("python", "pytango", "numpy", "pip")
QUICK_SPECS = ("python", "pip")


def _bootstrap_rows(ctx: Context, work: Path, runs: int) -> list[Row]:
    from fastconda.settings import load_settings

    wheel_cache = str(load_settings().wheel_cache_dir)
    counter = itertools.count()
    state: dict[str, Path] = {}

    def bootstrap(channel: Path, cache: Path) -> None:
        env = {"FASTCONDA_CACHE_DIR": str(cache), "FASTCONDA_WHEEL_CACHE": wheel_cache}
        fastconda("channel", "bootstrap", channel, "--profile", "tango", "--offline", env=env)

    def fresh() -> None:
        number = next(counter)
        state["cache"], state["channel"] = work / f"cache{number}", work / f"seed{number}"

    def cold() -> None:
        bootstrap(state["channel"], state["cache"])

    def warm() -> None:
        bootstrap(work / f"warm{next(counter)}", state["cache"])

    def noop() -> None:
        bootstrap(state["channel"], state["cache"])

    if ctx.quick:  # the no-op on the benchmarks' seed channel, with the repository's caches

        def noop_seed() -> None:
            seed_channel("tango")

        return [measure(Row("seed bootstrap: no-op (inputs unchanged)"), noop_seed, runs)]
    return [
        measure(Row("seed bootstrap: cold package cache"), cold, min(runs, 2), setup=fresh),
        measure(Row("seed bootstrap: warm package cache"), warm, runs),
        measure(Row("seed bootstrap: no-op (inputs unchanged)"), noop, runs),
    ]


def _env_rows(ctx: Context, seed: Path, work: Path, runs: int) -> list[Row]:
    specs = QUICK_SPECS if ctx.quick else SPECS
    counter = itertools.count()
    state: dict[str, str] = {}

    def create() -> None:
        env = {"RATTLER_CACHE_DIR": state["cache"]}
        fastconda("env", "create", work / f"env{next(counter)}", *specs, "-c", seed, env=env)

    def empty_cache() -> None:
        state["cache"] = str(work / f"rattler{next(counter)}")

    cold = measure(
        Row(f"env create ({', '.join(specs)}): cold rattler cache"), create, runs, setup=empty_cache
    )
    warm = measure(Row(f"env create ({', '.join(specs)}): warm rattler cache"), create, runs)
    return [cold, warm]


COLD_BUILD = "fastconda build: cold caches (fastconda, rattler)"
HALF_COLD_BUILD = "fastconda build: cold fastconda cache, warm rattler cache"
WARM_BUILD = "fastconda build: warm caches (fastconda, rattler)"


def _cold_build_rows(ctx: Context, seed: Path, work: Path, runs: int) -> list[Row]:
    """The example built on fresh caches, then again on the caches the last cold run filled."""
    from fastconda.settings import load_settings

    wheel_cache = str(load_settings().wheel_cache_dir)
    counter = itertools.count()
    state: dict[str, Path] = {}
    output = work / "cold-channel"

    def environ() -> dict[str, str]:
        return {"FASTCONDA_CACHE_DIR": str(state["cache"]), "RATTLER_CACHE_DIR": str(state["rattler"]),
                "FASTCONDA_WHEEL_CACHE": wheel_cache}  # fmt: skip

    def fresh(*, rattler: bool = True) -> None:
        for key in ("cache", "rattler") if rattler else ("cache",):
            if key in state:  # the last run's (hundreds of MB): only the newest is needed
                shutil.rmtree(state[key], ignore_errors=True)
            state[key] = work / f"cold-{key}{next(counter)}"

    def build() -> dict[str, float]:
        return fastconda_build(EXAMPLE, [seed], output, "--force", "--replace", env=environ())

    cold = measure(Row(COLD_BUILD), build, runs, setup=fresh)
    warm = measure(Row(WARM_BUILD), build, runs)
    rows = [cold, warm]
    if not ctx.quick:
        rows.insert(1, measure(Row(HALF_COLD_BUILD), build, runs, setup=lambda: fresh(rattler=False)))
    for key in ("cache", "rattler"):
        shutil.rmtree(state.get(key, work / "none"), ignore_errors=True)
    return rows


def run_scenario(ctx: Context) -> Scenario:
    scenario = Scenario("caches", TITLE, describe(__doc__))
    seed = seed_channel("tango")
    work = ctx.scratch / "caches"
    work.mkdir(parents=True, exist_ok=True)
    runs = min(ctx.repeat, 3)
    ctx.log("seed bootstrap ...")
    scenario.rows += _bootstrap_rows(ctx, work, runs)
    ctx.log("env create ...")
    scenario.rows += _env_rows(ctx, seed, work, runs)
    ctx.log("fastconda build on cold and warm caches ...")
    scenario.rows += _cold_build_rows(ctx, seed, work, runs)
    ctx.log("fastconda build ...")
    output = work / "channel"
    rebuild = Row("fastconda build: rebuild (--force)")
    scenario.rows.append(
        measure(
            rebuild,
            lambda: fastconda_build(EXAMPLE, [seed], output, "--force", "--replace"),
            1 if ctx.quick else runs,
        )
    )
    unchanged = Row("fastconda build: nothing changed (skipped)")
    scenario.rows.append(measure(unchanged, lambda: fastconda_build(EXAMPLE, [seed], output), runs))
    pairs = [(r.name, r.name.replace("cold", "warm")) for r in scenario.rows if "cold" in r.name]
    for cold, warm in pairs:
        compare(scenario, warm, [cold])
    compare(scenario, WARM_BUILD, [HALF_COLD_BUILD])
    cold_build, warm_build = scenario.row(COLD_BUILD), scenario.row(WARM_BUILD)
    if cold_build and warm_build and cold_build.ok and warm_build.ok:
        factor = cold_build.median / warm_build.median
        scenario.notes.append(
            f"A cold `fastconda build` of the example took {factor:.1f}× its warm time (goal: within 3×)."
        )
    compare(scenario, "seed bootstrap: no-op (inputs unchanged)", ["seed bootstrap: warm package cache"])
    compare(scenario, unchanged.name, [rebuild.name])
    shutil.rmtree(work, ignore_errors=True)
    return scenario
