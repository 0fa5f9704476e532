"""Adapter for py-rattler: solve specs against explicit channels and install them into a prefix.

Two guards sit around rattler's install:

- **Checksums of local packages.** rattler links a ``file://`` channel's package without checking it
  against the index, so a package replaced on disk (or truncated, or another package under the same
  file name) would be installed, or panic half-way. Every local file is checked against the size and
  sha256 (md5 when the index has no sha256) of its solved record before anything is linked.
- **An interrupted install does not block the rerun.** The environment is linked in place, with an
  in-progress marker (``.fastconda-in-progress``, ``flock``-ed while the install runs) in the prefix;
  the marker goes when the install is complete. A failed or Ctrl-C'd install is cleaned up once
  rattler's linking threads have stopped writing (~0.3 s); one that was
  killed leaves the marker, and the next ``create_environment`` for that prefix removes the remains
  and starts again (a prefix without the marker is never touched). Installing into a staging folder and
  renaming it into place is not an option: conda packages get the prefix written into their text
  files and scripts at link time, so a renamed environment would point into the staging folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import hashlib
import os
import shutil
import tempfile
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from fastconda._files import file_digests
from fastconda.errors import EnvError, Unsolvable

#: marks a prefix whose install has not finished; a prefix with it can be removed and made again
IN_PROGRESS = ".fastconda-in-progress"

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


def rattler_errors() -> tuple[type[Exception], ...]:
    """What py-rattler raises on purpose (its exception classes share no base), and ``OSError``.

    Catching these instead of ``Exception`` lets a bug in fastconda surface as a bug."""
    import rattler.exceptions

    found = [o for o in vars(rattler.exceptions).values() if isinstance(o, type) and issubclass(o, Exception)]
    return (*found, OSError)


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
    section: str = "request",
) -> Environment:
    """Solve *specs* from *channels* only, and install the result into a new *prefix*; requirements
    the channels cannot satisfy are named together, as the *section* of what was asked."""
    if not channels:
        msg = "no channels given: an environment is solved only from channels named explicitly"
        raise EnvError(msg)
    with _claimed(prefix):
        return asyncio.run(_create(prefix, list(specs), list(channels), platform, section))


def local_channel_path(url: str) -> Path | None:
    """The folder of a ``file://`` channel URL, percent-decoded (``my%20channel`` → ``my channel``);
    None for other URLs. Cache keys built from a channel's index files find them through this."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme != "file":
        return None
    return Path(urllib.parse.unquote(parsed.path))  # url2pathname on POSIX, without urllib.request


def _leftover(prefix: Path) -> bool:
    """Whether *prefix* is the remains of an install that was killed (marker present, lock free)."""
    marker = prefix / IN_PROGRESS
    if not marker.is_file() or marker.is_symlink():
        return False
    with marker.open("rb") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            msg = f"another fastconda is creating an environment in {prefix} right now; wait for it to finish"
            raise EnvError(msg) from None
    return True


def _empty(prefix: Path, *, keep: str = "") -> None:
    for child in list(prefix.iterdir()):
        if child.name == keep:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


@contextlib.contextmanager
def _claimed(prefix: Path) -> Iterator[None]:
    """Hold *prefix* for an install: new or empty (or the remains of a killed install, removed now),
    marked in progress until the block ends; on failure emptied again (see the module docstring)."""
    existed = prefix.exists()
    if existed and not prefix.is_dir():
        msg = f"{prefix} exists and is not a folder; choose a new folder for the environment"
        raise EnvError(msg)
    if existed and any(prefix.iterdir()):
        if not _leftover(prefix):
            msg = f"{prefix} exists and is not empty; choose a new folder for the environment"
            raise EnvError(msg)
        _empty(prefix, keep=IN_PROGRESS)  # an earlier install was killed: start again
    try:
        prefix.mkdir(parents=True, exist_ok=True)
        handle = (prefix / IN_PROGRESS).open("wb")
    except OSError as exc:
        msg = f"cannot create the environment folder {prefix}: {exc.strerror or exc}"
        raise EnvError(msg) from None
    with handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        handle.write(f"{os.getpid()}\n".encode())
        handle.flush()
        try:
            yield
        except BaseException:
            _empty(prefix, keep=IN_PROGRESS)
            (prefix / IN_PROGRESS).unlink(missing_ok=True)
            if not existed:
                with contextlib.suppress(OSError):
                    prefix.rmdir()
            raise
        (prefix / IN_PROGRESS).unlink(missing_ok=True)


def _check_local(record: Any) -> None:
    """Refuse a package file of a local channel that is not the one its index entry describes."""
    path = local_channel_path(str(record.url))
    if path is None:
        return  # rattler verifies what it downloads
    expected = record.sha256.hex() if record.sha256 else None
    algorithm = "sha256" if expected else "md5"
    if expected is None:
        expected = record.md5.hex() if record.md5 else None
    if expected is None:
        return
    try:
        (actual,) = file_digests(path, algorithm)
    except OSError as exc:
        msg = f"cannot read {path}, listed in its channel's index: {exc.strerror or exc}"
        raise EnvError(msg) from None
    if actual != expected:
        msg = (
            f"{path} does not match its channel's index: {algorithm} {actual}, the index says {expected}; "
            "the file was replaced or damaged after indexing: re-index the channel or restore the file"
        )
        raise EnvError(msg)


