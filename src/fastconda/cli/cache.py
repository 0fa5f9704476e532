"""``fastconda cache``: what the cache holds, and removing what can be made again."""

from __future__ import annotations

import argparse
from pathlib import Path

from fastconda.cli._ui import ExitCode, Ui
from fastconda.settings import load_settings


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = subparsers.add_parser(
        "cache",
        parents=[common],
        help="show the cache's size per area, or remove what can be rebuilt",
        description=(
            "The cache (FASTCONDA_CACHE_DIR) keeps build environments, build records, work folders of "
            "failed builds, seed packages and downloads. `clean` removes what fastconda can make again "
            "(never the downloaded wheels and .debs, never what a running build uses)."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser("info", parents=[common], help="cache folder, size and entries per area")
    show.set_defaults(handler=_info)
    clean = actions.add_parser(
        "clean", parents=[common], help="remove rebuildable entries (build envs, records, work folders, ...)"
    )
    clean.add_argument(
        "--older-than", type=_days, metavar="DAYS",
        help="only entries not used for DAYS days (default: all of them)",
    )  # fmt: skip
    clean.set_defaults(handler=_clean)


def _days(text: str) -> float:
    try:
        days = float(text)
    except ValueError:
        days = -1.0
    if not days >= 0:  # also refuses nan
        msg = f"invalid number of days: {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return days


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"  # not reached


def _info(args: argparse.Namespace, ui: Ui) -> int:
    from fastconda.cache import info

    cache_dir = load_settings(Path.cwd()).cache_dir
    areas = info(cache_dir)
    lines = [f"cache {cache_dir} ({_size(sum(a.size for a in areas))})"]
    lines += [f"  {a.name:<11} {_size(a.size):>9}  {a.entries:>4} entries  {a.what}" for a in areas]
    data = {
        "path": str(cache_dir),
        "size": sum(a.size for a in areas),
        "areas": [
            {"name": a.name, "path": str(a.path), "size": a.size, "entries": a.entries,
             "rebuildable": a.rebuildable}
            for a in areas
        ],
    }  # fmt: skip
    ui.result(data, "\n".join(lines))
    return ExitCode.OK


def _clean(args: argparse.Namespace, ui: Ui) -> int:
    from fastconda.cache import clean

    cache_dir = load_settings(Path.cwd()).cache_dir
    done = clean(cache_dir, older_than_days=args.older_than)
    for entry in done.busy:
        ui.info(f"kept {entry}: a running build uses it")
    human = f"removed {len(done.removed)} entries ({_size(done.freed)}) from {cache_dir}"
    if done.kept:
        human += f"; kept {done.kept} entries used in the last {args.older_than:g} day(s)"
    data = {
        "path": str(cache_dir),
        "removed": [str(p) for p in done.removed],
        "freed": done.freed,
        "busy": [str(p) for p in done.busy],
        "kept": done.kept,
    }
    ui.result(data, human)
    return ExitCode.OK
