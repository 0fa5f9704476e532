"""Indexing a local channel: each subdir's ``repodata.json`` written anew, atomically.

Separate from :mod:`fastconda.channel.local` because it is the part that talks to rattler's indexer
and merges its records into the current index; ``local`` decides *what* changes (under the
channel's writer lock) and calls :func:`index_locked` to write the new index. This module imports
nothing from ``local``, so the two never form a cycle.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastconda._files import TEMP_PREFIX, write_text_atomic
from fastconda.errors import ChannelError

PACKAGE_SUFFIXES = (".conda", ".tar.bz2")
RECORD_KEYS = ("packages", "packages.conda")


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
    *full*, rattler's indexer reads every package file (the repair). Otherwise only the files the
    current index does not list, and the *changed* ones (replaced under the same name), are read —
    by the indexer, in a staging folder holding just them — and their records are merged into the
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
    """Records of the package files in *todo* (subdir → files), read by rattler's indexer."""
    import asyncio

    from rattler.index import index_fs  # imported late: loading rattler costs ~0.1 s

    from fastconda.tools.rattler import rattler_errors

    if not any(todo.values()):
        return {}
    staging = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX + "index-", dir=channel))
    try:
        (staging / "noarch").mkdir()  # the indexer always indexes noarch
        for name, files in todo.items():
            (staging / name).mkdir(exist_ok=True)
            for package in files:
                _link_or_copy(package, staging / name / package.name)
        try:
            asyncio.run(index_fs(staging, write_zst=False, write_shards=False, force=True))
        except rattler_errors() as exc:
            msg = f"indexing {channel} failed: {exc}"
            raise ChannelError(msg) from None
        records: dict[str, dict[str, Any]] = {}
        for name in todo:
            produced = json.loads((staging / name / "repodata.json").read_bytes())
            if any(produced.get("v3")):
                msg = f"indexing {channel}: repodata v3 records are not supported; nothing was changed"
                raise ChannelError(msg)
            records[name] = {key: produced.get(key, {}) for key in RECORD_KEYS}
        return records
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _link_or_copy(source: Path, target: Path) -> None:
    """Only for the indexer's staging copy of the channel's own files: never link a caller's file."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
