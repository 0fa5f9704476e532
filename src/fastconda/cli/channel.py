"""``fastconda channel``: bootstrap a seed channel, add packages, index."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from fastconda.channel import local as channels
from fastconda.cli._fill import add_fill_sources, fill_options
from fastconda.cli._ui import ExitCode, Ui
from fastconda.progress import Progress
from fastconda.settings import Settings, load_settings

if TYPE_CHECKING:
    from fastconda.pipeline.options import BuildOptions


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

    fill = sub.add_parser(
        "fill",
        parents=[common],
        help="add converted PyPI wheels for the requirements the other channels lack",
        description=(
            "For each conda requirement the channels (-c) cannot satisfy, and then for their own "
            "dependencies: find a wheel for the target Python and platform (the wheel cache, each "
            "--find-links folder, then the package index unless --offline), convert it, and add it to DIR "
            "atomically. A requirement the channels satisfy is never shadowed. DIR/fill-lock.json records "
            "each wheel and package (sha256); a later fill takes the recorded wheels. Use DIR as the first "
            "channel: -c DIR -c ... (channel priority is strict)."
        ),
    )
    fill.add_argument("dir", type=Path, metavar="DIR", help="the channel to fill (created when missing)")
    fill.add_argument(
        "requirements", nargs="*", metavar="REQUIREMENT", help="conda requirements, e.g. 'requests >=2.30'"
    )
    fill.add_argument(
        "--project", type=Path, metavar="PATH",
        help="fill what building this project needs (its recipe's build, host, run and test requirements)",
    )  # fmt: skip
    fill.add_argument(
        "-c", "--channel", action="append", dest="channels", metavar="CHANNEL",
        help="channel the requirements are checked against (repeat; default: the configured channels)",
    )  # fmt: skip
    fill.add_argument("--offline", action="store_true", default=None, help="never use the network")
    fill.add_argument("--python", metavar="X.Y", help="target Python (default: the channels' highest)")
    fill.add_argument(
        "--lock", type=Path, metavar="FILE", help="the fill record (default: DIR/fill-lock.json)"
    )
    add_fill_sources(fill)
    fill.set_defaults(handler=_fill)

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


def _fill(args: argparse.Namespace, ui: Ui) -> int:
    import dataclasses

    from fastconda.errors import SettingsError
    from fastconda.pipeline.fill import fill

    settings = load_settings(args.project or Path.cwd(), overrides={"offline": args.offline})
    chosen = args.channels or list(settings.channels)
    if not args.requirements and args.project is None:
        msg = "name the requirements to fill (e.g. 'requests >=2.30') or a project with --project PATH"
        raise SettingsError(msg)
    options = fill_options(args, chosen, settings.wheel_cache_dir, settings.offline, None, python=args.python)
    build = _build_options(options.search_channels, settings)  # how an sdist-only dependency is built
    options = dataclasses.replace(options, lock=args.lock, build=build)
    with ui.progress() as progress:
        requirements = list(args.requirements)
        if args.project is not None:
            requirements += _project_requirements(args.project, build, progress)
        result = fill(requirements, options, progress=progress)
    lines = [f"added {f.package} (from {f.wheel}, {f.source})" for f in result.added]
    lines.append(
        f"{len(result.added)} packages added to {result.channel} in {result.seconds:.1f} s"
        if result.added
        else f"nothing to fill: the channels satisfy {', '.join(requirements)}"
    )
    lines.append(f"  use it first: -c {channels.channel_url(result.channel)} -c ...")
    ui.result(result.to_json(), "\n".join(lines))
    return ExitCode.OK


def _build_options(search: tuple[str, ...], settings: Settings) -> BuildOptions:
    """The options of a build by the fill (a project's recipe, an sdist-only dependency)."""
    from fastconda.pipeline.options import BuildOptions

    return BuildOptions(
        channels=search,
        output=Path("unused"),  # each build by the fill names its own
        cache_dir=settings.cache_dir,
        wheel_cache=settings.wheel_cache_dir,
        offline=settings.offline,
        pins=tuple(settings.pins),
    )


def _project_requirements(project: Path, options: BuildOptions, progress: Progress) -> list[str]:
    """What building *project* needs: its recipe made as ``build --render`` makes it."""
    from fastconda.pipeline.build import render_project
    from fastconda.pipeline.requirements import requirement_sections

    rendered = render_project(project, options, progress=progress)
    sections = requirement_sections(rendered.text)
    return list(dict.fromkeys(spec for specs in sections.values() for spec in specs))


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
