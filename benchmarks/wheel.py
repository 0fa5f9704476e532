"""Scenario ``wheel``: wheel → .conda, fastconda against whl2conda on the same real wheels.

The wheels are the seed channel's own (pure: hatchling, pip; binary: numpy, pytango; ``--quick``: hatchling),
taken from the wheel cache the seed bootstrap fills. Per wheel:

- ``fastconda wheel (library)``: ``wheel_to_conda`` in-process (targets: pure < 100 ms, numpy < 1 s);
- ``fastconda wheel (CLI)`` and ``whl2conda convert (CLI)``: both command lines as subprocesses on the same
  wheel (interpreter start-up on both sides), for a fair ratio; fastconda also at zstd level 19, the level
  whl2conda writes with, next to its default 3 (binary wheels: one run at level 19 and of whl2conda, which
  take up to a minute each here, two of the others);
- ``fastconda test``: solve + install + imports of the converted package into a fresh prefix from the seed
  channel (rattler cache warm; target < 3 s), and the full default check set.

whl2conda comes from ``--whl2conda PATH``, the ``bench`` extras (next to this Python) or PATH; skipped
with the reason when it is absent or fails.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

from benchmarks._core import (
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
)
from benchmarks._routes import test_package, test_phases

PURE = ("hatchling", "pip")
BINARY = ("numpy", "pytango")
TITLE = "Wheel conversion: fastconda vs whl2conda"
LIBRARY = "fastconda wheel (library)"
CLI = "fastconda wheel (CLI)"
CLI19 = "fastconda wheel (CLI, zstd 19)"
WHL2CONDA = "whl2conda convert (CLI)"


def _wheel(folder: Path, name: str) -> Path:
    found = sorted(folder.glob(f"{name}-*.whl"))
    if not found:
        msg = f"no {name}-*.whl in {folder}: bootstrap the tango seed channel once with a network"
        raise Failed(msg)
    return found[-1]


def _rows(ctx: Context, wheel: Path, short: str, work: Path) -> list[Row]:
    from fastconda.wheel import WheelOptions, wheel_to_conda

    options = WheelOptions(python="3.11", platform="linux-64")
    # binary wheels are big: at zstd 19 one conversion takes up to a minute here (both tools), so the
    # zstd-19 rows of binary wheels get one run and their other rows two
    runs = max(ctx.repeat, 3) if short in PURE else min(ctx.repeat, 2)
    slow_runs = runs if short in PURE else 1
    counter = iter(range(10**6))

    def library() -> None:
        wheel_to_conda(wheel, work / f"lib{next(counter)}", options)

    def cli() -> None:
        fastconda("wheel", wheel, "--python", "3.11", "-o", work / f"cli{next(counter)}", ok=(0, 3))

    def level19() -> None:
        os.environ["FASTCONDA_COMPRESSION_LEVEL"] = "19"
        try:
            cli()
        finally:
            del os.environ["FASTCONDA_COMPRESSION_LEVEL"]

    rows = [
        measure(Row(LIBRARY, group=short), library, runs, warmup=True),
        measure(Row(CLI, group=short), cli, runs),
        measure(Row(CLI19, group=short), level19, slow_runs),
    ]
    if ctx.whl2conda is None:
        rows.append(skipped(WHL2CONDA, "whl2conda is not installed (pip install 'fastconda[bench]', or "
                                       "pass --whl2conda PATH)", short))  # fmt: skip
        return rows
    theirs: list[str | Path] = [
        ctx.whl2conda,
        "convert",
        wheel,
        "--ignore-pyproject",
        "--format",
        "conda",
        "--batch",
        "--yes",
    ]
    theirs += ["--overwrite", "-q", "--allow-impure"]

    def whl2conda() -> None:
        run([*theirs, "--out-dir", work / f"w2c{next(counter)}"])

    rows.append(measure(Row(WHL2CONDA, group=short), whl2conda, slow_runs))
    return rows


def run_scenario(ctx: Context) -> Scenario:
    from fastconda.settings import load_settings

    scenario = Scenario("wheel", TITLE, describe(__doc__))
    seed = seed_channel("tango")  # fills the wheel cache too; not measured
    wheels = load_settings().wheel_cache_dir
    work = ctx.scratch / "wheel"
    names = ("hatchling",) if ctx.quick else (*PURE, *BINARY)
    for short in names:
        ctx.log(f"{short} ...")
        scenario.rows += _rows(ctx, _wheel(wheels, short), short, work / short)
        compare(scenario, CLI, [WHL2CONDA], short)
        compare(scenario, CLI19, [WHL2CONDA], short)
    tested = ("hatchling",) if ctx.quick else ("pytango", "hatchling")
    for short in tested:
        package = next((work / short / "lib0").glob("*.conda"))
        ctx.log(f"fastconda test {short} ...")
        test_package(package, [seed], work / "warm")  # rattler's cache warm, not measured
        imports = Row("fastconda test: solve + install + imports", group=short)
        only_imports = partial(test_phases, package, [seed], work, "--no-pip-check", "--no-entry-points")
        scenario.rows.append(measure(imports, only_imports, ctx.repeat))
        if not ctx.quick:
            full = Row("fastconda test: all default checks", group=short)
            scenario.rows.append(measure(full, partial(test_phases, package, [seed], work), ctx.repeat))
    return scenario
