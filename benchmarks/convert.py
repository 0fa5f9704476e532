"""Benchmark: meta.yaml → recipe.yaml conversion throughput and quality on a folder of recipes.

    .venv/bin/python -m benchmarks.convert [FOLDER] [--repeat 15] [--out benchmarks/out/convert]

FOLDER (default: tests/data/recipes) holds one sub-folder per recipe with a ``meta.yaml`` (and an
optional ``conda_build_config.yaml``). For every recipe:

- ``convert``: the conversion, repeated; the expression caches are cleared before each run, so a
  run costs what converting one recipe in a fresh CI job costs (imports excepted);
- ``renders``: the converted recipe renders with the rattler-build engine for linux-64 and noarch;
- ``check``: ``fastconda convert --check`` finds no difference on linux-64.

Reports recipes/s (one pass over the folder), the per-recipe median, min and max of the medians,
and the share of recipes that convert, render and pass the check. Writes ``convert.json`` and
``convert.md``. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from rattler_build import PlatformConfig, RenderConfig, Stage0Recipe, VariantConfig

from benchmarks._report import machine, machine_line
from fastconda.convert import ConversionResult, convert
from fastconda.convert.check import check
from fastconda.convert.expressions import clear_caches
from fastconda.errors import FastcondaError

# What conda-forge's global pinning would provide to a render (the recipes do not define these).
BASE_VARIANTS = 'c_stdlib: [sysroot]\nc_stdlib_version: ["2.17"]\npython: ["3.11"]\nnumpy: ["1.26"]\n'
BASE_VARIANTS += 'python_min: ["3.9"]\n'
TYPICAL = "pytango_server_grayskull"  # the shape grayskull writes for a PyTango server


@dataclass
class Row:
    recipe: str
    converts: bool
    median_ms: float
    renders_linux_64: bool
    renders_noarch: bool
    check: bool
    warnings: int
    error: str = ""


def _variant_config(case: Path) -> Path | None:
    path = case / "conda_build_config.yaml"
    return path if path.is_file() else None


def _convert(case: Path) -> ConversionResult:
    clear_caches()
    return convert(case / "meta.yaml", variant_config=_variant_config(case))


def _renders(result: ConversionResult, target: str) -> bool:
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


def measure(case: Path, repeat: int) -> Row:
    samples: list[float] = []
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            result = _convert(case)
            samples.append(time.perf_counter() - start)
    except FastcondaError as exc:
        return Row(case.name, False, 0.0, False, False, False, 0, str(exc))
    report = check(case / "meta.yaml", result, platform="linux-64", variant_config=_variant_config(case))
    return Row(
        recipe=case.name,
        converts=True,
        median_ms=statistics.median(samples) * 1000,
        renders_linux_64=_renders(result, "linux-64"),
        renders_noarch=_renders(result, "noarch"),
        check=report.ok,
        warnings=len(result.warnings),
    )


def folder_pass(cases: list[Path], repeat: int) -> float:
    """The median time of converting every recipe of the folder once, in seconds."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for case in cases:
            with contextlib.suppress(FastcondaError):
                _convert(case)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _share(rows: list[Row], field: str) -> float:
    return sum(1 for r in rows if getattr(r, field)) / len(rows) if rows else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folder", nargs="?", type=Path, default=Path("tests/data/recipes"))
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/convert"))
    args = parser.parse_args()

    cases = sorted(p for p in args.folder.iterdir() if (p / "meta.yaml").is_file())
    if not cases:
        parser.error(f"{args.folder}: no <recipe>/meta.yaml found")
    for case in cases[:3]:  # warm the imports and the engine once, not measured
        with contextlib.suppress(FastcondaError):
            _convert(case)
    rows = [measure(case, args.repeat) for case in cases]
    pass_s = folder_pass(cases, max(3, args.repeat // 3))
    medians = [r.median_ms for r in rows if r.converts]
    typical = next((r.median_ms for r in rows if r.recipe == TYPICAL and r.converts), None)
    summary = {
        "recipes": len(rows),
        "recipes_per_s": len(cases) / pass_s if pass_s else 0.0,
        "folder_pass_ms": pass_s * 1000,
        "per_recipe_median_ms": statistics.median(medians) if medians else None,
        "per_recipe_min_ms": min(medians) if medians else None,
        "per_recipe_max_ms": max(medians) if medians else None,
        "typical_recipe": TYPICAL,
        "typical_recipe_ms": typical,
        "share_converts": _share(rows, "converts"),
        "share_renders_linux_64": _share(rows, "renders_linux_64"),
        "share_renders_noarch": _share(rows, "renders_noarch"),
        "share_check": _share(rows, "check"),
    }
    info = machine()
    args.out.mkdir(parents=True, exist_ok=True)
    data = {"folder": str(args.folder), "repeat": args.repeat, "machine": info, "summary": summary}
    data["recipes"] = [asdict(r) for r in rows]
    (args.out / "convert.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    report = _markdown(args.folder, info, summary, rows)
    (args.out / "convert.md").write_text(report, encoding="utf-8")
    print(report)


def _markdown(folder: Path, info: dict[str, object], summary: dict[str, object], rows: list[Row]) -> str:
    def pct(key: str) -> str:
        value = summary[key]
        assert isinstance(value, float)
        return f"{value:.0%}"

    def ms(value: object) -> str:
        return f"{value:.1f} ms" if isinstance(value, float) else "-"

    yes = {True: "yes", False: "no"}
    lines = [
        f"# Conversion benchmark ({folder}, {summary['recipes']} recipes)",
        "",
        machine_line(info),
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| recipes/s (one pass over the folder) | {summary['recipes_per_s']:.0f} |",
        f"| per-recipe median (min – max) | {ms(summary['per_recipe_median_ms'])} "
        f"({ms(summary['per_recipe_min_ms'])} – {ms(summary['per_recipe_max_ms'])}) |",
        f"| typical recipe ({summary['typical_recipe']}) | {ms(summary['typical_recipe_ms'])} |",
        f"| converts | {pct('share_converts')} |",
        f"| renders with the engine, linux-64 | {pct('share_renders_linux_64')} |",
        f"| renders with the engine, noarch | {pct('share_renders_noarch')} |",
        f"| passes --check (linux-64) | {pct('share_check')} |",
        "",
        "| recipe | median | renders linux-64 | renders noarch | --check | warnings |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {r.recipe} | {ms(r.median_ms) if r.converts else 'error'} | {yes[r.renders_linux_64]} | "
        f"{yes[r.renders_noarch]} | {yes[r.check]} | {r.warnings} |"
        for r in rows
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
