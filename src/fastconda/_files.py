"""Atomic file writes (a temp file in the same folder, then ``os.replace``) and exclusive file locks."""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

TEMP_PREFIX = ".fastconda-tmp-"


def write_text_atomic(path: Path, text: str) -> None:
    """Replace *path* with *text* so that readers see the old or the new content, never a mix."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Replace *path* with *data* (and permissions *mode*, if given), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def file_lock(lock: Path, *, shared: bool = False, blocking: bool = True) -> Iterator[None]:
    """Hold an exclusive (or *shared*) ``flock`` on *lock* (created if missing) for the block.

    Users of a cache entry hold it shared; ``fastconda cache clean`` takes it exclusive without
    waiting (``blocking=False`` raises :class:`BlockingIOError` when someone holds it).
    """
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        flags = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | (0 if blocking else fcntl.LOCK_NB)
        fcntl.flock(fd, flags)
        yield
    finally:
        os.close(fd)
