"""Where a build works: one folder per build under ``<cache>/work/``, removed after success or
interruption and kept after a failure; and the check that the output channel takes new files."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastconda._files import TEMP_PREFIX, file_lock
from fastconda.errors import BuildFailed, ChannelError
from fastconda.pipeline.project import Project

WORK = "work"  # the cache area of build work folders (a failed build's stays there)
KEEP_FAILED = 3  # failed work folders kept per project
WORK_LOCK = ".fastconda-work.lock"  # held by the build that uses the folder


def check_writable(output: Path) -> None:
    """The output channel and its subfolders must take new files: say so before building, not after."""
    folders = [output, *(p for p in sorted(output.iterdir()) if p.is_dir())] if output.is_dir() else []
    if not folders:
        folder = output.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        folders = [folder]
    for folder in folders:
        try:
            fd, probe = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=folder)
        except OSError as exc:
            msg = (
                f"cannot write into {folder}: {exc.strerror}; fix its permissions "
                "or choose another output channel with -o"
            )
            raise ChannelError(msg) from None
        os.close(fd)
        # a writer of the channel holding its lock may have removed it already, as a killed writer's leftover
        with contextlib.suppress(FileNotFoundError):
            os.unlink(probe)


@contextmanager
def work_folder(cache_dir: Path, project: Project) -> Iterator[Path]:
    """A work folder under ``<cache>/work/`` for one build: removed after success or interruption,
    kept after a failure (the error says where; rattler-build's "run the script manually" hints point
    into it). A success also removes this project's earlier failed folders; only the last
    :data:`KEEP_FAILED` failures are kept."""
    name = _project_label(project)
    base = cache_dir.absolute() / WORK
    base.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-", dir=base))
    try:
        with file_lock(work / WORK_LOCK):  # `cache clean` and other builds leave it alone meanwhile
            yield work
    except BuildFailed as exc:
        _prune_work(base, name, keep=KEEP_FAILED)
        kept = exc.with_reason(
            f"{exc.reason}\n  work folder kept: {work} (removed by the next successful build of "
            "this project or `fastconda cache clean`)"
        )
        raise kept from None
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    shutil.rmtree(work, ignore_errors=True)
    _prune_work(base, name, keep=0)


def _project_label(project: Project) -> str:
    label = re.sub(r"[^A-Za-z0-9._+-]+", "_", project.name or project.root.name).strip("._") or "project"
    return label[:64]


def _prune_work(base: Path, name: str, *, keep: int) -> None:
    """Remove this project's work folders but the newest *keep*, never one a running build holds."""
    pattern = re.compile(rf"{re.escape(name)}-\d{{8}}-\d{{6}}-[^/]+")
    folders = sorted(
        (p for p in base.iterdir() if pattern.fullmatch(p.name) and p.is_dir()),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for folder in folders[keep:]:
        try:
            with file_lock(folder / WORK_LOCK, blocking=False):
                shutil.rmtree(folder, ignore_errors=True)
        except (BlockingIOError, FileNotFoundError):
            continue  # in use by a build running now, or already gone
