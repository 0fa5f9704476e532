"""Scenario ``channel``: a channel with 10k and 150k repodata entries per subdir.

The benchmark generates the channel itself: real (tiny) ``.tar.bz2`` packages, N in ``linux-64`` and N in
``noarch`` (names ``synth-K``, ten versions each, and ``synth-app`` depending on twenty of them), indexed
once, kept under ``.cache/bench-channels/`` (the 150k channel took 7 minutes to generate the first time
on a busy 2-core machine). Each measured run works on a hard-linked copy. Per size:

- ``fastconda channel add`` of one package: copy it in and re-index atomically (only its record is read);
- ``rattler solve``: ``synth-app`` and ``python`` from the big channel plus the seed channel;
- ``fastconda build`` of the bundled PyTango server against the seed plus the big channel (not with
  ``--quick``), next to the same build against the seed alone: what channel size costs a build;
- ``conda-build`` on the same server's grayskull meta.yaml (as in the ``build`` scenario), against the same
  channels in the same run, when a conda-build is given (``--conda-build``): the ratio at each size. At
  each size the two builds run in turns (fastconda, conda-build, fastconda, ...): this machine's speed
  drifts over minutes, and the rows measured last would pay for it.

``--quick``: 10k only, no builds.
"""

from __future__ import annotations

import asyncio
import bz2
import json
import os
import shutil
import subprocess
import tarfile
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

from benchmarks import _conda_build as conda_build
from benchmarks._core import (
    CACHE,
    Context,
    Failed,
    Row,
    Scenario,
    Series,
    compare,
    describe,
    fastconda,
    measure,
    measure_interleaved,
    seed_channel,
)
from benchmarks._routes import PYTANGO_EXAMPLE, fastconda_build
from benchmarks.build import grayskull_recipe

TITLE = "Big channels: 10k and 150k entries per subdir"
GENERATOR = 1  # bump when the generated channel changes
FASTCONDA_ALONE, FASTCONDA_BIG = "fastconda build, seed channel only", "fastconda build, seed + big channel"
CONDA_BUILD_ALONE, CONDA_BUILD_BIG = "conda-build, seed channel only", "conda-build, seed + big channel"
SUBDIRS = ("linux-64", "noarch")
EXAMPLE = PYTANGO_EXAMPLE
PATHS = b'{"paths": [], "paths_version": 1}'


def _member(name: str, data: bytes) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o644
    return info.tobuf(format=tarfile.USTAR_FORMAT) + data + b"\0" * (-len(data) % 512)


def _record(name: str, version: str, subdir: str, depends: list[str]) -> dict[str, object]:
    record: dict[str, object] = {"name": name, "version": version, "build": "0", "build_number": 0}
    record.update(depends=depends, subdir=subdir, license="BSD-3-Clause", timestamp=1700000000000)
    if subdir == "noarch":
        record["noarch"] = "generic"
    return record


def write_package(folder: Path, record: dict[str, object]) -> Path:
    """A minimal real conda package (``info/index.json`` and an empty ``info/paths.json``)."""
    index = json.dumps(record).encode()
    body = _member("info/index.json", index) + _member("info/paths.json", PATHS) + b"\0" * 1024
    path = folder / f"{record['name']}-{record['version']}-{record['build']}.tar.bz2"
    path.write_bytes(bz2.compress(body, 1))
    return path


def _write_chunk(folder: str, subdir: str, start: int, stop: int) -> None:
    for number in range(start, stop):
        name = f"synth-{subdir[:1]}{number // 10}"
        write_package(Path(folder), _record(name, f"1.{number % 10}", subdir, []))


