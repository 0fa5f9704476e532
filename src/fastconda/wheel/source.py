"""Read a wheel and verify it: file name, zip integrity, safe paths and every RECORD hash.

The wheel is opened through ``installer``'s :class:`~installer.sources.WheelFile`; contents are read and
checked against ``RECORD`` in a single pass (``WheelFile.validate_record`` would decompress everything a
second time). The result is an in-memory :class:`WheelContents`, so later stages never touch the zip.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import os
import posixpath
import stat
import zipfile
import zlib
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

from installer.records import InvalidRecordEntry, RecordEntry, parse_record_file
from installer.sources import WheelFile
from installer.utils import parse_metadata_file
from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from fastconda.errors import WheelError

__all__ = ["WheelContents", "WheelEntry", "read_wheel"]

_SIGNATURES = ("RECORD.jws", "RECORD.p7s")
_WORKERS = min(4, os.cpu_count() or 1)


@dataclass(frozen=True)
class WheelEntry:
    """One file of the wheel, with its path inside the wheel and its verified content."""

    path: str
    data: bytes
    executable: bool
    sha256: bytes  # raw digest of data, computed once and reused for paths.json and the new RECORD


@dataclass(frozen=True)
class WheelContents:
    """Everything later stages need from a verified wheel."""

    filename: str
    distribution: str
    version: str
    tags: frozenset[Tag]
    dist_info_dir: str
    data_dir: str
    metadata: Message
    wheel_info: Message
    entries: tuple[WheelEntry, ...]
    #: newest member time in the wheel (seconds since the epoch, UTC); makes the output deterministic
    timestamp: int

    def dist_info(self, name: str) -> bytes | None:
        """Content of ``<dist-info>/<name>``, or None when the wheel has no such file."""
        wanted = f"{self.dist_info_dir}/{name}"
        for entry in self.entries:
            if entry.path == wanted:
                return entry.data
        return None


def _fail(wheel: Path, what: str) -> WheelError:
    return WheelError(f"{wheel.name}: {what}")


def _check_member_path(wheel: Path, info: zipfile.ZipInfo) -> None:
    """Refuse absolute paths, drive letters, backslashes, ``..`` and links that leave the wheel."""
    name = info.filename
    parts = name.rstrip("/").split("/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":") or "\\" in name:
        raise _fail(wheel, f"refusing absolute or non-POSIX path {name!r} in the archive")
    if ".." in parts or "" in parts[:-1] or "." in parts:
        raise _fail(wheel, f"refusing path {name!r}: it must not contain '..', '.' or empty parts")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        msg = f"refusing symbolic link {name!r}: wheels cannot carry links, rebuild the wheel without it"
        raise _fail(wheel, msg)


def _wheel_tags(wheel: Path) -> tuple[str, str, frozenset[Tag]]:
    if wheel.suffix != ".whl":
        raise _fail(wheel, "not a wheel: the file name must end in .whl")
    try:
        name, version, _build, tags = parse_wheel_filename(wheel.name)
    except InvalidWheelFilename as exc:
        raise _fail(wheel, f"not a valid wheel file name ({exc})") from None
    return str(name), str(version), tags


def _record(wheel: Path, source: WheelFile) -> dict[str, RecordEntry]:
    try:
        lines = source.read_dist_info("RECORD").splitlines()
    except KeyError:
        raise _fail(wheel, f"{source.dist_info_dir}/RECORD is missing") from None
    records: dict[str, RecordEntry] = {}
    try:
        for row in parse_record_file(lines):
            records[row[0]] = RecordEntry.from_elements(*row)
    except InvalidRecordEntry as exc:
        raise _fail(wheel, f"invalid RECORD entry {list(exc.elements)!r}: {exc}") from None
    except ValueError as exc:
        raise _fail(wheel, f"unreadable RECORD: {exc}") from None
    return records


def _verify(wheel: Path, entry: WheelEntry, record: RecordEntry | None, record_path: str) -> None:
    path, data = entry.path, entry.data
    if record is None:
        raise _fail(wheel, f"{path} is not listed in RECORD (the wheel was modified after it was built)")
    if path == record_path:
        return
    if record.hash_ is None or record.size is None:
        raise _fail(wheel, f"RECORD has no hash or size for {path}")
    if record.hash_.name not in ("sha256", "sha384", "sha512"):
        raise _fail(wheel, f"RECORD uses the weak hash {record.hash_.name!r} for {path}")
    if record.hash_.name == "sha256":
        expected = base64.urlsafe_b64encode(entry.sha256).rstrip(b"=").decode("ascii")
        good = record.hash_.value == expected
    else:
        good = record.hash_.validate(data)
    if record.size != len(data) or not good:
        raise _fail(wheel, f"hash or size of {path} does not match RECORD (tampered or corrupt wheel)")


def _entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> WheelEntry:
    data = archive.read(info)
    mode = info.external_attr >> 16
    return WheelEntry(info.filename, data, bool(mode & 0o111), hashlib.sha256(data).digest())


def read_wheel(wheel: Path) -> WheelContents:
    """Open ``wheel``, verify it completely and return its contents.

    Raises :class:`WheelError` for a file that is not a wheel, a corrupt zip, unsafe paths, a missing or
    inconsistent ``.dist-info``, and any file whose hash or size differs from ``RECORD``.
    """
    name, version, tags = _wheel_tags(wheel)
    try:
        with zipfile.ZipFile(wheel) as archive:
            for info in archive.infolist():
                _check_member_path(wheel, info)
            source = WheelFile(archive)
            try:
                dist_info_dir = source.dist_info_dir
            except ValueError as exc:
                raise _fail(wheel, str(exc)) from None
            records = _record(wheel, source)
            record_path = f"{dist_info_dir}/RECORD"
            members = [i for i in archive.infolist() if not i.is_dir()]
            newest = max((i.date_time for i in members), default=(1980, 1, 1, 0, 0, 0))
            # signatures cover the original RECORD, which is rewritten: leave them out
            members = [
                i
                for i in members
                if not (posixpath.dirname(i.filename) == dist_info_dir and i.filename.endswith(_SIGNATURES))
            ]
            # zlib and hashlib release the GIL: decompress and hash members in parallel
            with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
                entries = list(pool.map(lambda i: _entry(archive, i), members))
            for entry in entries:
                _verify(wheel, entry, records.pop(entry.path, None), record_path)
            missing = sorted(p for p in records if not p.endswith("/"))
            if missing:
                shown = ", ".join(missing[:5])
                raise _fail(wheel, f"RECORD lists files that are not in the wheel: {shown}")
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise _fail(wheel, f"corrupt zip archive ({exc}); download the wheel again") from None
    except FileNotFoundError:
        raise _fail(wheel, "no such file") from None
    by_path: Mapping[str, WheelEntry] = {e.path: e for e in entries}
    metadata = _message(wheel, by_path, f"{dist_info_dir}/METADATA")
    wheel_info = _message(wheel, by_path, f"{dist_info_dir}/WHEEL")
    if not str(wheel_info.get("Wheel-Version", "1.0")).startswith("1."):
        raise _fail(wheel, f"unsupported Wheel-Version {wheel_info.get('Wheel-Version')}")
    stamp = _epoch(newest)
    return WheelContents(
        filename=wheel.name,
        distribution=name,
        version=version,
        tags=tags,
        dist_info_dir=dist_info_dir,
        data_dir=dist_info_dir[: -len(".dist-info")] + ".data",
        metadata=metadata,
        wheel_info=wheel_info,
        entries=tuple(entries),
        timestamp=stamp,
    )


def _message(wheel: Path, entries: Mapping[str, WheelEntry], path: str) -> Message:
    entry = entries.get(path)
    if entry is None:
        raise _fail(wheel, f"{path} is missing")
    try:
        return parse_metadata_file(entry.data.decode("utf-8"))
    except UnicodeDecodeError:
        raise _fail(wheel, f"{path} is not UTF-8") from None


def _epoch(date_time: tuple[int, int, int, int, int, int]) -> int:
    return calendar.timegm((*date_time, 0, 0, 0))
