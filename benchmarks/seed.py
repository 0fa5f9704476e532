"""Benchmark: seed channel bootstrap and environment creation (issue 3's targets).

    .venv/bin/python -m benchmarks.seed [--profile tango] [--repeat 3] [--out benchmarks/out/seed]

Scenarios, each repeated, on this machine, side by side in one run:

- ``cold packages``: wheels already in the wheel cache, empty package cache, new channel folder
  (what a first bootstrap on a CI runner with a cached wheel folder costs);
- ``warm packages``: package cache warm, new channel folder (a second channel on the same machine);
- ``no-op``: the same command again on the same channel (inputs unchanged);
- ``env create``: a new environment (python, pytango, numpy, pip) from the channel with rattler,
  rattler package cache warm.

Writes ``seed.json`` and ``seed.md``. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from benchmarks._report import machine, machine_line, summarize, timing_table
from fastconda.env import create_environment
from fastconda.seed import bootstrap
from fastconda.settings import load_settings

SPECS = ["python", "pytango", "numpy", "pip"]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profile", default="tango")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/seed"))
    args = parser.parse_args()

    base = load_settings()
    wheel_cache = base.wheel_cache_dir
    # make sure the wheels are there (this may download; it is not measured)
    with tempfile.TemporaryDirectory() as warmup:
        bootstrap(Path(warmup) / "ch", args.profile, base)

    samples: dict[str, list[float]] = {
        "cold packages": [],
        "warm packages": [],
        "no-op": [],
        "env create": [],
    }
    with tempfile.TemporaryDirectory(prefix="fastconda-bench-") as scratch:
        root = Path(scratch)
        os.environ["RATTLER_CACHE_DIR"] = str(root / "rattler")
        for run in range(args.repeat):
            cold = load_settings(
                overrides={"cache_dir": root / f"cache{run}", "wheel_cache": wheel_cache, "offline": True}
            )
            channel, warm_channel, prefix = root / f"cold{run}", root / f"warm{run}", root / f"env{run}"
            samples["cold packages"].append(timed(partial(bootstrap, channel, args.profile, cold)))
            samples["no-op"].append(timed(partial(bootstrap, channel, args.profile, cold)))
            samples["warm packages"].append(timed(partial(bootstrap, warm_channel, args.profile, cold)))
            url = channel.resolve().as_uri()
            if run == 0:  # fill rattler's package cache once; what is measured is a warm cache
                create_environment(root / "env-warmup", SPECS, channels=[url])
            samples["env create"].append(timed(partial(create_environment, prefix, SPECS, channels=[url])))
            shutil.rmtree(prefix)

    info = machine()
    rows = {name: summarize(v) for name, v in samples.items()}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "seed.json").write_text(
        json.dumps({"profile": args.profile, "machine": info, "results": rows}, indent=2)
    )
    lines = [
        f"# Seed channel benchmark ({args.profile} profile)",
        "",
        machine_line(info),
        "",
        *timing_table(rows),
    ]
    report = "\n".join(lines) + "\n"
    (args.out / "seed.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