def big_channel(entries: int) -> Path:
    """The cached generated channel with *entries* packages per subdir (generated on first use)."""
    channel = CACHE / "bench-channels" / f"v{GENERATOR}-{entries}"
    if (channel / ".complete").is_file():
        return channel
    shutil.rmtree(channel, ignore_errors=True)
    workers = os.cpu_count() or 1
    with ProcessPoolExecutor(max_workers=workers) as executor:
        futures = []
        for subdir in SUBDIRS:
            (channel / subdir).mkdir(parents=True)
            chunk = max(1, entries // (4 * workers))
            for first in range(0, entries, chunk):
                last = min(first + chunk, entries)
                futures.append(executor.submit(_write_chunk, str(channel / subdir), subdir, first, last))
        for future in futures:
            future.result()
    depends = [f"synth-l{k} >=1.0" for k in range(10)] + [f"synth-n{k}" for k in range(10)]
    (channel / "noarch" / f"synth-n{(entries - 1) // 10}-1.9-0.tar.bz2").unlink(missing_ok=True)
    write_package(channel / "noarch", _record("synth-app", "1.0", "noarch", depends))  # the one it replaces
    fastconda("channel", "index", channel)
    (channel / ".complete").write_text(str(entries), encoding="utf-8")
    return channel


def _copy(channel: Path, target: Path) -> Path:
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run(["cp", "-al", str(channel), str(target)], check=True)
    return target


def _solve(channels: list[Path]) -> None:
    import rattler

    records = asyncio.run(
        rattler.solve(
            sources=[c.resolve().as_uri() for c in channels],
            specs=["synth-app", "python"],
            gateway=rattler.Gateway(),  # a new one each time: nothing cached in memory between runs
            platforms=[rattler.Subdir("linux-64"), rattler.Subdir("noarch")],
            virtual_packages=rattler.VirtualPackage.detect(),
        )
    )
    names = {record.name.normalized for record in records}
    if "synth-app" not in names or "synth-l0" not in names:
        msg = f"the solve did not pick the synthetic packages: {sorted(names)[:5]}"
        raise Failed(msg)


def run_scenario(ctx: Context) -> Scenario:
    scenario = Scenario("channel", TITLE, describe(__doc__))
    seed = seed_channel("tango")
    work = ctx.scratch / "channel"
    extra = work / "extra"
    extra.mkdir(parents=True)
    package = write_package(extra, _record("bench-extra", "1.0", "noarch", []))
    runs = min(ctx.repeat, 3)
    copy = work / "copy"

    def add() -> None:
        fastconda("channel", "add", copy, package)

    meta = None if ctx.quick else grayskull_recipe(work).parent
    if meta is not None:
        ctx.log("fastconda build and conda-build against the seed channel alone ...")
        ours = Series(
            Row(FASTCONDA_ALONE, group="seed only"),
            lambda: fastconda_build(EXAMPLE, [seed], work / "out", "--force", "--replace"),
            warmup=True,
        )
        theirs = conda_build.series(ctx, CONDA_BUILD_ALONE, meta, [seed], group="seed only")
        scenario.rows += measure_interleaved([ours, theirs], runs)
        scenario.headline.append(("seed only", CONDA_BUILD_ALONE, FASTCONDA_ALONE))
    for entries in (10_000,) if ctx.quick else (10_000, 150_000):
        group = f"{entries // 1000}k entries"
        ctx.log(f"{group}: generating (cached) ...")
        channel = big_channel(entries)
        ctx.log(f"{group}: add, solve ...")
        # re-indexing 300k package files takes minutes here: the 150k channel's add row gets one run
        slow_runs = runs if entries <= 10_000 else 1
        row = Row("fastconda channel add (1 package)", group=group)
        scenario.rows.append(measure(row, add, slow_runs, setup=partial(_copy, channel, copy)))
        solve = Row("rattler solve (synth-app + python)", group=group)
        scenario.rows.append(measure(solve, partial(_solve, [channel, seed]), runs, warmup=True))
        if meta is not None:
            ctx.log(f"{group}: fastconda build and conda-build against it ...")
            build = partial(fastconda_build, EXAMPLE, [seed, channel], work / "out", "--force", "--replace")
            # warm like conda-build's row (its package cache): the first build against a new channel
            # pays the requirement check and rattler's repodata cache once. Both builds get every run
            # (conda-build ~40 s each against 150k): one run of each made the ratio swing 24-28x
            ours = Series(Row(FASTCONDA_BIG, group=group), build, warmup=True)
            theirs = conda_build.series(ctx, CONDA_BUILD_BIG, meta, [seed, channel], group=group)
            scenario.rows += measure_interleaved([ours, theirs], runs)
            scenario.headline.append((group, CONDA_BUILD_BIG, FASTCONDA_BIG))
    if ctx.conda_build is not None and meta is not None:
        scenario.notes.append(conda_build.network_note())
    for group in ("10k entries", "150k entries"):
        compare(scenario, FASTCONDA_BIG, [CONDA_BUILD_BIG], group)
        compare_build = scenario.row(FASTCONDA_BIG, group)
        base = scenario.row(FASTCONDA_ALONE, "seed only")
        if compare_build and base and compare_build.ok and base.ok:
            scenario.ratios.append(
                f"fastconda build against the seed plus {group}: {compare_build.median:.2f} s, against the "
                f"seed alone {base.median:.2f} s ({len(compare_build.samples)} and {len(base.samples)} runs)."
            )
        add_row = scenario.row("fastconda channel add (1 package)", group)
        if add_row and add_row.ok:
            scenario.ratios.append(f"Adding one package to a channel with {group} per subdir took "
                                   f"{add_row.median:.2f} s (median of {len(add_row.samples)}).")  # fmt: skip
    compare(scenario, FASTCONDA_ALONE, [CONDA_BUILD_ALONE], "seed only")
    return scenario
