"""Local conda channels: create, add, index, remove — atomically and safely under concurrency.

The one mechanism that keeps a channel consistent for readers at every instant:

1. package files are written under a temporary name in their subdir and renamed into place
   (a reader that uses the old repodata never looks at them);
2. ``repodata.json`` is written to a temporary file (records as rattler's indexer makes them,
   :mod:`fastconda.channel.index`) and renamed over the old one, so readers see either the old or
   the new index, never half of one;
3. files that leave the channel are deleted only after the new index is in place.

Every write happens under an exclusive ``flock`` on ``<channel>/.fastconda.lock``, so two
concurrent writers serialise and nothing is lost. A crash or Ctrl-C at any point leaves the
previous index valid; leftovers (temporary files, staging folders) are removed by the next writer.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from fastconda._files import TEMP_PREFIX, copy_file_atomic, file_digests, file_lock, write_text_atomic
from fastconda.channel.index import (
    PACKAGE_SUFFIXES,
    RECORD_KEYS,
    channel_subdirs,
    index_locked,
    package_names,
    read_repodata,
)
from fastconda.errors import ChannelError
from fastconda.progress import Progress, ProgressEvent, null_progress

LOCK_NAME = ".fastconda.lock"
EMPTY_REPODATA = {"info": {"subdir": "noarch"}, "packages": {}, "packages.conda": {}, "repodata_version": 1}


@dataclasses.dataclass(frozen=True)
class PackageInfo:
    """What a package file says about itself (its ``info/index.json``) plus its file identity."""

    path: Path
    name: str
    version: str
    build: str
    subdir: str
    sha256: str
    depends: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class AddResult:
    channel: Path
    added: tuple[PackageInfo, ...]
    unchanged: tuple[PackageInfo, ...]


def channel_url(path: Path) -> str:
    """The ``file://`` URL of a local channel (what rattler and rattler-build expect)."""
    return path.resolve().as_uri()


def as_channel_url(value: str) -> str:
    """A channel named on the command line: an existing local folder becomes its ``file://`` URL."""
    path = Path(value)
    return channel_url(path) if "://" not in value and path.exists() else value


def is_channel(path: Path) -> bool:
    return (path / "noarch" / "repodata.json").is_file()


def check_channel_dir(path: Path, *, create: bool) -> None:
    """Refuse a path that exists and is not a channel, before anything is written to it."""
    if path.exists() and not path.is_dir():
        msg = f"{path} exists and is not a folder; a channel is a folder with noarch/repodata.json"
        raise ChannelError(msg)
    if is_channel(path):
        return
    # one listing, not a lock test and then a listing: a writer creating the lock in between would make
    # the folder look non-empty and lockless (seen with parallel builds into a new output channel)
    entries = {p.name for p in path.iterdir()} if path.is_dir() else set()
    if LOCK_NAME in entries:
        return  # one that another fastconda writer is making right now (it holds the lock)
    if not entries:
        if create:
            return
        msg = (
            f"{path} is not a channel (no noarch/repodata.json); "
            f"create one with `fastconda channel index {path}`"
        )
        raise ChannelError(msg)
    msg = (
        f"{path} exists and is not a conda channel (no noarch/repodata.json) but is not empty; "
        "refusing to write into it. Choose a new or empty folder, "
        "or index it first with `fastconda channel index`."
    )
    raise ChannelError(msg)


@contextlib.contextmanager
def locked(channel: Path) -> Iterator[None]:
    """Exclusive writer lock on *channel* (created if missing); cleans leftovers of killed writers."""
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(file_lock(channel / LOCK_NAME))
        except OSError as exc:
            msg = f"cannot lock channel {channel}: {exc.strerror}"
            raise ChannelError(msg) from None
        _remove_leftovers(channel)
        yield


def _remove_leftovers(channel: Path) -> None:
    for item in [channel, *channel_subdirs(channel)]:
        for leftover in item.glob(TEMP_PREFIX + "*"):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)


def _package_files(folder: Path) -> list[Path]:
    return [folder / name for name in package_names(folder)]


def file_sha256(path: Path) -> str:
    return file_digests(path, "sha256")[0]


