"""``fastconda channel``: bootstrap a seed channel, add packages, index."""

from __future__ import annotations

import argparse
from pathlib import Path

from fastconda.channel import local as channels
from fastconda.cli._ui import ExitCode, Ui
from fastconda.settings import load_settings


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = subparsers.add_parser(
        "channel",
        parents=[common],
        help="local conda channels: bootstrap a seed channel, add packages, index",
        description="Manage local conda channels. Every write is atomic and safe under concurrent writers.",
    )
    sub = parser.add_subparsers(dest="channel_command", metavar="ACTION", required=True)

    boot = sub.add_parser(
        "bootstrap",
        parents=[common],
        help="build a seed channel offline from the host Python and cached PyPI wheels",
        description=(
            "Build a seed channel: python repackaged from the running interpreter, plus the profile's "
            "wheels converted to conda packages. Wheels come from the wheel cache (downloaded on first "
            "use when a registry is reachable). Re-running with the same inputs changes nothing."
        ),
    )
    boot.add_argument("dir", type=Path, metavar="DIR", help="the channel folder (new, empty, or a channel)")
    boot.add_argument(
        "--profile", default="python",
        help="what goes in: python (default), tango (+ pytango, numpy), cxx (+ C++ toolchain, Tango C++)",
    )  # fmt: skip
    boot.add_argument("--offline", action="store_true", default=None, help="never download wheels")
    boot.add_argument("--wheel-cache", type=Path, help="wheel cache folder (default: <cache>/wheels)")
    boot.add_argument("--refresh", action="store_true", help="resolve the wheels again instead of reusing")
    boot.set_defaults(handler=_bootstrap)

    add = sub.add_parser(
        "add",
        parents=[common],
        help="add .conda packages to a channel and re-index it",
        description="Copy packages into DIR/<subdir>/ and re-index, atomically.",
    )
    add.add_argument("dir", type=Path, metavar="DIR")
    add.add_argument("packages", type=Path, nargs="+", metavar="PKG")
    add.add_argument(
        "--replace", action="store_true", help="overwrite a package that exists with other content"
    )
    add.set_defaults(handler=_add)

    index = sub.add_parser("index", parents=[common], help="(re-)write a channel's repodata.json files")
    index.add_argument("dir", type=Path, metavar="DIR")
    index.set_defaults(handler=_index)

    show = sub.add_parser("list", parents=[common], help="list the packages a channel's index holds")
    show.add_argument("dir", type=Path, metavar="DIR")
    show.set_defaults(handler=_list)


def _bootstrap(args: argparse.Namespace, ui: Ui) -> int:
    from fastconda.seed import bootstrap as seed

    settings = load_settings(Path.cwd(), overrides={"offline": args.offline, "wheel_cache": args.wheel_cache})
    with ui.progress() as progress:
        result = seed.bootstrap(args.dir, args.profile, settings, refresh=args.refresh, progress=progress)
    state = "updated" if result.changed else "already up to date"
    human = (
        f"seed channel {result.channel} ({result.profile}) {state}: {len(result.packages)} packages "
        f"in {result.seconds:.1f} s\n  use it with: -c {channels.channel_url(result.channel)}"
    )
    ui.result(result.to_json(), human)
    return ExitCode.OK


def _add(args: argparse.Namespace, ui: Ui) -> int:
    with ui.progress() as progress:
        result = channels.add_packages(args.dir, args.packages, replace=args.replace, progress=progress)
    lines = [f"added {p.subdir}/{p.path.name}" for p in result.added]
    lines += [f"unchanged {p.subdir}/{p.path.name}" for p in result.unchanged]
    data = {
        "channel": str(result.channel),
        "added": [str(p.path) for p in result.added],
        "unchanged": [str(p.path) for p in result.unchanged],
    }
    ui.result(data, "\n".join(lines))
    return ExitCode.OK


def _index(args: argparse.Namespace, ui: Ui) -> int:
    channels.index_channel(args.dir)
    count = len(channels.list_packages(args.dir))
    ui.result({"channel": str(args.dir), "packages": count}, f"indexed {args.dir}: {count} packages")
    return ExitCode.OK


def _list(args: argparse.Namespace, ui: Ui) -> int:
    channels.check_channel_dir(args.dir, create=False)
    records = channels.list_packages(args.dir)
    human = "\n".join(f"{r['subdir']}/{r['name']} {r['version']} {r['build']}" for r in records)
    ui.result({"channel": str(args.dir), "packages": records}, human)
    return ExitCode.OK
