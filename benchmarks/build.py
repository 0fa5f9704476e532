"""Benchmark: building the bundled PyTango server, side by side in one run (issue 6).

    .venv/bin/python -m benchmarks.build [--repeat 5] [--conda-build PATH] [--channel SEED] [--out DIR]

Scenarios, on the same project, the same grayskull ``meta.yaml`` and the same local channel:

- ``conda-build``: conda-build on grayskull's meta.yaml, offline against the seed channel (a condarc with
  ``channels: []``, ``--override-channels -c file://...``, croot and package cache in a temp dir). Taken
  from ``--conda-build PATH`` or PATH; reported as skipped, with the reason, when absent.
- ``rattler-build engine``: grayskull's meta.yaml (license placeholders and import guess fixed, as a person
  must) converted by fastconda, built and tested by the engine as is: no facility rules, grayskull's test
  environments and ``pip install . -vv``.
- ``fastconda build``: the whole command (sdist, grayskull, convert, rules, build, test, index), warm caches.
- ``python -m build --wheel``: the backend alone, the floor for any route.

Writes ``build.json`` and ``build.md``. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._report import machine, machine_line, summarize, timing_table
from fastconda import engine, grayskull_, sdist
from fastconda.build import BuildOptions, build_project
from fastconda.convert import convert
from fastconda.project import detect
from fastconda.settings import load_settings

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "pytango-powersupply"


def measure(fn: Callable[[], Any], repeat: int) -> list[float]:
    fn()  # warm-up, not measured: caches and build environments are filled here
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def conda_build_runner(exe: str, meta: Path, channel: str, scratch: Path) -> Callable[[], Any]:
    condarc = scratch / "condarc"
    condarc.write_text(f"channels: []\npkgs_dirs:\n  - {scratch / 'pkgs'}\noffline: true\n")
    env = {**os.environ, "CONDARC": str(condarc), "CONDA_PKGS_DIRS": str(scratch / "pkgs")}

    def run() -> None:
        croot = Path(tempfile.mkdtemp(dir=scratch))
        subprocess.run(
            [exe, str(meta.parent), "--override-channels", "-c", channel, "--croot", str(croot),
             "--no-anaconda-upload", "--offline"],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
        shutil.rmtree(croot, ignore_errors=True)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--conda-build", default=shutil.which("conda-build"))
    parser.add_argument("--channel", type=Path, default=REPO / ".cache" / "test-seed" / "tango")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out" / "build")
    args = parser.parse_args()
    settings = load_settings(overrides={"offline": True})
    seed = args.channel.resolve().as_uri()
    project = detect(EXAMPLE)
    results: dict[str, dict[str, Any]] = {}

    with tempfile.TemporaryDirectory(prefix="fastconda-bench-build-") as tmp:
        scratch = Path(tmp)
        tarball = sdist.build_sdist(
            project.root, scratch / "sdist", cache_dir=settings.cache_dir, offline=True,
            wheel_cache=settings.wheel_cache_dir,
        )  # fmt: skip
        meta = grayskull_.generate_meta_yaml(tarball, scratch / "grayskull")
        # what a person must fix by hand before grayskull's recipe builds at all: its license placeholders
        # and its import guess (the module is powersupply, not tango_powersupply); the rest stays as written
        fixed = meta.read_text().replace("IT-WAS-NOT-POSSIBLE-TO-RECOVER-LICENCE", "GPL-3.0-or-later")
        fixed = fixed.replace("  license_file: PLEASE_ADD_LICENSE_FILE\n", "").replace(
            "- tango_powersupply", "- powersupply"
        )
        meta.write_text(fixed)
        plain = scratch / "plain-recipe" / "recipe.yaml"
        plain.parent.mkdir()
        plain.write_text(convert(meta).recipe_text)

        def engine_only() -> None:
            out = Path(tempfile.mkdtemp(dir=scratch))
            engine.build_recipe(plain, channels=[seed], work_dir=out)
            shutil.rmtree(out, ignore_errors=True)

        options = BuildOptions(
            channels=(seed,), output=scratch / "channel", cache_dir=settings.cache_dir,
            wheel_cache=settings.wheel_cache_dir, offline=True, force=True,
        )  # fmt: skip

        def fastconda_build() -> None:
            build_project(EXAMPLE, options)

        def wheel_floor() -> None:
            from build import ProjectBuilder

            python = sdist._build_env(  # the same persistent backend environment fastconda uses
                sorted(ProjectBuilder(EXAMPLE).build_system_requires), settings.cache_dir, offline=True,
                wheel_cache=settings.wheel_cache_dir,
            )  # fmt: skip
            out = Path(tempfile.mkdtemp(dir=scratch))
            ProjectBuilder(EXAMPLE, python_executable=str(python)).build("wheel", out)

        scenarios: dict[str, Callable[[], Any] | str] = {}
        if args.conda_build:
            scenarios["conda-build"] = conda_build_runner(args.conda_build, meta, seed, scratch)
        else:
            scenarios["conda-build"] = (
                "skipped: no conda-build executable (pass --conda-build PATH or put it on PATH)"
            )
        scenarios["rattler-build engine"] = engine_only
        scenarios["fastconda build"] = fastconda_build
        scenarios["python -m build --wheel"] = wheel_floor
        for name, fn in scenarios.items():
            if isinstance(fn, str):
                results[name] = {"skipped": fn}
                continue
            try:
                samples = measure(fn, args.repeat)
            except (subprocess.CalledProcessError, OSError) as exc:
                results[name] = {"skipped": f"failed: {exc}"}
                continue
            results[name] = summarize(samples)
        last = build_project(EXAMPLE, options)

    info = machine(load_average=os.getloadavg())
    report = {"machine": info, "results": results, "fastconda_phases": last.phases}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "build.json").write_text(json.dumps(report, indent=2))
    lines = [
        "# Build benchmark: the bundled PyTango server (tango-powersupply)",
        "",
        f"{machine_line(info)}, load average at the end {info['load_average'][0]:.2f}",
        "",
        *timing_table(results, label="route"),
    ]
    lines += ["", "fastconda build phases (last run): "
              + ", ".join(f"{k} {v:.2f} s" for k, v in last.phases.items()), ""]  # fmt: skip
    ours = results["fastconda build"].get("median")
    for baseline in ("conda-build", "rattler-build engine", "python -m build --wheel"):
        row = results[baseline]
        if ours and "median" in row:
            ratio = row["median"] / ours
            word = "faster" if ratio >= 1 else "slower"
            factor = ratio if ratio >= 1 else 1 / ratio
            lines.append(
                f"- `fastconda build` was {factor:.1f}× {word} than {baseline} (median of {args.repeat})."
            )
        elif "skipped" in row:
            lines.append(f"- {baseline}: {row['skipped']}.")
    text = "\n".join(lines) + "\n"
    (args.out / "build.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
