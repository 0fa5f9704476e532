"""Adapter for py-rattler: solve specs against explicit channels and install them into a prefix."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from fastconda.errors import EnvironmentError_

# rattler's package cache is where an environment is linked from; a warm cache makes a new
# environment a matter of hard links (~0.3 s).


@dataclasses.dataclass(frozen=True)
class InstalledPackage:
    name: str
    version: str
    build: str
    channel: str


@dataclasses.dataclass(frozen=True)
class Environment:
    prefix: Path
    packages: tuple[InstalledPackage, ...]
    solve_seconds: float
    install_seconds: float

    @property
    def python(self) -> Path:
        return self.prefix / "bin" / "python"


def rattler_cache_dir() -> Path | None:
    """The rattler package cache in use (``RATTLER_CACHE_DIR`` when set, else rattler's default)."""
    value = os.environ.get("RATTLER_CACHE_DIR")
    return Path(value) / "pkgs" if value else None


def package_cache_path() -> Path:
    """Where rattler and rattler-build keep unpacked packages (their default when not configured)."""
    explicit = rattler_cache_dir()
    if explicit is not None:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rattler" / "cache" / "pkgs"


def create_environment(
    prefix: Path,
    specs: Sequence[str],
    *,
    channels: Sequence[str],
    platform: str | None = None,
) -> Environment:
    """Solve *specs* from *channels* only, and install the result into a new *prefix*."""
    if not channels:
        msg = "no channels given: an environment is solved only from channels named explicitly"
        raise EnvironmentError_(msg)
    if prefix.exists() and any(prefix.iterdir()):
        msg = f"{prefix} exists and is not empty; choose a new folder for the environment"
        raise EnvironmentError_(msg)
    return asyncio.run(_create(prefix, list(specs), list(channels), platform))


async def _create(prefix: Path, specs: list[str], channels: list[str], platform: str | None) -> Environment:
    import rattler
    from rattler.exceptions import SolverError

    started = time.perf_counter()
    subdir = platform or str(rattler.Subdir.current())
    try:
        virtual = rattler.VirtualPackage.detect()
        records = await rattler.solve(
            sources=channels,
            specs=specs,
            platforms=[rattler.Subdir(subdir), rattler.Subdir("noarch")],
            virtual_packages=virtual,
        )
    except SolverError as exc:
        msg = f"cannot solve {', '.join(specs)} from {', '.join(channels)}:\n{exc}"
        raise EnvironmentError_(msg) from None
    except Exception as exc:
        msg = f"cannot read the channels {', '.join(channels)}: {exc}"
        raise EnvironmentError_(msg) from None
    solved = time.perf_counter()
    try:
        await rattler.install(
            records,
            target_prefix=prefix,
            cache_dir=rattler_cache_dir(),
            show_progress=False,
        )
    except Exception as exc:
        msg = f"installing into {prefix} failed: {exc}"
        raise EnvironmentError_(msg) from None
    installed = time.perf_counter()
    packages = tuple(
        sorted(
            (
                InstalledPackage(
                    name=record.name.normalized,
                    version=str(record.version),
                    build=str(record.build),
                    channel=str(record.channel or ""),
                )
                for record in records
            ),
            key=lambda p: p.name,
        )
    )
    return Environment(
        prefix=prefix,
        packages=packages,
        solve_seconds=solved - started,
        install_seconds=installed - solved,
    )


def prefill_package_cache(specs: Sequence[str], *, channels: Sequence[str], marker_dir: Path) -> bool:
    """Make sure the packages of *specs* sit unpacked in rattler's package cache.

    rattler-build links test environments through a throw-away cache layer: packages needed only
    by tests (pytango, numpy) would be unpacked again on every build (~1.2 s). Installing them once
    into a scratch prefix with the shared cache removes that. Returns True when work was done; a
    marker keyed by the specs and the channels' index files makes later calls free.
    """
    digest = hashlib.sha256("\0".join([*sorted(specs), *channels]).encode())
    for url in channels:
        if url.startswith("file://"):
            for repodata in sorted(Path(url.removeprefix("file://")).glob("*/repodata.json")):
                digest.update(f"{repodata}:{repodata.stat().st_mtime_ns}".encode())
    marker = marker_dir / digest.hexdigest()[:24]
    if marker.is_file():
        return False
    with tempfile.TemporaryDirectory(prefix="fastconda-prefill-") as scratch:
        create_environment(Path(scratch) / "env", specs, channels=channels)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("\n".join(specs), encoding="utf-8")
    return True
