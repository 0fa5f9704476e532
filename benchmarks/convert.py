"""Scenario ``convert``: meta.yaml → recipe.yaml throughput and quality on a folder of recipes.

The golden cases (``tests/data/recipes``: one sub-folder per recipe with a ``meta.yaml`` and an optional
``conda_build_config.yaml``; real recipes in thousands are the ``recipes`` scenario's). For every recipe:
the conversion (expression caches cleared before each run, so a run costs what one recipe costs in a fresh
CI job, imports excepted); whether the result renders with the rattler-build engine for linux-64 and
noarch; whether ``fastconda convert --check`` finds no difference on linux-64. Rows: one pass over the
folder converting only, one pass converting, rendering and checking (per-phase), and the typical PyTango
server recipe.
"""

from __future__ import annotations

import dataclasses
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._core import REPO, Context, Row, Scenario, describe, measure

# What conda-forge's global pinning would provide to a render (the recipes do not define these).
BASE_VARIANTS = 'c_stdlib: [sysroot]\nc_stdlib_version: ["2.17"]\npython: ["3.11"]\nnumpy: ["1.26"]\n'
BASE_VARIANTS += 'python_min: ["3.9"]\n'
TYPICAL = "pytango_server_grayskull"  # the shape grayskull writes for a PyTango server
TITLE = "Conversion: meta.yaml → recipe.yaml"
GOLDEN = REPO / "tests" / "data" / "recipes"


@dataclasses.dataclass
class Quality:
    recipe: str
    converts: bool = False
    median_ms: float = 0.0
    renders_linux_64: bool = False
    renders_noarch: bool = False
    check: bool = False
    warnings: int = 0


def _convert(case: Path) -> Any:
    from fastconda.convert import convert
    from fastconda.convert.expressions import clear_caches

    clear_caches()
    variants = case / "conda_build_config.yaml"
    return convert(case / "meta.yaml", variant_config=variants if variants.is_file() else None)


def _renders(result: Any, target: str) -> bool:
    from rattler_build import PlatformConfig, RenderConfig, Stage0Recipe, VariantConfig

    config = VariantConfig.from_yaml(BASE_VARIANTS)
    if result.variants_text:
        config = config.merge(VariantConfig.from_yaml(result.variants_text))
    with tempfile.TemporaryDirectory(prefix="fastconda-bench-") as tmp:
        try:
            recipe = Stage0Recipe.from_yaml(result.recipe_text, recipe_dir=tmp)
            recipe.render(config, RenderConfig(platform=PlatformConfig(target_platform=target)))
        except Exception:  # the engine raises several unrelated types; any of them is a "no"
            return False
    return True


def _quality(case: Path, phases: dict[str, float]) -> Quality:
    """Convert, render and check one recipe, adding each step's time to *phases*."""
    from fastconda.convert.check import check
    from fastconda.errors import FastcondaError

    row = Quality(case.name)
    start = time.perf_counter()
    try:
        result = _convert(case)
    except FastcondaError:
        return row
    finally:
        phases["convert"] = phases.get("convert", 0.0) + time.perf_counter() - start
    row.converts, row.warnings = True, len(result.warnings)
    start = time.perf_counter()
    row.renders_linux_64 = _renders(result, "linux-64")
    row.renders_noarch = _renders(result, "noarch")
    phases["render"] = phases.get("render", 0.0) + time.perf_counter() - start
    start = time.perf_counter()
    variants = case / "conda_build_config.yaml"
    report = check(case / "meta.yaml", result, platform="linux-64",
                   variant_config=variants if variants.is_file() else None)  # fmt: skip
    row.check = report.ok
    phases["check"] = phases.get("check", 0.0) + time.perf_counter() - start
    return row


def _convert_all(cases: list[Path]) -> None:
    from fastconda.errors import FastcondaError

    for case in cases:
        try:
            _convert(case)
        except FastcondaError:
            continue


def _per_recipe_ms(case: Path, runs: int) -> float:
    from fastconda.errors import FastcondaError

    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        try:
            _convert(case)
        except FastcondaError:
            return 0.0
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def run_scenario(ctx: Context) -> Scenario:
    scenario = Scenario("convert", TITLE, describe(__doc__))
    cases = sorted(p for p in GOLDEN.iterdir() if (p / "meta.yaml").is_file())
    if not cases:
        scenario.skipped = f"{GOLDEN}: no <recipe>/meta.yaml found"
        return scenario
    _convert_all(cases[:3])  # imports and the engine warm, not measured
    runs = max(3, ctx.repeat)
    ctx.log(f"{len(cases)} recipes from {GOLDEN}, {runs} passes ...")
    only = measure(Row(f"convert {len(cases)} recipes (one pass)"), lambda: _convert_all(cases), runs)
    rows: list[Quality] = []

    def full_pass() -> dict[str, float]:
        phases: dict[str, float] = {}
        rows[:] = [_quality(case, phases) for case in cases]
        return phases

    full = measure(Row(f"convert + render + --check, {len(cases)} recipes"), full_pass, 1 if ctx.quick else 3)
    typical_case = GOLDEN / TYPICAL
    scenario.rows += [only, full]
    if typical_case in cases:

        def typical() -> None:
            _convert(typical_case)

        scenario.rows.append(measure(Row(f"convert {TYPICAL}"), typical, runs * 3))
    for quality in rows:
        quality.median_ms = round(_per_recipe_ms(GOLDEN / quality.recipe, runs), 2)
    share = {field: sum(1 for r in rows if getattr(r, field)) / len(rows) for field in
             ("converts", "renders_linux_64", "renders_noarch", "check")}  # fmt: skip
    summary = {"recipes": len(cases), "recipes_per_s": len(cases) / only.median if only.ok else None, **share}
    scenario.extra["summary"] = summary
    scenario.extra["per recipe"] = [dataclasses.asdict(r) for r in rows]
    if only.ok:
        scenario.ratios.append(
            f"fastconda converts {summary['recipes_per_s']:.0f} recipes/s (one pass over {len(cases)} "
            f"recipes, median of {len(only.samples)}); {share['converts']:.0%} convert, "
            f"{share['renders_linux_64']:.0%} render for linux-64 and {share['renders_noarch']:.0%} for "
            "noarch with the engine, "
            f"{share['check']:.0%} pass --check."
        )
    scenario.notes.append(
        "render: a recipe that is not meant for a target (a noarch recipe for linux-64 is fine, a "
        "linux-only one for noarch is not) can fail to render there; the per-recipe table says which"
    )
    return scenario
