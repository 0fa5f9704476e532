"""``fastconda pogo-migrate``: write the Pogo-free ``CMakeLists.txt`` of a Pogo project that
:func:`fastconda.cxx.pogo.read_project` has read, next to its sources (which stay untouched)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from fastconda._files import MAX_PROJECT_FILE, read_text_head, write_text_atomic
from fastconda.cxx.cmake import render_cmakelists
from fastconda.cxx.makefile import Unmapped
from fastconda.cxx.pogo import MARKER, PogoProject, read_project
from fastconda.errors import TangoError

__all__ = ["MigrationResult", "migrate"]


@dataclasses.dataclass(frozen=True)
class MigrationResult:
    project: PogoProject
    path: Path
    text: str
    changed: bool  # False when the file already had exactly this content (or with dry_run)
    written: bool
    backup: Path | None  # Pogo's own CMakeLists.txt, moved aside

    @property
    def unmapped(self) -> tuple[Unmapped, ...]:
        return self.project.unmapped


def migrate(
    root: Path, *, dry_run: bool = False, force: bool = False, version: str | None = None
) -> MigrationResult:
    """Write ``CMakeLists.txt`` for the Pogo project in *root* (idempotent; sources untouched).

    An existing CMakeLists.txt is replaced when fastconda generated it, moved aside to
    ``CMakeLists.txt.pogo`` when Pogo generated it (it includes ``cmake_tango.opt``), and otherwise
    kept unless *force*: then the migration stops with an error.
    """
    project = read_project(root, requested_version=version)
    text = render_cmakelists(project.spec)
    target = project.root / "CMakeLists.txt"
    backup: Path | None = None
    if target.is_file():
        existing, _ = read_text_head(target, MAX_PROJECT_FILE)  # a longer one differs from ours anyway
        if existing == text:
            return MigrationResult(project, target, text, changed=False, written=False, backup=None)
        if "cmake_tango.opt" in existing or "MAKE_ENV" in existing:
            backup = target.with_name("CMakeLists.txt.pogo")
        elif MARKER not in existing.split("\n", 1)[0] and not force:
            msg = (
                f"{target} exists and was not written by fastconda pogo-migrate: move it away, "
                "or pass --force to replace it"
            )
            raise TangoError(msg)
    if dry_run:
        return MigrationResult(project, target, text, changed=True, written=False, backup=backup)
    if backup is not None and not backup.exists():
        target.rename(backup)
    write_text_atomic(target, text)
    return MigrationResult(project, target, text, changed=True, written=True, backup=backup)
