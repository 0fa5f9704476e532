"""Indexing a local channel: each subdir's ``repodata.json`` written anew, atomically.

Separate from :mod:`fastconda.channel.local` because it is the part that reads package files into
repodata records (:func:`package_record`: the records rattler's indexer writes, field for field,
which tests/channel check against it) and merges them into the current index; ``local`` decides
*what* changes (under the channel's writer lock) and calls :func:`index_locked` to write the new
index. This module imports nothing from ``local``, so the two never form a cycle.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from fastconda._files import file_digests, write_text_atomic
from fastconda.errors import ChannelError

PACKAGE_SUFFIXES = (".conda", ".tar.bz2")
RECORD_KEYS = ("packages", "packages.conda")
MAX_INFO_JSON = 16 << 20  # bytes of info/index.json or info/run_exports.json read into memory


def channel_subdirs(channel: Path) -> list[Path]:
    """The subdirs of *channel*, sorted (hidden folders such as staging copies left out)."""
    if not channel.is_dir():
        return []
    return sorted(p for p in channel.iterdir() if p.is_dir() and not p.name.startswith("."))


def package_names(folder: Path) -> list[str]:
    """Sorted names of the package files in *folder* (scandir: no stat per file, no Path per file)."""
    with os.scandir(folder) as entries:
        return sorted(e.name for e in entries if e.name.endswith(PACKAGE_SUFFIXES) and e.is_file())


def read_repodata(path: Path) -> dict[str, Any] | None:
    """The current index, or None when there is none (or it cannot be read: then every file is read)."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or any(data.get("v3") or {}):  # records we do not merge: read them all
        return None
    return data


def _listed(index: dict[str, Any] | None) -> set[str]:
    return {f for key in RECORD_KEYS for f in (index or {}).get(key, {})}


def index_locked(
    channel: Path,
    exclude: frozenset[str] | set[str] = frozenset(),
    *,
    changed: frozenset[str] | set[str] = frozenset(),
    full: bool = False,
    touched: set[str] | None = None,
    loaded: dict[str, dict[str, Any] | None] | None = None,
) -> None:
    """Write each subdir's repodata.json anew (to a temp file, renamed into place).

    Files named in *exclude* are left out of the new index (they are about to be deleted); only
    the *touched* subdirs are looked at (None: all of them). With
    *full*, every package file is read again (the repair). Otherwise only the files the current
    index does not list, and the *changed* ones (replaced under the same name), are read (by
    :func:`package_record`) and their records are merged into the
    current index: adding one package to a subdir of 150k entries costs a JSON load and dump, not
    a pass over 150k files. *loaded* holds indexes the caller has read already (subdir → index).
    """
    subdirs = {p.name: p for p in channel_subdirs(channel)}
    subdirs.setdefault("noarch", channel / "noarch")
    todo: dict[str, list[Path]] = {}
    updates: dict[str, tuple[dict[str, Any] | None, set[str]]] = {}
    for name, source in subdirs.items():
        if touched is not None and name not in touched and (source / "repodata.json").is_file():
            continue  # the caller changed nothing there
        names = set(package_names(source)) - set(exclude) if source.is_dir() else set()
        if full:
            current = None
        elif loaded is not None and name in loaded:
            current = loaded[name]
        else:
            current = read_repodata(source / "repodata.json")
        known = _listed(current)
        fresh = (names - known) | (names & set(changed))
        if current is not None and not fresh and not (known - names):
            continue  # nothing to change in this subdir: its repodata.json stays as it is
        todo[name] = [source / n for n in sorted(fresh)]
        updates[name] = (current, names)
    records = _index_files(channel, todo)
    for name, (current, names) in updates.items():
        index = current or {"info": {"subdir": name}, "repodata_version": 1}
        for key in RECORD_KEYS:
            entries = {f: r for f, r in index.get(key, {}).items() if f in names}  # drops excluded and gone
            entries.update(records.get(name, {}).get(key, {}))
            index[key] = dict(sorted(entries.items()))
        source = subdirs[name]
        source.mkdir(exist_ok=True)
        write_text_atomic(source / "repodata.json", json.dumps(index, separators=(",", ":")))
        for stale in ("repodata.json.zst", "repodata_shards.msgpack.zst", "repodata.json.bz2"):
            (source / stale).unlink(missing_ok=True)


def _index_files(channel: Path, todo: dict[str, list[Path]]) -> dict[str, dict[str, Any]]:
    """Records of the package files in *todo* (subdir → files), read in parallel (hashing releases
    the GIL): what rattler's indexer writes, without loading rattler (~45 ms for one package)."""
    files = [(name, package) for name, packages in todo.items() for package in packages]
    records: dict[str, dict[str, Any]] = {name: {key: {} for key in RECORD_KEYS} for name in todo}
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        for (name, package), record in zip(
            files, pool.map(lambda f: package_record(f[1]), files), strict=True
        ):
            key = "packages.conda" if package.name.endswith(".conda") else "packages"
            records[name][key][package.name] = record
    return records


def package_record(path: Path) -> dict[str, Any]:
    """The repodata record of one package file, as rattler's indexer makes it: ``info/index.json``,
    for a ``.conda`` the ``run_exports`` of ``info/run_exports.json`` (empty lists left out), the
    file's md5, sha256 and size, and when it was indexed (``indexed_timestamp``, milliseconds)."""
    from conda_package_streaming.package_streaming import stream_conda_info  # late: slow to import

    members: dict[str, Any] = {}
    try:
        for tar, member in stream_conda_info(str(path)):
            if member.name in {"info/index.json", "info/run_exports.json"} and member.isfile():
                if member.size > MAX_INFO_JSON:
                    msg = f"{member.name} is {member.size} bytes (at most {MAX_INFO_JSON})"
                    raise ValueError(msg)
                handle = tar.extractfile(member)
                members[member.name] = json.load(handle) if handle is not None else None
    except Exception as exc:
        msg = (
            f"indexing {path}: not a valid conda package ({type(exc).__name__}: {exc}): "
            "rebuild it, or remove it from the channel"
        )
        raise ChannelError(msg) from None
    index = members.get("info/index.json")
    if not isinstance(index, dict) or not all(
        isinstance(index.get(k), str) for k in ("name", "version", "build")
    ):
        msg = (
            f"indexing {path}: its info/index.json is missing or has no name, version and build: "
            "rebuild it, or remove it from the channel"
        )
        raise ChannelError(msg)
    record = dict(index)
    exports = members.get("info/run_exports.json")
    # rattler's indexer takes run_exports from .conda files only (not from .tar.bz2)
    if (
        path.name.endswith(".conda")
        and isinstance(exports, dict)
        and (kept := {k: v for k, v in exports.items() if v})
    ):
        record["run_exports"] = kept
    md5, sha256 = file_digests(path, "md5", "sha256")
    record |= {"md5": md5, "sha256": sha256, "size": path.stat().st_size}
    record["indexed_timestamp"] = int(time.time() * 1000)
    return dict(sorted(record.items()))
