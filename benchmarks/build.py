"""Scenario ``build``: the bundled PyTango server, every route side by side in one run.

On the same project, the same grayskull ``meta.yaml`` and the same local seed channel:

- ``conda-build``: conda-build on grayskull's meta.yaml, fully offline against the seed channel (a condarc
  with ``channels: []``, ``--override-channels -c file://...``, croot and package cache in a temp dir).
  Taken from ``--conda-build PATH`` or PATH; skipped, with the reason, when absent or when it cannot run.
- ``rattler-build engine``: the same meta.yaml (license placeholders and import guess fixed, as a person
  must) converted by fastconda, built and tested by the engine as is (not with ``--quick``).
- ``fastconda build``: the command line (sdist, grayskull, convert, rules, build, test, index), warm caches.
- ``wheel fast path``: ``python -m build --wheel`` + ``fastconda wheel --channel`` + ``fastconda test``.
- ``python -m build --wheel``: the backend alone, the floor of every route.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from benchmarks._core import (
    Context,
    Failed,
    Row,
    Scenario,
    compare,
    describe,
    measure,
    run,
    seed_channel,
    skipped,
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


def conda_build_row(ctx: Context, exe: Path | None, meta: Path, channels: list[str], runs: int) -> Row:
    """conda-build, fully offline against *channels* only; skipped with the reason when it cannot run."""
    if exe is None:
        return skipped(CONDA_BUILD, "no conda-build executable (pass --conda-build PATH or put it on PATH)")
    if not os.access(exe, os.X_OK):
        return skipped(CONDA_BUILD, f"{exe} is not an executable file")
    scratch = Path(tempfile.mkdtemp(prefix="conda-build-", dir=ctx.scratch))
    pkgs = scratch / "pkgs"
    condarc = scratch / "condarc"
    condarc.write_text(f"channels: []\npkgs_dirs:\n  - {pkgs}\noffline: true\n", encoding="utf-8")
    env = {"CONDARC": str(condarc), "CONDA_PKGS_DIRS": str(pkgs)}
    flags = [arg for url in channels for arg in ("-c", url)]

    def once() -> None:
        croot = Path(tempfile.mkdtemp(dir=scratch))
        command: list[str | Path] = [exe, meta.parent, "--override-channels", *flags, "--croot", croot]
        run([*command, "--no-anaconda-upload", "--offline"], env=env)
        shutil.rmtree(croot, ignore_errors=True)

    return measure(Row(CONDA_BUILD), once, runs, warmup=not ctx.quick)


def engine_row(meta: Path, seed: str, work: Path, runs: int) -> Row:
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

    return measure(Row(ENGINE), once, runs, warmup=True)


def run_scenario(ctx: Context) -> Scenario:
    scenario = Scenario("build", TITLE, describe(__doc__))
    seed = seed_channel("tango")
    work = ctx.scratch / "build"
    work.mkdir(parents=True, exist_ok=True)
    meta = grayskull_recipe(work)
    runs, warm = ctx.repeat, not ctx.quick
    ctx.log(f"{CONDA_BUILD} ...")
    scenario.rows.append(conda_build_row(ctx, ctx.conda_build, meta, [seed.as_uri()], runs))
    if ctx.quick:
        scenario.notes.append("--quick: the rattler-build engine alone is not run")
    else:
        ctx.log(f"{ENGINE} ...")
        scenario.rows.append(engine_row(meta, seed.as_uri(), work, runs))
    ctx.log(f"{FASTCONDA} ...")
    output = work / "channel"
    scenario.rows.append(
        measure(
            Row(FASTCONDA),
            lambda: fastconda_build(EXAMPLE, [seed], output, "--force", "--replace"),
            runs,
            warmup=warm,
        )
    )
    ctx.log(f"{FAST_PATH} ...")
    backend = backend_python(EXAMPLE)
    scenario.rows.append(
        measure(
            Row(FAST_PATH), lambda: wheel_fast_path(EXAMPLE, work / "fast", seed, backend), runs, warmup=warm
        )
    )
    ctx.log(f"{FLOOR} ...")

    def floor() -> None:
        build_wheel(EXAMPLE, work / "floor", backend)

    scenario.rows.append(measure(Row(FLOOR), floor, runs, warmup=warm))
    compare(scenario, FASTCONDA, [CONDA_BUILD, ENGINE])
    compare(scenario, FAST_PATH, [CONDA_BUILD, FASTCONDA])
    compare(scenario, FLOOR, [FAST_PATH])
    scenario.notes.append(
        "conda-build and the engine build grayskull's recipe as written (pip install . -vv, separate test "
        "environments); fastconda build applies the facility rules (one test environment, no build isolation)"
    )
    return scenario
