"""What fastconda keeps in its cache folder, and removing what can be made again.

Each area is a folder of entries (one per key). Entries a running build holds are never removed:
a build holds the entry's lock file (``<entry>.lock`` next to it, or the lock inside a build's work
folder) while it uses the entry, and cleaning takes that lock without waiting, skipping the entry
when it is busy. An entry's modification time is when it was last used (or made).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from fastconda._files import SCRATCH_PREFIX, file_lock, scratch_target
from fastconda.pipeline.workdir import WORK, WORK_LOCK


@dataclasses.dataclass(frozen=True)
class Area:
    name: str
    what: str
    rebuildable: bool  # ``cache clean`` removes only these; downloads stay (offline builds need them)


AREAS = (
    Area("build-envs", "build backend environments for sdists and wheels", True),
    Area("build-requires", "what build backends asked for beyond build-system.requires", True),
    Area("builds", "records of successful builds (what `build` skips)", True),
    Area(WORK, "work folders of running builds and the last failed ones", True),
    Area("prefilled", "markers of test packages unpacked into rattler's cache", True),
    Area("host-envs", "Tango environments of C++ wheel builds", True),
    Area("cxx-wheel", "C++ wheel build trees", True),
    Area("packages", "seed packages made from wheels and .debs", True),
    Area("wheels", "downloaded wheels (kept: offline builds need them)", False),
    Area("debs", "downloaded Debian packages (kept: offline builds need them)", False),
)
SCRATCH_GRACE = 3600.0  # seconds: a younger scratch folder in an area without locks is work in progress
_LOCKED = {"build-envs", "host-envs", "cxx-wheel"}  # areas whose users hold ``<entry>.lock``


@dataclasses.dataclass(frozen=True)
class AreaInfo:
    name: str
    path: Path
    what: str
    rebuildable: bool
    entries: int
    size: int  # bytes


@dataclasses.dataclass(frozen=True)
class Cleaned:
    removed: tuple[Path, ...]
    freed: int  # bytes
    busy: tuple[Path, ...]  # held by a running build: left alone
    kept: int  # entries used more recently than asked


def info(cache_dir: Path) -> list[AreaInfo]:
    """Size and entry count of each area under *cache_dir* (missing areas count as empty)."""
    out = []
    for area in AREAS:
        folder = cache_dir / area.name
        entries = list(_entries(folder))
        size = sum(_size(entry) for entry in entries)
        out.append(AreaInfo(area.name, folder, area.what, area.rebuildable, len(entries), size))
    return out


def clean(cache_dir: Path, *, older_than_days: float | None = None, now: float | None = None) -> Cleaned:
    """Remove the entries of the rebuildable areas (only those unused for *older_than_days*, if given).

    Never removes an entry a running build holds (its lock is taken, or it holds a scratch folder
    younger than :data:`SCRATCH_GRACE`), nor the downloads (wheels, .debs).
    """
    now = time.time() if now is None else now
    removed: list[Path] = []
    busy: list[Path] = []
    freed = kept = 0
    for area in AREAS:
        if not area.rebuildable:
            continue
        for entry in _entries(cache_dir / area.name):
            if older_than_days is not None and now - _last_used(entry) < older_than_days * 86400:
                kept += 1
                continue
            lock = _lock_of(entry)
            if lock is None and _being_made(entry, now):  # e.g. a seed bootstrap running now
                busy.append(entry)
                continue
            size = _size(entry)
            try:
                with file_lock(lock, blocking=False) if lock else contextlib.nullcontext():
                    _remove(entry)
            except BlockingIOError:
                busy.append(entry)
                continue
            except FileNotFoundError:  # removed meanwhile (a build finished with it)
                continue
            removed.append(entry)
            freed += size
    return Cleaned(tuple(removed), freed, tuple(busy), kept)


def _entries(folder: Path) -> Iterator[Path]:
    if not folder.is_dir():
        return
    for entry in sorted(folder.iterdir()):
        if entry.name.endswith(".lock"):  # lock files stay: a build may be opening one right now
            continue
        yield entry


def _lock_of(entry: Path) -> Path | None:
    """The lock a build holds while it uses *entry* (None: the area's users hold none)."""
    if entry.parent.name == WORK and entry.is_dir():
        return entry / WORK_LOCK
    if entry.parent.name not in _LOCKED:
        return None
    # an entry being made (_files.build_into) is held by the lock of the entry it becomes
    name = scratch_target(entry.name) or entry.name
    return entry.parent / f"{name}.lock"


def _being_made(entry: Path, now: float) -> bool:
    """Whether *entry* is, or holds, a scratch folder of :func:`fastconda._files.build_into` touched
    in the last hour.

    Areas without locks (the seed package cache) make their entries that way too.
    """
    scratch = [entry] if entry.name.startswith(SCRATCH_PREFIX) else []
    if entry.is_dir() and not entry.is_symlink():
        scratch += [p for p in entry.iterdir() if p.name.startswith(SCRATCH_PREFIX)]
    return any(now - _last_used(p) < SCRATCH_GRACE for p in scratch)


def _last_used(entry: Path) -> float:
    try:
        return entry.lstat().st_mtime
    except FileNotFoundError:
        return time.time()


def _remove(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry)
    else:
        entry.unlink()


def _size(entry: Path) -> int:
    """Bytes of the files under *entry*, each inode once (venvs and package trees hard-link)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    try:
        if not entry.is_dir() or entry.is_symlink():
            return entry.lstat().st_size
        for folder, _dirs, files in os.walk(entry):
            for name in files:
                try:
                    stat = os.lstat(os.path.join(folder, name))  # noqa: PTH118 - os.walk gives strings
                except OSError:
                    continue
                if (stat.st_dev, stat.st_ino) not in seen:
                    seen.add((stat.st_dev, stat.st_ino))
                    total += stat.st_size
    except OSError:
        return total
    return total
