"""Benchmark: the wheel fast path (issue 5's targets), side by side with whl2conda in one run.

    .venv/bin/python -m benchmarks.wheel [--repeat 5] [--out benchmarks/out/wheel] [--whl2conda PATH]

Scenarios, each repeated, on this machine:

- ``convert <wheel>``: ``wheel_to_conda`` in-process (targets: pure < 100 ms, numpy < 1 s);
- ``fastconda wheel <wheel>`` and ``whl2conda convert <wheel>``: both command lines as subprocesses on the
  same wheel (interpreter start-up included on both sides), for a fair ratio; fastconda also at zstd
  level 19, the level whl2conda writes with (through conda-package-handling), next to its default 3;
- ``fastconda test <pkg>``: solve + install + imports of a converted package into a fresh prefix from the
  seed channel, rattler cache warm (target < 3 s), and the full default check set for reference.

whl2conda comes from PyPI into a throw-away venv under /tmp (never into .venv); when it cannot be
installed or run, its rows say "skipped" and why. The wheels are the seed channel's (its wheel cache), so
the seed channel is bootstrapped first (not measured). Writes ``wheel.json`` and ``wheel.md``. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from benchmarks._report import machine, machine_line, summarize, timing_table
from fastconda.seed import bootstrap
from fastconda.settings import PackageTestSettings, load_settings
from fastconda.testing import run_package_tests
from fastconda.wheel import WheelOptions, wheel_to_conda

PURE = ("hatchling-1.33.0-", "pip-26.3-")
BINARY = ("numpy-2.4.6-", "pytango-10.3.1-")
OPTIONS = WheelOptions(python="3.11", platform="linux-64")
WHL2CONDA_VENV = Path(tempfile.gettempdir()) / "fastconda-bench-whl2conda"


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _quiet(command: list[str], env: dict[str, str] | None = None) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False, env=env)
    if done.returncode:
        msg = f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}"
        raise RuntimeError(msg)


def whl2conda(explicit: Path | None) -> tuple[Path | None, str]:
    """The whl2conda executable (installed into a throw-away venv when needed), or None and why."""
    if explicit is not None:
        return (explicit, "") if explicit.exists() else (None, f"{explicit} does not exist")
    exe = WHL2CONDA_VENV / "bin" / "whl2conda"
    if not exe.exists():
        try:
            _quiet([sys.executable, "-m", "venv", str(WHL2CONDA_VENV)])
            _quiet([str(WHL2CONDA_VENV / "bin" / "pip"), "install", "--quiet", "whl2conda"])
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            return None, f"cannot install whl2conda from PyPI: {str(exc).strip().splitlines()[-1]}"
    return exe, ""


def _find(folder: Path, stem: str) -> Path:
    found = sorted(folder.glob(f"{stem}*.whl"))
    if not found:
        msg = f"no {stem}*.whl in {folder}: bootstrap the tango seed channel once with a network"
        raise SystemExit(msg)
    return found[0]


def _ratio(name: str, ours: float, theirs: float) -> str:
    if ours <= 0:
        return f"{name}: not measurable"
    factor = theirs / ours
    if 0.95 <= factor <= 1.05:
        return f"{name}: fastconda and whl2conda take about the same time"
    speed = "faster" if factor > 1 else "slower"
    return f"{name}: fastconda is {max(factor, 1 / factor):.1f} times {speed} than whl2conda"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/wheel"))
    parser.add_argument("--whl2conda", type=Path, help="a whl2conda executable (default: install one)")
    args = parser.parse_args()

    settings = load_settings()
    samples: dict[str, list[float]] = {}
    skipped: dict[str, str] = {}
    baseline, why = whl2conda(args.whl2conda)
    fastconda_cli = Path(sys.executable).parent / "fastconda"
    with tempfile.TemporaryDirectory(prefix="fastconda-bench-wheel-") as scratch:
        root = Path(scratch)
        seed = root / "seed"
        bootstrap(seed, "tango", settings)  # fills the wheel cache too; not measured
        wheels = [_find(settings.wheel_cache_dir, s) for s in (*PURE, *BINARY)]
        for wheel in wheels:
            short = wheel.name.split("-")[0]
            wheel_to_conda(wheel, root / "warmup", OPTIONS)  # page cache and imports warm
            samples[f"convert {short} (library)"] = [
                timed(partial(wheel_to_conda, wheel, root / f"lib{n}", OPTIONS)) for n in range(args.repeat)
            ]
            ours = [str(fastconda_cli), "-q", "wheel", str(wheel), "--python", "3.11"]
            samples[f"fastconda wheel {short} (CLI)"] = [
                timed(partial(_quiet, [*ours, "-o", str(root / f"cli{n}")])) for n in range(args.repeat)
            ]
            # whl2conda writes with conda-package-handling's default zstd level 19; fastconda's default is 3
            level19 = {**os.environ, "FASTCONDA_COMPRESSION_LEVEL": "19"}
            samples[f"fastconda wheel {short} (CLI, zstd 19)"] = [
                timed(partial(_quiet, [*ours, "-o", str(root / f"z{n}")], level19))
                for n in range(args.repeat)
            ]
            key = f"whl2conda convert {short} (CLI)"
            if baseline is None:
                skipped[key] = why
                continue
            theirs = [str(baseline), "convert", str(wheel), "--ignore-pyproject", "--format", "conda"]
            theirs += ["--batch", "--yes", "--overwrite", "-q", "--allow-impure"]
            try:
                samples[key] = [
                    timed(partial(_quiet, [*theirs, "--out-dir", str(root / f"w2c{n}")]))
                    for n in range(args.repeat)
                ]
            except RuntimeError as exc:
                skipped[key] = str(exc).strip().splitlines()[-1]
                samples.pop(key, None)
        os.environ.setdefault("RATTLER_CACHE_DIR", str(root / "rattler"))
        channels = [seed.resolve().as_uri()]
        for short in ("pytango", "hatchling"):
            package = next((root / "lib0").glob(f"{short}-*.conda"))
            imports_only = PackageTestSettings(pip_check=False, entry_points=False)
            run_package_tests(package, channels, cwd=root)  # warm rattler's cache
            samples[f"fastconda test {short}: solve+install+imports"] = [
                timed(partial(run_package_tests, package, channels, imports_only, cwd=root))
                for _ in range(args.repeat)
            ]
            samples[f"fastconda test {short}: all default checks"] = [
                timed(partial(run_package_tests, package, channels, cwd=root)) for _ in range(args.repeat)
            ]

    rows = {name: summarize(values) for name, values in samples.items()}
    ratios = []
    for key in rows:
        if key.startswith("fastconda wheel "):
            short, how = key.split()[2], key.split(" ", 3)[3]
            other = rows.get(f"whl2conda convert {short} (CLI)")
            if other is not None:
                ratios.append(_ratio(f"{short} {how}", float(rows[key]["median"]), float(other["median"])))
    info = machine(whl2conda=str(baseline) if baseline else None)
    args.out.mkdir(parents=True, exist_ok=True)
    report = {"machine": info, "results": rows, "skipped": skipped, "ratios": ratios}
    (args.out / "wheel.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "# Wheel fast-path benchmark",
        "",
        machine_line(info),
        "",
        *timing_table({**rows, **{k: {"skipped": f"skipped: {v}"} for k, v in skipped.items()}}, digits=3),
    ]
    lines += ["", "Ratios (medians, both command lines as subprocesses):", ""]
    lines += [f"- {r}" for r in ratios] or ["- none: whl2conda was skipped"]
    text = "\n".join(lines) + "\n"
    (args.out / "wheel.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
