"""``fastconda channel bootstrap``: a seed channel built offline from the host Python and PyPI wheels.

Inputs: the running interpreter, the profile's wheels (from the wheel cache), the converter
options, and for C++ profiles (:mod:`fastconda.seed.cxx_profile`) tool wheels, the host compilers and .debs.
Each package is built once per distinct input and kept in the package cache; a channel is
then an ``add`` of those files plus the removal of seed packages that are no longer wanted, done
through :mod:`fastconda.channel.local` so readers never see a half-written index.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing
import os
import threading
import time
import tomllib
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastconda._files import build_into, is_ready, write_text_atomic
from fastconda.channel import local as channels
from fastconda.channel.index import PACKAGE_SUFFIXES
from fastconda.errors import SeedError
from fastconda.progress import Progress, ProgressEvent, null_progress
from fastconda.seed import cxx_profile as cxxseed
from fastconda.seed import hostpython, wheelcache
from fastconda.settings import Settings
from fastconda.templates import read_template

if TYPE_CHECKING:  # the wheel stage is imported when a bootstrap needs it
    from fastconda.wheel import WheelOptions

MANIFEST = ".fastconda-seed.json"
# bump when the way seed packages are made changes, so caches and channels are rebuilt
SEED_FORMAT = 3


@dataclasses.dataclass(frozen=True)
class Profile:
    name: str
    description: str
    wheels: tuple[str, ...]  # converted to conda packages (Python packages)
    tools: tuple[str, ...] = ()  # binary tool wheels (cmake, ninja): their executables, no Python
    debs: tuple[str, ...] = ()  # packages of recipe_templates/seed/cxx/debs.toml
    toolchain: bool = False  # stand-ins for compiler('c'), compiler('cxx'), stdlib('c')

    @property
    def has_cxx(self) -> bool:
        return bool(self.tools or self.debs or self.toolchain)


@dataclasses.dataclass(frozen=True)
class SeedPackage:
    filename: str
    source: str  # "interpreter" or the wheel's file name
    cached: bool  # taken from the package cache rather than built in this run


@dataclasses.dataclass(frozen=True)
class BootstrapResult:
    channel: Path
    profile: str
    changed: bool
    packages: tuple[SeedPackage, ...]
    removed: tuple[str, ...]
    seconds: float
    phases: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        return {
            "channel": str(self.channel),
            "url": channels.channel_url(self.channel),
            "profile": self.profile,
            "changed": self.changed,
            "packages": [dataclasses.asdict(p) for p in self.packages],
            "removed": list(self.removed),
            "seconds": round(self.seconds, 3),
            "phases": {k: round(v, 3) for k, v in self.phases.items()},
        }


def profiles() -> dict[str, Profile]:
    """The bundled profiles, with ``extends`` resolved (lists add up, ``toolchain`` is inherited)."""
    data = tomllib.loads(read_template("recipe", "seed/profiles.toml"))["profiles"]

    def chain(name: str, seen: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        if name in seen:
            msg = f"seed profiles: 'extends' loops through {' -> '.join((*seen, name))}"
            raise SeedError(msg)
        entry = data[name]
        return [*(chain(entry["extends"], (*seen, name)) if "extends" in entry else []), entry]

    def merged(entries: list[dict[str, Any]], key: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(item for entry in entries for item in entry.get(key, ())))

    result: dict[str, Profile] = {}
    for name, entry in data.items():
        entries = chain(name)
        result[name] = Profile(
            name=name,
            description=entry.get("description", ""),
            wheels=merged(entries, "wheels"),
            tools=merged(entries, "tools"),
            debs=merged(entries, "debs"),
            toolchain=any(bool(e.get("toolchain", False)) for e in entries),
        )
    return result


def get_profile(name: str) -> Profile:
    known = profiles()
    if name not in known:
        msg = f"unknown seed profile {name!r}; choose one of: {', '.join(sorted(known))}"
        raise SeedError(msg)
    return known[name]


def bootstrap(
    channel: Path,
    profile_name: str,
    settings: Settings,
    *,
    refresh: bool = False,
    progress: Progress = null_progress,
) -> BootstrapResult:
    """Make *channel* hold exactly the seed packages of *profile_name* (plus anything else added to it)."""
    started = time.perf_counter()
    phases: dict[str, float] = {}
    channels.check_channel_dir(channel, create=True)  # refuse before any work, and touch nothing
    profile = get_profile(profile_name)
    interpreter = hostpython.Interpreter.running()

    mark = time.perf_counter()
    wheels = wheelcache.resolve_wheels(
        profile.wheels, settings.wheel_cache_dir, offline=settings.offline, refresh=refresh, progress=progress
    )
    phases["wheels"] = time.perf_counter() - mark

    from fastconda.wheel import WheelOptions  # the wheel stage is only needed from here on

    # seed packages are made for this interpreter: they carry its byte code (see wheel/bytecode.py)
    options = WheelOptions(
        python=interpreter.short, compression_level=settings.compression_level, bytecode=True
    )
    key = _inputs_key(interpreter, wheels, options)
    cxx = cxxseed.Plan(jobs=(), key="")
    if profile.has_cxx:
        mark = time.perf_counter()
        cxx = cxxseed.plan(
            profile.debs, profile.tools, profile.toolchain, settings,
            seed_format=SEED_FORMAT, refresh=refresh, progress=progress,
        )  # fmt: skip
        key += f"-{cxx.key}"
        phases["cxx inputs"] = time.perf_counter() - mark
    previous = _read_manifest(channel)
    if (
        previous.get("key") == key
        and channels.is_channel(channel)
        and all(_in_channel(channel, name) for name in previous.get("files", []))
    ):
        return BootstrapResult(
            channel=channel,
            profile=profile.name,
            changed=False,
            packages=tuple(SeedPackage(**p) for p in previous.get("packages", [])),
            removed=(),
            seconds=time.perf_counter() - started,
            phases=phases,
        )

    mark = time.perf_counter()
    made = _make_packages(interpreter, wheels, options, settings, progress, jobs=cxx.jobs)
    phases["packages"] = time.perf_counter() - mark

    mark = time.perf_counter()
    files = [path for path, _ in made]
    channels.add_packages(channel, files, keep_existing=True, progress=progress)
    wanted = {p.name for p in files}
    stale = [name for name in previous.get("files", []) if name not in wanted]
    removed = channels.remove_packages(channel, stale) if stale else []
    packages = tuple(made_package for _, made_package in made)
    _write_manifest(channel, {"key": key, "profile": profile.name, "files": sorted(wanted),
                              "packages": [dataclasses.asdict(p) for p in packages]})  # fmt: skip
    phases["channel"] = time.perf_counter() - mark
    return BootstrapResult(
        channel=channel,
        profile=profile.name,
        changed=True,
        packages=packages,
        removed=tuple(removed),
        seconds=time.perf_counter() - started,
        phases=phases,
    )


def _inputs_key(interpreter: hostpython.Interpreter, wheels: Sequence[Path], options: WheelOptions) -> str:
    digest = hashlib.sha256(f"{SEED_FORMAT}\0{interpreter.cache_key()}\0{options!r}".encode())
    for wheel in wheels:
        digest.update(f"\0{wheel.name}\0{wheel.stat().st_size}\0{wheel.stat().st_mtime_ns}".encode())
    return digest.hexdigest()[:24]


def _make_packages(
    interpreter: hostpython.Interpreter,
    wheels: Sequence[Path],
    options: WheelOptions,
    settings: Settings,
    progress: Progress,
    *,
    jobs: Sequence[cxxseed.PackageJob] = (),
) -> list[tuple[Path, SeedPackage]]:
    """Every seed package file, from the package cache or built now (in parallel)."""
    from concurrent.futures import Future

    cache = settings.package_cache_dir
    total = len(wheels) + 1 + len(jobs)
    done = 0

    def report(message: str) -> None:
        nonlocal done
        done += 1
        progress(ProgressEvent("packages", message, done, total))

    def python_job() -> list[tuple[Path, SeedPackage]]:
        entry, cached = _cached(
            cache / "python" / f"{SEED_FORMAT}-{interpreter.cache_key()}",
            lambda out: hostpython.build_python_packages(interpreter, out),
        )
        report(f"python {interpreter.version} ({'cached' if cached else 'built'})")
        return [(p, SeedPackage(p.name, "interpreter", cached)) for p in entry]

    converters = _Converters()

    def wheel_job(wheel: Path) -> list[tuple[Path, SeedPackage]]:
        digest = hashlib.sha256(f"{SEED_FORMAT}\0{options!r}".encode())
        digest.update(channels.file_sha256(wheel).encode())
        entry, cached = _cached(
            cache / "wheels" / f"{wheel.name}-{digest.hexdigest()[:16]}",
            lambda out: [converters.convert(wheel, out, options)],
        )
        report(f"{wheel.name} ({'cached' if cached else 'converted'})")
        return [(p, SeedPackage(p.name, wheel.name, cached)) for p in entry]

    started: dict[str, Future[list[tuple[Path, SeedPackage]]]] = {}

    def cxx_job(job: cxxseed.PackageJob) -> list[tuple[Path, SeedPackage]]:
        # a job's needs are submitted before it: waiting here cannot hold up the pool
        needed = [path for entry in job.needs for path, _ in started[entry].result()]
        files, cached = _cached(cache / job.entry, lambda out: job.make(out, needed))
        report(f"{Path(job.entry).name} ({'cached' if cached else 'built'})")
        return [(p, SeedPackage(p.name, job.source, cached)) for p in files]

    workers = 8  # threads mostly wait: on the engine, on a conversion process, on a download
    with converters, ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(python_job)] + [pool.submit(wheel_job, w) for w in wheels]
        for job in jobs:
            started[job.entry] = pool.submit(cxx_job, job)
        futures += started.values()
        return [item for future in futures for item in future.result()]


def _convert(wheel: Path, out: Path, options: WheelOptions) -> Path:
    from fastconda.wheel import wheel_to_conda

    return wheel_to_conda(wheel, out, options).path


class _Converters:
    """Wheel conversions in worker processes, started on the first cache miss.

    Compiling byte code holds the GIL (numpy: ~2.5 s): in threads the conversions would run one at
    a time. Workers are spawned, not forked: the parent runs rattler's native threads.
    """

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def convert(self, wheel: Path, out: Path, options: WheelOptions) -> Path:
        with self._lock:
            if self._pool is None:
                workers = max(1, min(8, os.cpu_count() or 1))
                self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        return self._pool.submit(_convert, wheel, out, options).result()

    def __enter__(self) -> _Converters:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)


def _cached(entry: Path, make: Callable[[Path], list[Path]]) -> tuple[list[Path], bool]:
    """Files of a package-cache entry, made in scratch and renamed into place when missing."""
    # entries of earlier versions have no ready marker, but were renamed into place whole too
    if is_ready(entry) or _packages_in(entry):
        return _packages_in(entry), True
    with build_into(entry) as scratch:
        make(scratch)
    return _packages_in(entry), False


def _packages_in(entry: Path) -> list[Path]:
    if not entry.is_dir():
        return []
    return sorted(p for p in entry.iterdir() if p.name.endswith(PACKAGE_SUFFIXES))


def _in_channel(channel: Path, filename: str) -> bool:
    return any((sub / filename).is_file() for sub in channel.iterdir() if sub.is_dir())


def _read_manifest(channel: Path) -> dict[str, Any]:
    try:
        data = json.loads((channel / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_manifest(channel: Path, data: dict[str, Any]) -> None:
    write_text_atomic(channel / MANIFEST, json.dumps(data, indent=1, sort_keys=True))