def verify_local_packages(records: Sequence[Any]) -> None:
    """Check every solved record from a ``file://`` channel against its file (hashed in parallel)."""
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        list(pool.map(_check_local, records))


async def _solve(specs: list[str], channels: list[str], platform: str | None) -> list[Any]:
    import rattler
    from rattler.exceptions import SolverError

    subdir = platform or str(rattler.Subdir.current())
    try:
        virtual = rattler.VirtualPackage.detect()
        records: list[Any] = await rattler.solve(
            sources=channels,
            specs=specs,
            platforms=[rattler.Subdir(subdir), rattler.Subdir("noarch")],
            virtual_packages=virtual,
        )
    except SolverError as exc:
        msg = f"cannot solve {', '.join(specs)} from {', '.join(channels)}:\n{exc}"
        raise Unsolvable(msg, _reasons(exc)) from None
    except rattler_errors() as exc:
        msg = f"cannot read the channels {', '.join(channels)}: {exc}"
        raise EnvError(msg) from None
    return records


async def _create(
    prefix: Path, specs: list[str], channels: list[str], platform: str | None, section: str = "request"
) -> Environment:
    import rattler

    started = time.perf_counter()
    try:
        records = await _solve(specs, channels, platform)
    except Unsolvable:
        from fastconda.tools.rattler_missing import find_async, missing_error

        missing = await find_async({section: specs}, channels, {}, platform)
        raise missing_error(missing, channels) from None
    verify_local_packages(records)
    solved = time.perf_counter()
    install = rattler.install(
        records, target_prefix=prefix, cache_dir=rattler_cache_dir(), show_progress=False
    )
    try:
        await install
    except asyncio.CancelledError:  # Ctrl-C: asyncio.run raises KeyboardInterrupt after this
        _settle(prefix)
        raise
    except rattler_errors() as exc:
        _settle(prefix)
        msg = f"installing into {prefix} failed: {exc}"
        raise EnvError(msg) from None
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


def _settle(prefix: Path, *, quiet: float = 0.3, limit: float = 10.0) -> None:
    """Wait until nothing is added to *prefix* any more (no new entry for *quiet* seconds, *limit* at most).

    A cancelled or failed rattler install drops its future, but the threads that link the packages
    in flight go on writing for a while (~0.3 s measured for python): a cleanup beside them would
    leave their files behind. Waiting for the whole install instead would make Ctrl-C take seconds.
    """
    started = last_change = time.monotonic()
    count = -1
    while (now := time.monotonic()) - last_change < quiet and now - started < limit:
        current = sum(len(dirs) + len(files) for _, dirs, files in os.walk(prefix))
        if current != count:
            count, last_change = current, now
        time.sleep(0.05)


def channels_digest(parts: Sequence[str], channels: Sequence[str]) -> tuple[str, bool]:
    """A digest of *parts*, the channel URLs and the index files of the local channels (path, time,
    size); and whether every channel is local (only then does the digest follow their content)."""
    digest = hashlib.sha256("\0".join([*parts, *channels]).encode())
    all_local = True
    for url in channels:
        folder = local_channel_path(url)
        if folder is None:
            all_local = False
            continue
        for repodata in sorted(folder.glob("*/repodata.json")):
            stat = repodata.stat()
            digest.update(f"{repodata}:{stat.st_mtime_ns}:{stat.st_size}".encode())
    return digest.hexdigest(), all_local


def prefill_package_cache(specs: Sequence[str], *, channels: Sequence[str], marker_dir: Path) -> bool:
    """Make sure the packages of *specs* sit unpacked in rattler's package cache.

    rattler-build links test environments through a throw-away cache layer: packages needed only
    by tests (pytango, numpy) would be unpacked again on every build (~1.2 s). Installing them once
    into a scratch prefix with the shared cache removes that (no install when the solved packages
    are all unpacked already). Returns True when work was done; a marker keyed by the specs and the
    channels' index files makes later calls free.
    """
    digest, _ = channels_digest(sorted(specs), channels)
    marker = marker_dir / digest[:24]
    if marker.is_file():
        return False
    # unsolvable specs raise Unsolvable; the build names every missing requirement before this
    # (fastconda.tools.rattler_missing), so the solver's own reason is enough here
    records = asyncio.run(_solve(list(specs), list(channels), None))
    if not all(_unpacked(record) for record in records):  # else a fresh fastconda cache, a warm rattler one
        with tempfile.TemporaryDirectory(prefix="fastconda-prefill-") as scratch:
            create_environment(Path(scratch) / "env", specs, channels=channels)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("\n".join(specs), encoding="utf-8")
    return True


def _reasons(exc: Exception) -> tuple[str, ...]:
    """The solver's own lines that say why, without its preamble."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return tuple(line.removeprefix("Cannot solve the request because of: ").rstrip(".") for line in lines[:3])


def _unpacked(record: Any) -> bool:
    """Whether rattler's package cache holds *record* unpacked: its folder with ``info/paths.json``,
    and the lock file beside it that rattler fills (revision, sha256) once the package is complete.
    Only an optimisation: rattler checks its cache entries again when it links them."""
    folder = package_cache_path() / f"{record.name.normalized}-{record.version}-{record.build}"
    lock = folder.with_name(f"{folder.name}.lock")
    try:
        return (folder / "info" / "paths.json").is_file() and lock.stat().st_size > 0
    except OSError:
        return False