def read_package(path: Path) -> PackageInfo:
    """Read ``info/index.json`` of a ``.conda`` / ``.tar.bz2``; a clear error when it is not a package."""
    if not path.is_file():
        msg = f"{path}: no such package file"
        raise ChannelError(msg)
    if not path.name.endswith(PACKAGE_SUFFIXES):
        msg = f"{path}: not a conda package (expected a .conda or .tar.bz2 file)"
        raise ChannelError(msg)
    index: dict[str, Any] | None = None
    try:
        from conda_package_streaming.package_streaming import stream_conda_info  # late: slow to import

        for tar, member in stream_conda_info(str(path)):
            if member.name == "info/index.json":
                handle = tar.extractfile(member)
                if handle is not None:
                    index = json.load(handle)
                break
    except Exception as exc:
        msg = f"{path}: not a valid conda package ({type(exc).__name__}: {exc})"
        raise ChannelError(msg) from None
    if index is None:
        msg = f"{path}: not a valid conda package (no info/index.json)"
        raise ChannelError(msg)
    try:
        return PackageInfo(
            path=path,
            name=str(index["name"]),
            version=str(index["version"]),
            build=str(index["build"]),
            subdir=str(index.get("subdir") or "noarch"),
            sha256=file_sha256(path),
            depends=tuple(str(d) for d in index.get("depends", ())),
        )
    except KeyError as exc:
        msg = f"{path}: info/index.json has no {exc.args[0]!r}"
        raise ChannelError(msg) from None


def _ensure_skeleton(channel: Path) -> None:
    noarch = channel / "noarch" / "repodata.json"
    if not noarch.is_file():
        write_text_atomic(noarch, json.dumps(EMPTY_REPODATA))


def create_channel(channel: Path) -> None:
    """Make *channel* an (empty) indexed channel if it is not one yet."""
    check_channel_dir(channel, create=True)
    with locked(channel):
        _ensure_skeleton(channel)


def add_packages(
    channel: Path,
    packages: Sequence[Path],
    *,
    replace: bool = False,
    keep_existing: bool = False,
    create: bool = True,
    progress: Progress = null_progress,
) -> AddResult:
    """Copy *packages* into *channel* and re-index it, atomically.

    A package the index lists with the same content is left alone; with different content it is an
    error unless ``replace`` is true (a published package must not change silently), and left as it
    is with ``keep_existing`` — for callers whose file names encode every input (the seed channel),
    so that a reader holding the current index never finds a file with other content.

    A file the index does not list was never published: a writer was killed between moving it in
    and re-indexing. It is overwritten and indexed (it is "added": clients could not see it before),
    so a rerun after a crash finishes the job instead of calling it "unchanged".
    """
    check_channel_dir(channel, create=create)
    infos = [read_package(Path(p)) for p in packages]  # validate everything before writing anything
    added: list[PackageInfo] = []
    unchanged: list[PackageInfo] = []
    with locked(channel):
        _ensure_skeleton(channel)
        # decide everything before writing anything: a conflict leaves the channel exactly as it was
        plan = _plan(channel, infos, replace=replace, keep_existing=keep_existing)
        if plan.conflicts:
            msg = (
                f"{plan.conflicts[0]} already exists with different content; a package in a channel must not "
                "change (bump the build number, or pass --replace to overwrite). Nothing was added."
            )
            raise ChannelError(msg)
        for number, (info, target) in enumerate(plan.copy, 1):
            progress(ProgressEvent("add", info.path.name, number, len(plan.copy)))
            _copy_atomic(info, target)
            added.append(dataclasses.replace(info, path=target))
        added += plan.index_only
        unchanged += plan.unchanged
        if plan.copy or plan.reindex:
            progress(ProgressEvent("index", str(channel)))
            touched = {p.parent.name for p in plan.reindex} | {t.parent.name for _, t in plan.copy}
            changed = {p.name for p in plan.reindex} | {t.name for _, t in plan.copy}
            index_locked(channel, changed=changed, touched=touched, loaded=plan.loaded)
    return AddResult(channel=channel, added=tuple(added), unchanged=tuple(unchanged))


@dataclasses.dataclass
class _Plan:
    copy: list[tuple[PackageInfo, Path]] = dataclasses.field(default_factory=list)
    index_only: list[PackageInfo] = dataclasses.field(default_factory=list)  # there, but not listed
    unchanged: list[PackageInfo] = dataclasses.field(default_factory=list)
    reindex: list[Path] = dataclasses.field(default_factory=list)  # files whose record must be read again
    conflicts: list[Path] = dataclasses.field(default_factory=list)
    loaded: dict[str, dict[str, Any] | None] = dataclasses.field(default_factory=dict)


def find_conflicts(channel: Path, infos: Sequence[PackageInfo]) -> list[Path]:
    """The files of *channel* that would refuse *infos*: listed under the same name with other content."""
    there = [i for i in infos if (channel / i.subdir / i.path.name).is_file()]
    if not there:  # the usual case: new packages, and no index of 150k entries to read for nothing
        return []
    return _plan(channel, there, replace=False, keep_existing=False).conflicts


