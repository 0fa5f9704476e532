"""``fastconda build``: source tree → tested .conda in a channel."""

from __future__ import annotations

import argparse
from pathlib import Path

from fastconda.channel import as_channel_url, channel_url
from fastconda.cli._ui import ExitCode, Ui
from fastconda.settings import load_settings


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = subparsers.add_parser(
        "build",
        parents=[common],
        help="build a source tree into a tested .conda in a channel",
        description=(
            "Python projects: sdist → grayskull → convert → facility rules → rattler-build (build + test) → "
            "channel. A project's own recipe/recipe.yaml or meta.yaml is used when present."
        ),
    )
    parser.add_argument("path", type=Path, nargs="?", default=Path(), metavar="PATH")
    parser.add_argument(
        "-c", "--channel", action="append", dest="channels", metavar="CHANNEL",
        help="channel to build against (repeat; only these are used; default: the configured channels)",
    )  # fmt: skip
    parser.add_argument("-o", "--output", type=Path, default=Path("output-channel"), help="channel to add to")
    parser.add_argument("--recipe", type=Path, help="use this recipe.yaml or meta.yaml")
    parser.add_argument("--no-test", action="store_true", help="do not run the package tests")
    parser.add_argument("--force", action="store_true", help="rebuild even when nothing changed")
    parser.add_argument("--offline", action="store_true", default=None, help="never use the network")
    parser.add_argument(
        "--pin", action="append", dest="pins", metavar="NAME=VERSION",
        help="variant pin (repeat); adds to [tool.fastconda] pins, e.g. --pin pytango=9.4.2",
    )  # fmt: skip
    parser.add_argument("--allow-arch", action="store_true", help="do not require noarch: python")
    parser.set_defaults(handler=_build)


def _build(args: argparse.Namespace, ui: Ui) -> int:
    from fastconda.build import BuildOptions, build_project  # imported when used: the CLI starts fast
    from fastconda.rules import Rules

    settings = load_settings(args.path, overrides={"offline": args.offline})
    chosen = args.channels or list(settings.channels)
    options = BuildOptions(
        channels=tuple(as_channel_url(c) for c in chosen),
        output=args.output,
        cache_dir=settings.cache_dir,
        wheel_cache=settings.wheel_cache_dir,
        recipe=args.recipe,
        test=not args.no_test,
        force=args.force,
        offline=settings.offline,
        pins=(*settings.pins, *(args.pins or ())),
        rules=Rules(require_noarch=not args.allow_arch),
    )
    with ui.progress() as progress:
        result = build_project(args.path, options, progress=progress)
    for note in result.notes:
        ui.info(f"note: {note}")
    phases = ", ".join(f"{k} {v:.2f} s" for k, v in result.phases.items())
    state = (
        "up to date (skipped)"
        if result.skipped
        else f"built in {sum(result.phases.values()):.1f} s ({phases})"
    )
    human = f"{result.package} {state}\n  sha256 {result.sha256}\n  channel {channel_url(args.output)}"
    ui.result(result.to_json(), human)
    return ExitCode.OK
