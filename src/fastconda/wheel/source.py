"""Read a wheel and verify it: file name, zip integrity, safe paths, bounded sizes and every RECORD hash.

The wheel is opened through ``installer``'s :class:`~installer.sources.WheelFile`; contents are read and
checked against ``RECORD`` in a single pass (``WheelFile.validate_record`` would decompress everything a
second time). The result is a :class:`WheelContents`, so later stages never touch the zip.

A wheel is untrusted input: before a single member is decompressed, its size in the zip header is checked
against ``RECORD``, against a compression-ratio bound and against a total (:class:`WheelLimits`), so a
zip bomb is refused from its directory alone. Members are then streamed with a running hash; big ones
(and everything past an in-memory budget) are spooled to files in a folder the caller owns, so memory
use stays bounded whatever the wheel's size.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import io
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
from typing import BinaryIO

from installer.records import InvalidRecordEntry, RecordEntry, parse_record_file
from installer.sources import WheelFile
from installer.utils import parse_metadata_file
from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from fastconda.errors import WheelError

__all__ = ["WheelContents", "WheelEntry", "WheelLimits", "read_wheel"]

_SIGNATURES = ("RECORD.jws", "RECORD.p7s")
_WORKERS = min(4, os.cpu_count() or 1)
_MiB = 1 << 20
_GiB = 1 << 30
_CHUNK = _MiB
#: members up to this size are kept in memory (while the budget lasts), bigger ones are spooled to disk
_IN_MEMORY_MEMBER = 4 * _MiB
_IN_MEMORY_TOTAL = 256 * _MiB
#: largest .dist-info file that is parsed (METADATA, WHEEL, entry_points.txt): they are read whole
_METADATA_MAX = 16 * _MiB


@dataclass(frozen=True)
class WheelLimits:
    """What a wheel may unpack to; beyond it the wheel is refused as a likely zip bomb.

    The defaults leave room for big real wheels (a few GiB unpacked; real members rarely compress better
    than 10:1) and stop a 4 MB wheel that unpacks to 4 GiB of zeros (about 1000:1).
    """

    #: sum of the unpacked sizes of all members, in bytes
    total: int = 8 * _GiB
    #: largest unpacked/compressed ratio of a member bigger than ``ratio_from`` bytes
    ratio: int = 200
    ratio_from: int = 4 * _MiB


@dataclass(frozen=True)
class WheelEntry:
    """One file of the wheel, with its path inside the wheel and its verified content.

    The content is in memory (``content``) for small members and in a spool file (``spooled``) for
    big ones; :meth:`open` streams either, :attr:`data` reads it whole (for small files: metadata,
    scripts, modules).
    """

    path: str
    size: int
    executable: bool
    sha256: bytes  # raw digest of the content, computed once and reused for paths.json and the new RECORD
    content: bytes | None = None
    spooled: Path | None = None

    @property
    def data(self) -> bytes:
        if self.content is not None:
            return self.content
        assert self.spooled is not None
        return self.spooled.read_bytes()

    def open(self) -> BinaryIO:
        if self.content is not None:
            return io.BytesIO(self.content)
        assert self.spooled is not None
        return self.spooled.open("rb")


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
                return _parsed(self.filename, entry)
        return None


def _parsed(filename: str, entry: WheelEntry) -> bytes:
    """The content of a metadata file that is parsed, refused when it is too big to read whole."""
    if entry.size > _METADATA_MAX:
        msg = f"{filename}: {entry.path} is {entry.size} bytes, more than a metadata file can sensibly be"
        raise WheelError(msg)
    return entry.data


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


def _check_sizes(wheel: Path, members: list[zipfile.ZipInfo], limits: WheelLimits) -> None:
    """Refuse duplicate names and zip bombs from the zip directory alone, before anything is decompressed."""
    seen: set[str] = set()
    total = 0
    for info in members:
        name = info.filename
        if name in seen:
            msg = f"the archive has duplicate entries for {name!r} (a tampered or broken wheel); rebuild it"
            raise _fail(wheel, msg)
        seen.add(name)
        size = info.file_size
        if size > limits.ratio_from and size > limits.ratio * max(info.compress_size, 1):
            ratio = size // max(info.compress_size, 1)
            msg = (
                f"{name} would unpack to {size} bytes from {info.compress_size} "
                f"(ratio {ratio}:1, more than {limits.ratio}:1): refusing a likely zip bomb"
            )
            raise _fail(wheel, msg)
        total += size
        if total > limits.total:
            msg = (
                f"unpacked size passes the limit of {limits.total} bytes at {name}: refusing a likely zip "
                "bomb (raise the limit with --max-unpacked-size if the wheel is trusted)"
            )
            raise _fail(wheel, msg)


def _record(wheel: Path, source: WheelFile, info: zipfile.ZipInfo | None) -> dict[str, RecordEntry]:
    if info is None:
        raise _fail(wheel, f"{source.dist_info_dir}/RECORD is missing")
    if info.file_size > _IN_MEMORY_TOTAL:
        raise _fail(wheel, f"{info.filename} is {info.file_size} bytes: too big for a RECORD")
    lines = source.read_dist_info("RECORD").splitlines()
    records: dict[str, RecordEntry] = {}
    try:
        for row in parse_record_file(lines):
            records[row[0]] = RecordEntry.from_elements(*row)
    except InvalidRecordEntry as exc:
        raise _fail(wheel, f"invalid RECORD entry {list(exc.elements)!r}: {exc}") from None
    except ValueError as exc:
        raise _fail(wheel, f"unreadable RECORD: {exc}") from None
    return records


def _check_record(wheel: Path, info: zipfile.ZipInfo, record: RecordEntry | None) -> None:
    """What RECORD says about a member against its zip header (before it is read)."""
    path = info.filename
    if record is None:
        raise _fail(wheel, f"{path} is not listed in RECORD (the wheel was modified after it was built)")
    if record.hash_ is None or record.size is None:
        raise _fail(wheel, f"RECORD has no hash or size for {path}")
    if record.hash_.name not in ("sha256", "sha384", "sha512"):
        raise _fail(wheel, f"RECORD uses the weak hash {record.hash_.name!r} for {path}")
    if record.size != info.file_size:
        msg = (
            f"size of {path} in the archive ({info.file_size} bytes) does not match RECORD "
            f"({record.size} bytes): tampered or corrupt wheel"
        )
        raise _fail(wheel, msg)


def _digest(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _entry(
    wheel: Path,
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    record: RecordEntry | None,
    spool: Path | None,
) -> WheelEntry:
    """Stream one member (at most its header's size) into memory or *spool*, hashing as it goes."""
    sha256 = hashlib.sha256()
    algorithm = record.hash_.name if record is not None and record.hash_ is not None else "sha256"
    other = None if algorithm == "sha256" else hashlib.new(algorithm)
    size = 0
    sink: BinaryIO = spool.open("xb") if spool is not None else io.BytesIO()
    try:
        with archive.open(info) as reader:
            while chunk := reader.read(_CHUNK):
                size += len(chunk)
                if size > info.file_size:
                    raise _fail(
                        wheel, f"{info.filename} holds more than the {info.file_size} bytes it declares"
                    )
                sha256.update(chunk)
                if other is not None:
                    other.update(chunk)
                sink.write(chunk)
        content = sink.getvalue() if isinstance(sink, io.BytesIO) else None
    finally:
        sink.close()
    if record is not None and record.hash_ is not None:
        actual = _digest(sha256.digest() if other is None else other.digest())
        if actual != record.hash_.value or size != record.size:
            raise _fail(
                wheel, f"hash or size of {info.filename} does not match RECORD (tampered or corrupt wheel)"
            )
    mode = info.external_attr >> 16
    return WheelEntry(info.filename, size, bool(mode & 0o111), sha256.digest(), content, spool)


def read_wheel(wheel: Path, *, spool: Path, limits: WheelLimits | None = None) -> WheelContents:
    """Open ``wheel``, verify it completely and return its contents.

    Big members are written into the existing folder *spool*, which must outlive the result. Raises
    :class:`WheelError` for a file that is not a wheel, a corrupt zip, unsafe paths, duplicate entries,
    members beyond *limits*, a missing or inconsistent ``.dist-info``, and any file whose hash or size
    differs from ``RECORD``.
    """
    limits = limits or WheelLimits()
    name, version, tags = _wheel_tags(wheel)
    try:
        with zipfile.ZipFile(wheel) as archive:
            infos = archive.infolist()
            for info in infos:
                _check_member_path(wheel, info)
            members = [i for i in infos if not i.is_dir()]
            _check_sizes(wheel, members, limits)
            source = WheelFile(archive)
            try:
                dist_info_dir = source.dist_info_dir
            except ValueError as exc:
                raise _fail(wheel, str(exc)) from None
            record_path = f"{dist_info_dir}/RECORD"
            records = _record(wheel, source, next((i for i in members if i.filename == record_path), None))
            newest = max((i.date_time for i in members), default=(1980, 1, 1, 0, 0, 0))
            # signatures cover the original RECORD, which is rewritten: leave them out
            members = [
                i
                for i in members
                if not (posixpath.dirname(i.filename) == dist_info_dir and i.filename.endswith(_SIGNATURES))
            ]
            checked: list[tuple[zipfile.ZipInfo, RecordEntry | None, Path | None]] = []
            in_memory = 0
            for number, info in enumerate(members):
                record = records.pop(info.filename, None)
                if info.filename != record_path:
                    _check_record(wheel, info, record)
                else:
                    record = None
                small = info.file_size <= _IN_MEMORY_MEMBER and in_memory + info.file_size <= _IN_MEMORY_TOTAL
                in_memory += info.file_size if small else 0
                checked.append((info, record, None if small else spool / f"{number:06d}"))
            missing = sorted(p for p in records if not p.endswith("/"))
            if missing:
                shown = ", ".join(missing[:5])
                raise _fail(wheel, f"RECORD lists files that are not in the wheel: {shown}")
            # zlib and hashlib release the GIL: decompress and hash members in parallel
            with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
                entries = list(pool.map(lambda job: _entry(wheel, archive, *job), checked))
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise _fail(wheel, f"corrupt zip archive ({exc}); download the wheel again") from None
    except FileNotFoundError:
        raise _fail(wheel, "no such file") from None
    except OSError as exc:
        raise _fail(wheel, f"cannot read or unpack it: {exc}") from None
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
        return parse_metadata_file(_parsed(wheel.name, entry).decode("utf-8"))
    except UnicodeDecodeError:
        raise _fail(wheel, f"{path} is not UTF-8") from None


def _epoch(date_time: tuple[int, int, int, int, int, int]) -> int:
    return calendar.timegm((*date_time, 0, 0, 0))
