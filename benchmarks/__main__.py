"""The benchmark suite: fastconda against conda-build and the other paths, side by side, in one run.

    .venv/bin/python -m benchmarks [--out DIR] [--quick] [--repeat N] [--only SCENARIO ...]
                                   [--conda-build PATH] [--whl2conda PATH] [--recipes DIR]
                                   [--sample N] [--cxx-server DIR]

Writes ``report.json``, ``report.md`` and one PNG chart per scenario into ``--out`` (default
``benchmarks/out/<timestamp>``, also linked as ``benchmarks/out/latest``). ``--quick`` runs a small subset
(the CI smoke test). Works offline once the caches under ``.cache/`` are warm. Not a test: nothing here
asserts a time; a baseline that cannot run is reported as skipped with the reason.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks import bigchannel, build, caches, convert, corpus, cxx, many, projects, recipes, scale, wheel
from benchmarks._charts import chart
from benchmarks._core import CACHE, REPO, Context, Failed, Scenario, first_line, tool
from benchmarks._report import machine, to_json, write

SCENARIOS: dict[str, tuple[str, Callable[[Context], Scenario]]] = {
    "build": (build.TITLE, build.run_scenario),
    "cxx": (cxx.TITLE, cxx.run_scenario),
    "convert": (convert.TITLE, convert.run_scenario),
    "wheel": (wheel.TITLE, wheel.run_scenario),
    "scale": (scale.TITLE, scale.run_scenario),
    "many": (many.TITLE, many.run_scenario),
    "channel": (bigchannel.TITLE, bigchannel.run_scenario),
    "caches": (caches.TITLE, caches.run_scenario),
    "corpus": (corpus.TITLE, corpus.run_scenario),
    "projects": (projects.TITLE, projects.run_scenario),
    "recipes": (recipes.TITLE, recipes.run_scenario),
}
OUT = REPO / "benchmarks" / "out"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, help="output folder (default: benchmarks/out/<timestamp>)")
    parser.add_argument("--quick", action="store_true", help="a small subset, one run each (CI smoke test)")
    parser.add_argument("--repeat", type=int, help="measured runs per route (default 5, --quick 1)")
    parser.add_argument("--only", nargs="+", choices=list(SCENARIOS), metavar="SCENARIO",
                        help=f"run only these scenarios ({', '.join(SCENARIOS)})")  # fmt: skip
    parser.add_argument("--conda-build", type=Path, help="conda-build executable (default: from PATH)")
    parser.add_argument(
        "--whl2conda", type=Path, help="whl2conda executable (default: the bench extras, PATH)"
    )
    parser.add_argument("--recipes", type=Path,
                        help="a corpus of real recipes, <source>/<recipe>/meta.yaml, for the recipes "
                             "scenario (skipped without)")  # fmt: skip
    parser.add_argument("--sample", type=int, default=1000,
                        help="recipes the recipes scenario draws from --recipes (default 1000)")  # fmt: skip
    parser.add_argument("--cxx-server", type=Path,
                        help="a Pogo server folder for the cxx scenario instead of the bundled "
                             "examples/pogo-powermeter (copied, then migrated)")  # fmt: skip
    return parser


def _run_one(ctx: Context, name: str) -> Scenario:
    title, fn = SCENARIOS[name]
    print(f"[{name}] {title}", file=sys.stderr, flush=True)
    start, load = time.perf_counter(), os.getloadavg()[0]
    try:
        result = fn(ctx)
    except Failed as exc:
        result = Scenario(name, title, "", skipped=f"failed: {exc.reason}")
    except Exception as exc:  # a crash in one scenario must not lose the others' numbers
        traceback.print_exc()
        result = Scenario(name, title, "", skipped=f"error: {type(exc).__name__}: {first_line(str(exc))}")
    result.seconds = time.perf_counter() - start
    result.load = (load, os.getloadavg()[0])
    print(f"[{name}] {result.status} in {result.seconds:.0f} s", file=sys.stderr, flush=True)
    return result


def _compile_fastconda() -> None:
    """fastconda's modules as bytecode, as ``pip install`` leaves them: an editable install run with
    PYTHONDONTWRITEBYTECODE (set in many CI images) would otherwise compile every module it loads on
    every start, 20 to 40 ms per command that no installed fastconda pays."""
    import compileall

    import fastconda

    compileall.compile_dir(Path(fastconda.__file__).parent, quiet=1)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    arguments = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("FASTCONDA_CACHE_DIR", str(CACHE / "fastconda"))  # as dev.sh sets them
    os.environ.setdefault("RATTLER_CACHE_DIR", str(CACHE / "rattler"))
    os.environ.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    _compile_fastconda()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = (args.out or OUT / stamp).resolve()
    if args.recipes is not None and not args.recipes.is_dir():
        print(f"error: --recipes {args.recipes}: no such folder", file=sys.stderr)
        return 2
    if args.cxx_server is not None and not args.cxx_server.is_dir():
        print(f"error: --cxx-server {args.cxx_server}: no such folder", file=sys.stderr)
        return 2
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fastconda-bench-") as scratch:
        ctx = Context(
            out=out,
            scratch=Path(scratch),
            quick=args.quick,
            repeat=args.repeat or (1 if args.quick else 5),
            conda_build=tool(args.conda_build, "conda-build"),
            whl2conda=tool(args.whl2conda, "whl2conda"),
            recipes=args.recipes.resolve() if args.recipes is not None else None,
            sample=args.sample,
            cxx_server=args.cxx_server.resolve() if args.cxx_server is not None else None,
        )
        info = machine(ctx)
        results = [_run_one(ctx, name) for name in (args.only or SCENARIOS)]
    data = to_json(ctx, info, results, time.perf_counter() - start, arguments)
    write(out, data, results)
    for result in results:
        chart(result, out / f"{result.name}.png")
    if args.out is None:
        latest = OUT / "latest"
        with contextlib.suppress(OSError):
            if latest.is_symlink() or latest.is_file():
                latest.unlink()
            elif latest.is_dir():
                shutil.rmtree(latest)
            latest.symlink_to(out.name)
    print((out / "report.md").read_text(encoding="utf-8"))
    print(f"report: {out / 'report.md'} (wall time {data['wall_seconds']:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