def _plan(channel: Path, infos: Sequence[PackageInfo], *, replace: bool, keep_existing: bool) -> _Plan:
    """What adding *infos* must do, judged by what the index lists (what clients were told)."""
    plan = _Plan()
    for info in infos:
        target = channel / info.subdir / info.path.name
        repodata = target.parent / "repodata.json"
        if info.subdir not in plan.loaded:
            plan.loaded[info.subdir] = read_repodata(repodata)
        index = plan.loaded[info.subdir]
        exists = target.is_file()
        unreadable = index is None and repodata.is_file()
        if keep_existing and exists and (unreadable or _listed_sha256(index, target.name) is not None):
            plan.unchanged.append(dataclasses.replace(info, path=target))  # published: never touched
            if unreadable:
                plan.reindex.append(target)
            continue
        on_disk = file_sha256(target) if exists else None
        if unreadable:
            listed = on_disk  # an index that cannot be read: judge by the file, and have it rebuilt
            plan.reindex.append(target)
        else:
            listed = _listed_sha256(index, target.name)
        if listed is None or listed == info.sha256 or replace or keep_existing:  # ours must be there
            if on_disk != info.sha256:
                plan.copy.append((info, target))
            elif listed == info.sha256:
                plan.unchanged.append(dataclasses.replace(info, path=target))
            else:  # there, but not listed (or listed with the content it replaces): index it
                plan.index_only.append(dataclasses.replace(info, path=target))
                plan.reindex.append(target)
        else:
            plan.conflicts.append(target)
    return plan


def listed_sha256(package: Path) -> str | None:
    """The sha256 the index of *package*'s subdir lists for it (None: not listed, or no index)."""
    return _listed_sha256(read_repodata(package.parent / "repodata.json"), package.name)


def _listed_sha256(index: dict[str, Any] | None, filename: str) -> str | None:
    for key in RECORD_KEYS:
        record = (index or {}).get(key, {}).get(filename)
        if isinstance(record, dict):
            return str(record.get("sha256") or "")
    return None


def _copy_atomic(info: PackageInfo, target: Path) -> None:
    """Copy the caller's package into the channel: the channel's own inode, umask-derived mode."""

    def same_bytes(copy: Path) -> None:
        if file_sha256(copy) != info.sha256:
            msg = f"{info.path} changed while it was being added to {target.parent}; nothing of it was added"
            raise ChannelError(msg)

    try:
        copy_file_atomic(info.path, target, check=same_bytes)
    except OSError as exc:
        msg = f"cannot copy {info.path} into {target.parent}: {exc.strerror or exc}"
        raise ChannelError(msg) from None


def remove_packages(channel: Path, filenames: Iterable[str]) -> list[str]:
    """Drop package files from *channel*: write an index without them first, then delete them."""
    names = set(filenames)
    removed: list[str] = []
    with locked(channel):
        doomed = [p for sub in channel_subdirs(channel) for p in _package_files(sub) if p.name in names]
        if not doomed:
            return removed
        # the new index leaves them out; only once it is in place are the files deleted
        index_locked(channel, exclude={p.name for p in doomed}, touched={p.parent.name for p in doomed})
        for path in doomed:
            path.unlink(missing_ok=True)
            removed.append(path.name)
    return removed


def index_channel(channel: Path, *, create: bool = False) -> None:
    """Re-index every subdir of *channel* (writes ``<subdir>/repodata.json`` atomically)."""
    if channel.exists() and channel.is_dir() and not is_channel(channel):
        # a folder of packages laid out in subdirs becomes a channel; anything else is refused
        stray = [p.name for p in channel.iterdir() if not p.name.startswith(".") and p.is_file()]
        unknown = [p.name for p in channel_subdirs(channel) if not _looks_like_subdir(p)]
        if stray or unknown:
            msg = (
                f"{channel} is not a conda channel and does not look like one "
                f"(unexpected: {', '.join(sorted(stray + unknown)[:5])}); nothing was changed"
            )
            raise ChannelError(msg)
    elif not channel.exists() and not create:
        msg = f"{channel}: no such folder"
        raise ChannelError(msg)
    with locked(channel):
        _ensure_skeleton(channel)
        index_locked(channel, full=True)


def _looks_like_subdir(path: Path) -> bool:
    name = path.name
    return name == "noarch" or (name.count("-") == 1 and name.split("-")[0] in _PLATFORM_PREFIXES)


_PLATFORM_PREFIXES = {"linux", "osx", "win", "emscripten", "wasi", "zos", "freebsd"}


def list_packages(channel: Path) -> list[dict[str, Any]]:
    """The records of every subdir's repodata.json (what a solver sees)."""
    records: list[dict[str, Any]] = []
    for sub in channel_subdirs(channel):
        repodata = sub / "repodata.json"
        if not repodata.is_file():
            continue
        data = json.loads(repodata.read_text(encoding="utf-8"))
        for key in ("packages", "packages.conda"):
            for filename, record in sorted(data.get(key, {}).items()):
                records.append({"filename": filename, **record})
    return records
