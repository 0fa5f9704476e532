"""The fill's record: which wheel (and its sha256) became which conda package, next to the channel.

``fill-lock.json`` lists every package a fill added. A later fill — on this machine or another one with
the record copied beside its channel — takes exactly the wheel a record entry names for a requirement it
satisfies, and refuses a wheel of that name with other bytes: the same fill gives the same packages.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastconda._files import write_text_atomic
from fastconda.errors import FillError

if TYPE_CHECKING:
    from fastconda.wheel.finder import Wanted

LOCK_NAME = "fill-lock.json"
FORMAT = 1
MAX_LOCK_BYTES = 8 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Filled:
    """One package a fill added."""

    requirement: str  # the conda requirement that asked for it
    project: str  # PyPI project (normalised)
    version: str
    wheel: str  # the wheel's file name
    wheel_sha256: str
    source: str  # where the wheel was found: "wheel cache", "wheelhouse DIR", "index"
    package: str  # "<subdir>/<file name>" in the channel
    sha256: str  # of the conda package


@dataclasses.dataclass(frozen=True)
class Record:
    entries: tuple[Filled, ...] = ()

    def entry_for(self, want: Wanted) -> Filled | None:
        """The newest recorded wheel of a project that provides *want* in a version it accepts."""
        fitting = [e for e in self.entries if e.project in want.pypi and want.accepts(e.version)]
        return fitting[-1] if fitting else None


def read(path: Path) -> Record:
    """The record at *path* (empty when there is none); a broken record is an error, not ignored."""
    if not path.is_file():
        return Record()
    try:
        if path.stat().st_size > MAX_LOCK_BYTES:
            msg = f"{path}: larger than {MAX_LOCK_BYTES} bytes, not a fill record"
            raise FillError(msg)
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            msg = f"{path}: not a fastconda fill record of format {FORMAT}"
            raise FillError(msg)
        fields = {f.name for f in dataclasses.fields(Filled)}
        entries = tuple(Filled(**{k: str(v) for k, v in e.items() if k in fields}) for e in data["packages"])
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        msg = f"{path}: cannot read the fill record ({exc}); remove it to fill afresh"
        raise FillError(msg) from None
    return Record(entries)


def write(path: Path, record: Record, added: Sequence[Filled], *, python: str, platform: str) -> None:
    """Add *added* to the record at *path* (atomically; an entry for the same package is replaced)."""
    new = {f.package for f in added}
    entries = [e for e in record.entries if e.package not in new] + list(added)
    data: dict[str, Any] = {
        "format": FORMAT,
        "python": python,
        "platform": platform,
        "packages": [dataclasses.asdict(e) for e in sorted(entries, key=lambda e: e.package)],
    }
    write_text_atomic(path, json.dumps(data, indent=1) + "\n")


def verify(wheel: Path, entry: Filled, record: Path) -> None:
    """Refuse a wheel whose bytes differ from the recorded ones."""
    from fastconda.channel.local import file_sha256

    got = file_sha256(wheel)
    if got != entry.wheel_sha256:
        msg = (
            f"{wheel}: sha256 {got} differs from {entry.wheel_sha256} recorded in {record}: the wheel of "
            "that name has other content; remove the entry from the record to take it anyway"
        )
        raise FillError(msg)
