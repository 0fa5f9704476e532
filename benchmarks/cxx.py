"""Scenario ``cxx``: a C++ Tango server (the bundled Pogo project, migrated to plain CMake).

On a copy of ``examples/pogo-powermeter`` after ``fastconda pogo-migrate``, against a seed channel
bootstrapped with ``fastconda channel bootstrap DIR --profile cxx``:

- ``fastconda build (recipe route)``: ``fastconda build DIR`` (CMake recipe, rattler-build engine, tests);
- ``fastconda build --via wheel``: the scikit-build-core wheel route;
- ``conda-build``: the same build and test as a ``meta.yaml`` (``benchmarks/templates/cxx-conda-build``),
  against the same seed channel, the compilers mapped to its stand-ins by a ``conda_build_config.yaml``;
- ``cmake + ninja``: configure and compile with the system's Tango (pkg-config ``tango``), the floor.

A route whose command, profile or flag fails or does not exist yet is reported as skipped with the first
line of its error, never as a number.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from benchmarks import _conda_build as conda_build
from benchmarks._core import (
    REPO,
    Context,
    Failed,
    Row,
    Scenario,
    compare,
    describe,
    fastconda,
    measure,
    run,
    seed_channel,
    skipped,
    tool,
)
from benchmarks._routes import fastconda_build

EXAMPLE = REPO / "examples" / "pogo-powermeter"
TEMPLATES = REPO / "benchmarks" / "templates"
TITLE = "C++ Tango server (pogo-powermeter, migrated to CMake)"
RECIPE = "fastconda build (recipe route)"
VIA_WHEEL = "fastconda build --via wheel (scikit-build-core)"
VIA_WHEEL_COLD = "fastconda build --via wheel, cold build tree"
CONDA_BUILD = "conda-build"
FLOOR = "cmake + ninja (the floor, no package, no tests)"


def _prepare(work: Path) -> Path:
    source = work / "src"
    shutil.rmtree(source, ignore_errors=True)
    shutil.copytree(EXAMPLE, source)
    fastconda("pogo-migrate", source, ok=(0, 3))  # 3: done, with a report of what was not carried over
    return source


def _wheel_build_trees() -> Path:
    """Where ``--via wheel`` keeps its scratch mirrors and CMake build trees (fastconda.cxx.wheel_route)."""
    from fastconda.settings import load_settings

    return load_settings().cache_dir / "cxx-wheel"


def _conda_build_recipe(source: Path, work: Path) -> tuple[Path, Path]:
    """conda-build's recipe folder for the migrated server, and its variant config."""
    recipe = work / "conda-build-recipe"
    shutil.rmtree(recipe, ignore_errors=True)
    shutil.copytree(TEMPLATES / "cxx-conda-build", recipe)
    meta = recipe / "meta.yaml"
    meta.write_text(meta.read_text(encoding="utf-8").replace("SOURCE_DIR", str(source)), encoding="utf-8")
    shutil.copy2(REPO / "recipe_templates" / "cxx" / "tango_server_check.sh", recipe)
    return recipe, recipe / "conda_build_config.yaml"


def _floor_row(source: Path, work: Path, runs: int) -> Row:
    cmake = tool(None, "cmake")
    if cmake is None:
        return skipped(FLOOR, "no cmake executable")
    probe = subprocess.run(["pkg-config", "--exists", "tango"], capture_output=True, check=False)
    if probe.returncode:
        return skipped(
            FLOOR, "no Tango C++ development files (pkg-config tango; apt-get install libtango-dev)"
        )
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []

    def once() -> dict[str, float]:
        build = work / "cmake-build"
        shutil.rmtree(build, ignore_errors=True)
        start = time.perf_counter()
        run([cmake, "-S", source, "-B", build, *generator, "-DCMAKE_BUILD_TYPE=Release"])
        configured = time.perf_counter()
        run([cmake, "--build", build, "--parallel"])
        return {"configure": configured - start, "compile": time.perf_counter() - configured}

    return measure(Row(FLOOR), once, runs)


def run_scenario(ctx: Context) -> Scenario:
    scenario = Scenario("cxx", TITLE, describe(__doc__))
    work = ctx.scratch / "cxx"
    work.mkdir(parents=True, exist_ok=True)
    runs, warm = min(ctx.repeat, 3), not ctx.quick  # a C++ compile takes ~30 s on 2 cores: 3 runs at most
    try:
        source = _prepare(work)
    except Failed as exc:
        scenario.skipped = f"fastconda pogo-migrate failed: {exc.reason}"
        return scenario
    try:
        seed: Path | None = seed_channel("cxx")
        why = ""
    except Failed as exc:
        seed, why = None, f"seed channel: {exc.reason}"
    routes: list[tuple[str, tuple[str, ...]]] = [
        (RECIPE, ()),
        (VIA_WHEEL, ("--via", "wheel")),
        (VIA_WHEEL_COLD, ("--via", "wheel")),
    ]
    scenario.notes.append(
        "--via wheel keeps its CMake build tree in the cache, so a rebuild of unchanged sources compiles "
        "nothing; the 'cold build tree' row deletes that tree before every run (a full compile, like the "
        "recipe route, which always compiles from scratch)"
    )
    if ctx.quick:
        routes = routes[:1]
        scenario.notes.append(
            "--quick: the recipe route only (no --via wheel, no cmake floor, no conda-build)"
        )
    for name, extra in routes:
        ctx.log(f"{name} ...")
        if seed is None:
            scenario.rows.append(skipped(name, why))
            continue
        output = work / ("out-" + (extra[-1] if extra else "recipe"))

        cold = name == VIA_WHEEL_COLD

        def build(
            c: Path = seed, o: Path = output, e: tuple[str, ...] = extra, cold: bool = cold
        ) -> dict[str, float]:
            if cold:
                shutil.rmtree(_wheel_build_trees(), ignore_errors=True)
            return fastconda_build(source, [c], o, "--force", "--replace", *e)

        scenario.rows.append(measure(Row(name), build, runs, warmup=warm))
    if ctx.quick:
        return scenario
    if seed is None:
        scenario.rows.append(skipped(CONDA_BUILD, why))
    else:
        ctx.log(f"{CONDA_BUILD} ...")
        recipe, variants = _conda_build_recipe(source, work)
        scenario.rows.append(conda_build.row(ctx, CONDA_BUILD, recipe, [seed], runs, variant_config=variants))
        scenario.headline += [("", CONDA_BUILD, route) for route in (RECIPE, VIA_WHEEL_COLD, VIA_WHEEL)]
        if ctx.conda_build is not None:
            scenario.notes.append(conda_build.network_note())
    ctx.log(f"{FLOOR} ...")
    scenario.rows.append(_floor_row(source, work, runs))
    compare(scenario, RECIPE, [VIA_WHEEL, VIA_WHEEL_COLD, CONDA_BUILD])
    compare(scenario, FLOOR, [RECIPE, VIA_WHEEL, VIA_WHEEL_COLD])
    return scenario
