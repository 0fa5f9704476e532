"""``fastconda env create``: solve and install an environment from explicit channels with rattler."""

from __future__ import annotations

import argparse
from pathlib import Path

from fastconda.channel.local import as_channel_url
from fastconda.cli._ui import ExitCode, Ui


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = subparsers.add_parser(
        "env",
        parents=[common],
        help="create conda environments with rattler (no conda needed)",
        description="Create environments from explicitly named channels only.",
    )
    sub = parser.add_subparsers(dest="env_command", metavar="ACTION", required=True)
    create = sub.add_parser("create", parents=[common], help="solve SPECS and install them into PREFIX")
    create.add_argument("prefix", type=Path, metavar="PREFIX", help="a new or empty folder")
    create.add_argument("specs", nargs="+", metavar="SPEC", help="match specs, e.g. 'python 3.11.*' pytango")
    create.add_argument(
        "-c", "--channel", action="append", required=True, dest="channels",
        help="channel URL or local folder (repeat; only these are used)",
    )  # fmt: skip
    create.set_defaults(handler=_create)


def _create(args: argparse.Namespace, ui: Ui) -> int:
    from fastconda.tools.rattler import create_environment  # imported when used: the CLI starts fast

    env = create_environment(args.prefix, args.specs, channels=[as_channel_url(c) for c in args.channels])
    data = {
        "prefix": str(env.prefix),
        "packages": [p.__dict__ for p in env.packages],
        "solve_seconds": round(env.solve_seconds, 3),
        "install_seconds": round(env.install_seconds, 3),
    }
    human = "\n".join(f"  {p.name} {p.version} {p.build}" for p in env.packages)
    ui.result(data, f"created {env.prefix} ({len(env.packages)} packages):\n{human}")
    return ExitCode.OK
