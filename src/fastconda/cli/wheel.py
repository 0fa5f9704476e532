"""``fastconda wheel``: turn built wheels into ``.conda`` packages, optionally straight into a channel."""

from __future__ import annotations

import argparse
import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastconda.cli._ui import ExitCode, Ui
from fastconda.errors import SettingsError
from fastconda.settings import load_settings


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = subparsers.add_parser(
        "wheel",
        parents=[common],
        help="convert wheels into .conda packages (pure → noarch: python, binary → linux-64 ...)",
        description=(
            "Convert each WHEEL into a .conda package: pure wheels become noarch: python packages with "
            "their entry points, binary wheels packages for one Python and platform. Every RECORD hash is "
            "verified; a bad wheel is an error and nothing is written. Exits 3 when a conversion had "
            "warnings (dropped URL requirements, unknown extras, ...)."
        ),
    )
    parser.add_argument("wheels", type=Path, nargs="+", metavar="WHEEL")
    parser.add_argument(
        "-o", "--output", type=Path, metavar="DIR",
        help="folder for the packages (default: the current folder; with --channel: none)",
    )  # fmt: skip
    parser.add_argument(
        "--channel", type=Path, metavar="DIR", help="add the packages to this local channel (atomic)"
    )
    parser.add_argument(
        "--name-map", type=Path, metavar="FILE",
        help="PyPI → conda names (TOML, YAML or JSON mapping); overrides the built-in table",
    )  # fmt: skip
    parser.add_argument("--python", metavar="X.Y", help="target Python (default: the wheel's, else this one)")
    parser.add_argument(
        "--extras", action="append", default=[], metavar="EXTRA",
        help="include the requirements of these extras (comma separated or repeated)",
    )  # fmt: skip
    parser.add_argument(
        "--platform", metavar="SUBDIR", help="conda platform of binary wheels (default: this)"
    )
    parser.add_argument("--build-number", type=int, default=0, metavar="N")
    parser.add_argument(
        "--replace", action="store_true", help="with --channel: overwrite a package with other content"
    )
    parser.add_argument(
        "--max-unpacked-size", type=float, default=8.0, metavar="GIB",
        help="refuse a wheel that unpacks to more than this many GiB (default: 8; zip bomb guard)",
    )  # fmt: skip
    parser.set_defaults(handler=_wheel)


@contextmanager
def _stage_logs_muted() -> Iterator[None]:
    """The stage logs its warnings; the CLI shows them itself (once) from the results."""
    logger = logging.getLogger("fastconda.wheel.convert")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _wheel(args: argparse.Namespace, ui: Ui) -> int:
    from fastconda.channel import local as channels
    from fastconda.wheel import WheelLimits, WheelOptions, load_name_map, wheels_to_conda

    if not args.max_unpacked_size > 0:
        msg = f"--max-unpacked-size must be a positive number of GiB, got {args.max_unpacked_size}"
        raise SettingsError(msg)
    settings = load_settings(Path.cwd(), overrides={"python": args.python})
    options = WheelOptions(
        python=settings.python,
        name_map=load_name_map(args.name_map) if args.name_map else {},
        extras=tuple(e.strip() for item in args.extras for e in item.split(",") if e.strip()),
        build_number=args.build_number,
        compression_level=settings.compression_level,
        platform=args.platform,
        limits=WheelLimits(total=int(args.max_unpacked_size * (1 << 30))),
    )
    with tempfile.TemporaryDirectory(prefix="fastconda-wheel-") as scratch:
        output = args.output or (Path(scratch) if args.channel else Path.cwd())
        with ui.progress() as progress, _stage_logs_muted():
            packages = wheels_to_conda(args.wheels, output, options, progress=progress)
            added = None
            if args.channel:
                added = channels.add_packages(args.channel, [p.path for p in packages], replace=args.replace)
    lines: list[str] = []
    warnings = 0
    for package in packages:
        where = (
            f"{args.channel}/{package.subdir}/{package.path.name}"
            if args.output is None
            else str(package.path)
        )
        points = f", {len(package.entry_points)} entry points" if package.entry_points else ""
        lines.append(f"wrote {where} ({package.subdir}, {len(package.depends)} depends{points})")
        for warning in package.warnings:
            warnings += 1
            ui.warn(f"{package.name}: {warning}")
    if added is not None:
        lines.append(f"channel {args.channel}: {len(added.added)} added, {len(added.unchanged)} unchanged")
    data = {
        "packages": [
            {
                "path": str(p.path) if args.output is not None else None,
                "name": p.name,
                "version": p.version,
                "build": p.build,
                "subdir": p.subdir,
                "depends": list(p.depends),
                "entry_points": list(p.entry_points),
                "sha256": p.sha256,
                "warnings": list(p.warnings),
            }
            for p in packages
        ],
        "channel": str(args.channel) if args.channel else None,
    }
    ui.result(data, "\n".join(lines))
    return ExitCode.WARNINGS if warnings else ExitCode.OK
