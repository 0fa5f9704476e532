"""The conda-build baseline, as every scenario that states a ratio against it runs it.

conda-build runs fully offline against the scenario's local channels only: a condarc of its own per run
series (``channels: []``, ``offline: true``, ``solver: rattler``: conda 26 defaults to libmamba, which a
conda-build made by ``python -m benchmarks.conda_build_env`` does not have), ``--override-channels`` with
``file://`` channels, croot and package cache in the benchmark's scratch folder. conda-build has no
``--offline`` flag (offline comes from the condarc). When this runs as root and ``unshare -n`` works,
conda-build runs with the network switched off, which proves that it did not reach a remote channel;
:func:`network_note` says which of the two applied, for the report.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from benchmarks._core import Context, Row, Series, measure_interleaved, run, skipped

CONDARC = "channels: []\noffline: true\nsolver: rattler\npkgs_dirs:\n  - {pkgs}\n"
MISSING = (
    "no conda-build executable (pass --conda-build PATH; python -m benchmarks.conda_build_env makes one)"
)


@functools.cache
def network_off() -> list[str]:
    """The command prefix that runs a command with the network switched off, or [] when impossible."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return []
    done = subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False)
    # loopback up: a package test may start a server on 127.0.0.1 (the C++ server's -nodb check)
    return (
        ["unshare", "-n", "sh", "-c", 'ip link set lo up 2>/dev/null; exec "$@"', "offline"]
        if done.returncode == 0
        else []
    )


def network_note() -> str:
    if network_off():
        return "conda-build ran with the network switched off (unshare -n): offline for certain"
    return "conda-build ran offline by its condarc only (unshare -n needs root): not proven offline"


def row(
    ctx: Context,
    name: str,
    recipe_dir: Path,
    channels: Sequence[Path],
    runs: int,
    *,
    group: str = "",
    variant_config: Path | None = None,
    warmup: bool | None = None,
) -> Row:
    """conda-build on *recipe_dir* against *channels* only; skipped with the reason when it cannot run."""
    found = series(ctx, name, recipe_dir, channels, group=group, variant_config=variant_config, warmup=warmup)
    return measure_interleaved([found], runs)[0]


def series(
    ctx: Context,
    name: str,
    recipe_dir: Path,
    channels: Sequence[Path],
    *,
    group: str = "",
    variant_config: Path | None = None,
    warmup: bool | None = None,
) -> Series:
    """The measurement of conda-build on *recipe_dir* against *channels* only, to interleave with the
    rows it is compared with; its row is skipped with the reason when conda-build cannot run."""
    exe = ctx.conda_build
    if exe is None:
        return Series(skipped(name, MISSING, group), _nothing)
    if not os.access(exe, os.X_OK):
        return Series(skipped(name, f"{exe} is not an executable file", group), _nothing)
    scratch = Path(tempfile.mkdtemp(prefix="conda-build-", dir=ctx.scratch))
    pkgs = scratch / "pkgs"
    condarc = scratch / "condarc"
    condarc.write_text(CONDARC.format(pkgs=pkgs), encoding="utf-8")
    env = {"CONDARC": str(condarc), "CONDA_PKGS_DIRS": str(pkgs)}
    flags = [arg for channel in channels for arg in ("-c", channel.resolve().as_uri())]
    if variant_config is not None:
        flags += ["--variant-config-files", str(variant_config)]

    def once() -> None:
        croot = Path(tempfile.mkdtemp(dir=scratch))
        command: list[str | Path] = [*network_off(), exe, recipe_dir, "--override-channels", *flags]
        run([*command, "--croot", croot, "--no-anaconda-upload"], env=env)
        shutil.rmtree(croot, ignore_errors=True)

    return Series(Row(name, group=group), once, warmup=not ctx.quick if warmup is None else warmup)


def _nothing() -> None:
    """What a skipped series would run (it is not run)."""
