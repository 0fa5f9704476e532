"""Atomic file writes (a temp file in the same folder, then ``os.replace``), folders made in scratch
then renamed into place (:func:`build_into`, with one ready marker), and file locks.

Every temp file is created the way ``open()`` creates a new file (mode 0666 less the umask, so 0644
under the usual umask 022), not with ``mkstemp``'s 0600: a file written here ends up in a channel a
web server serves, a recipe a colleague reads, or a CI file another account runs.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from fastconda.errors import ProjectError

TEMP_PREFIX = ".fastconda-tmp-"
#: a folder being made by :func:`build_into` is ``<SCRATCH_PREFIX><target name>-<random>``, next to its target
SCRATCH_PREFIX = ".tmp-"
#: the file in a finished folder (made by :func:`build_into`, or in place by :func:`mark_ready`)
READY = ".fastconda-ready"
#: bytes of a project's build file read whole (a Makefile, a CMakeLists.txt, a Pogo .xmi): real ones have kB
MAX_PROJECT_FILE = 4 << 20
_FICLONE = 0x40049409  # linux/fs.h: share the source's extents (btrfs, xfs, ...), copy-on-write


def file_digests(path: Path, *algorithms: str) -> tuple[str, ...]:
    """The hex digests of *path*'s content, one per hashlib algorithm name, in one pass."""
    digests = [hashlib.new(name, usedforsecurity=name != "md5") for name in algorithms]
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            for digest in digests:
                digest.update(block)
    return tuple(d.hexdigest() for d in digests)


def read_text_head(path: Path, limit: int) -> tuple[str, bool]:
    """The first *limit* bytes of *path* as text (UTF-8, undecodable bytes replaced) and whether that is
    all of it. Files of a project under build are read this way: a huge or endless one (a merge request
    from anyone, a link to /dev/zero) costs *limit* bytes, never all the memory."""
    data = _head(path, limit)
    return data[:limit].decode("utf-8", errors="replace"), len(data) <= limit


def read_project_file(
    path: Path, what: str, limit: int = MAX_PROJECT_FILE, *, errors: str = "replace"
) -> str:
    """The whole text of a project file that is only understood whole (*what*: "a Pogo Makefile");
    a larger one is refused with a :class:`ProjectError` that names it. OSError passes through, and
    with ``errors="strict"`` (TOML must be UTF-8) UnicodeDecodeError too."""
    data = _head(path, limit)
    if len(data) > limit:
        size = f"{limit / (1 << 20):g} MiB" if limit >= 1 << 20 else f"{limit} bytes"
        msg = f"{path}: over {size}, too large for {what} (real ones have a few kB): replace or remove it"
        raise ProjectError(msg)
    return data.decode("utf-8", errors=errors)


def _head(path: Path, limit: int) -> bytes:
    """At most *limit* + 1 bytes of *path*: one more than allowed says it is too long."""
    with path.open("rb") as handle:
        return handle.read(limit + 1)


def write_text_atomic(path: Path, text: str) -> None:
    """Replace *path* with *text* so that readers see the old or the new content, never a mix."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Replace *path* with *data* (and permissions *mode*, if given, else the umask's), atomically."""
    with replacing(path, mode=mode) as handle:
        handle.write(data)


def copy_file_atomic(
    source: Path, target: Path, *, mode: int | None = None, check: Callable[[Path], None] | None = None
) -> None:
    """Replace *target* with a copy of *source*: its own inode, never a hard link to the caller's file.

    A link would make the two one file: rebuilding or truncating *source* would change *target*,
    and a chmod of *target* would change *source*. The copy is a reflink where the file system
    offers one, else an in-kernel copy (``copy_file_range``). *check* sees the finished temp file
    before it is renamed into place (it raises to refuse it).
    """
    with replacing(target, mode=mode, check=check) as handle, source.open("rb") as original:
        _copy_contents(original, handle)


@contextlib.contextmanager
def replacing(
    path: Path, *, mode: int | None = None, check: Callable[[Path], None] | None = None
) -> Iterator[BinaryIO]:
    """A file to write that replaces *path* atomically when the block ends without an error.

    The temp file lives in *path*'s folder (a rename within one file system) under
    :data:`TEMP_PREFIX`, so that the next writer of a channel can remove what a killed one left.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temp(path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
        if mode is not None:
            os.chmod(tmp, mode)
        if check is not None:
            check(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _create_temp(folder: Path) -> tuple[int, Path]:
    """A new, empty file in *folder* with the umask-derived mode (``mkstemp`` would give 0600)."""
    for _ in range(100):
        tmp = folder / f"{TEMP_PREFIX}{secrets.token_hex(6)}"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666), tmp
        except FileExistsError:
            continue
    msg = f"cannot create a temporary file in {folder}"
    raise FileExistsError(msg)


def _copy_contents(source: BinaryIO, target: BinaryIO) -> None:
    src, dst = source.fileno(), target.fileno()
    with contextlib.suppress(OSError):
        fcntl.ioctl(dst, _FICLONE, src)
        return
    size = os.fstat(src).st_size
    copied = 0
    try:
        while True:  # until EOF: the file may have grown since fstat
            done = os.copy_file_range(src, dst, max(size - copied, 1 << 20))
            if done == 0:
                return
            copied += done
    except OSError:
        if copied:  # only a failure before the first byte falls back to a copy through user space
            raise
    shutil.copyfileobj(source, target, 1 << 20)


def is_ready(folder: Path) -> bool:
    """Whether *folder* was finished: it holds the :data:`READY` marker."""
    return (folder / READY).is_file()


def mark_ready(folder: Path, note: str = "") -> None:
    """Mark *folder* finished (last, after everything else is in it); *note* says what it holds."""
    (folder / READY).write_text(note, encoding="utf-8")


def scratch_target(name: str) -> str | None:
    """The name of the folder that the scratch folder *name* is being made for (None: not a scratch)."""
    if not name.startswith(SCRATCH_PREFIX):
        return None
    target, sep, _random = name.removeprefix(SCRATCH_PREFIX).rpartition("-")
    return target if sep and target else None


@contextlib.contextmanager
def build_into(target: Path, *, note: str = "") -> Iterator[Path]:
    """A scratch folder to fill, that becomes *target* (marked ready) when the block ends without error.

    The scratch folder lives next to *target* (a rename within one file system), named after it
    (see :func:`scratch_target`: ``cache clean`` finds the lock of the entry it is made for). On an
    error or Ctrl-C it is removed. When two processes make the same *target* at once, the first
    rename wins and the other's folder is discarded: *target* is whole either way, never a mix.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = _create_scratch(target)
    try:
        yield scratch
        mark_ready(scratch, note)
        try:
            os.rename(scratch, target)
        except OSError as exc:
            if exc.errno not in {errno.ENOTEMPTY, errno.EEXIST}:
                raise
            # another process made it first: theirs stays (a non-empty folder is never replaced)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)  # gone already when it was renamed


def _create_scratch(target: Path) -> Path:
    """A new, empty folder next to *target*, with the umask-derived mode (``mkdtemp`` would give 0700)."""
    for _ in range(100):
        scratch = target.parent / f"{SCRATCH_PREFIX}{target.name}-{secrets.token_hex(6)}"
        try:
            scratch.mkdir()
        except FileExistsError:
            continue
        return scratch
    msg = f"cannot create a scratch folder next to {target}"
    raise FileExistsError(msg)


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
