"""``fastconda pogo-migrate``: a Pogo C++ project → a Pogo-free CMakeLists.txt (sources untouched)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastconda.cxx.migrate import MigrationResult

from fastconda.cli._ui import ExitCode, Ui
from fastconda.cxx.makefile import Unmapped, group


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "pogo-migrate",
        parents=[common],
        help="turn a Pogo C++ Tango server into a plain CMake project",
        description=(
            "Read a Pogo project (Makefile variables and the .xmi; without a Makefile, the .xmi and Pogo's "
            "CMakeLists.txt) and write a CMakeLists.txt that needs no "
            "Pogo installation: find_package(Tango) or pkg-config tango, C++17, install rules. Sources are "
            "not touched; running it again changes nothing. Exits 3 with a report when some Makefile "
            "construct could not be carried over."
        ),
    )
    parser.add_argument("directory", type=Path, help="the Pogo project folder (Makefile, X.xmi, sources)")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the CMakeLists.txt and the report; write nothing"
    )
    parser.add_argument(
        "--force", action="store_true", help="replace a CMakeLists.txt that fastconda did not write"
    )
    parser.add_argument(
        "--version",
        dest="server_version",
        metavar="X.Y",
        help=(
            "the server's version (it replaces MAJOR_VERS/MINOR_VERS); without it and without them, the "
            "version recorded in the .xmi, else the newest git tag's, else 0.1.0 with a warning"
        ),
    )
    parser.set_defaults(handler=_handler)


def _handler(args: argparse.Namespace, ui: Ui) -> int:
    from fastconda.cxx.migrate import migrate  # loaded when the command runs: the CLI starts fast

    result = migrate(args.directory, dry_run=args.dry_run, force=args.force, version=args.server_version)
    for note in result.project.notes:
        if ui.verbosity >= 1:
            ui.info(f"note: {note}")
    for line in group([u for u in result.unmapped if u.affects_build]):
        ui.warn(f"not migrated: {line}")
    for line in group([u for u in result.unmapped if not u.affects_build]):
        ui.info(f"not migrated (the build does not need it): {line}")
    if result.backup is not None:
        verb = "would move" if args.dry_run else "moved"
        ui.info(f"{verb} Pogo's own CMakeLists.txt to {result.backup.name}")
    ui.result(_data(result, dry_run=args.dry_run), _human(result, dry_run=args.dry_run))
    return ExitCode.WARNINGS if _affecting(result) else ExitCode.OK


def _human(result: MigrationResult, *, dry_run: bool) -> str:
    if dry_run:
        return result.text.rstrip("\n")
    state = "written" if result.written else "unchanged"
    spec = result.project.spec
    version = spec.version
    source = result.project.version_from
    xmi_only = result.project.makefile.suffix == ".xmi"  # no Makefile: built from what the .xmi names
    makefile = "no Makefile" if xmi_only else "no MAJOR_VERS/MINOR_VERS in the Makefile"
    if source == "default":
        version += f" by default: {makefile}, no version in the .xmi or a git tag"
    elif source == "--version":
        version += " from --version"
    elif source != "Makefile":  # no MAJOR_VERS/MINOR_VERS: say where it came from
        version += f" from {source}, {makefile}"
    line = f"{result.path}: {state} (server {spec.name} {version}, {len(spec.sources)} sources)"
    if affecting := _affecting(result):
        kind = "" if xmi_only else "Makefile "
        line += f"; {len(group(affecting))} {kind}construct(s) not migrated, see the warnings"
    return line


def _affecting(result: MigrationResult) -> list[Unmapped]:
    return [u for u in result.unmapped if u.affects_build]


def _data(result: MigrationResult, *, dry_run: bool) -> dict[str, Any]:
    spec = result.project.spec
    return {
        "path": str(result.path),
        "dry_run": dry_run,
        "written": result.written,
        "changed": result.changed,
        "backup": str(result.backup) if result.backup else None,
        "server": spec.name,
        "version": spec.version,
        "version_from": result.project.version_from,
        "class": result.project.class_name,
        "parents": list(result.project.parents),
        "sources": list(spec.sources),
        "cmakelists": result.text if dry_run else None,
        "unmapped": [
            {
                "file": u.file,
                "line": u.line,
                "end_line": u.end_line or u.line,
                "text": u.text,
                "reason": u.reason,
                "affects_build": u.affects_build,
            }
            for u in result.unmapped
        ],
        "notes": list(result.project.notes),
    }
