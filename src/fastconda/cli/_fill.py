"""The options ``build --fill`` and ``channel fill`` share: where wheels come from, names, the target."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from fastconda.channel.local import as_channel_url

if TYPE_CHECKING:
    from fastconda.pipeline.fill import FillOptions


def add_fill_sources(parser: argparse._ActionsContainer) -> None:
    parser.add_argument(
        "--find-links", type=Path, action="append", default=[], metavar="WHEELHOUSE",
        help="a folder of wheels to fill from, after the wheel cache (repeat)",
    )  # fmt: skip
    parser.add_argument(
        "--name-map", type=Path, metavar="FILE",
        help="PyPI → conda names (TOML, YAML or JSON mapping) beside the built-in table",
    )  # fmt: skip


def fill_options(
    args: argparse.Namespace,
    channels: Sequence[str],
    wheel_cache: Path,
    offline: bool,
    pins: Sequence[str] | None,
    *,
    python: str | None = None,
) -> FillOptions:
    """The fill's options from the parsed arguments (``args.fill`` or ``args.dir`` is the channel)."""
    from fastconda.pipeline.fill import FillOptions
    from fastconda.wheel import load_name_map

    channel: Path = args.fill if getattr(args, "fill", None) is not None else args.dir
    pinned = [p.split("=", 1)[1] for p in pins or () if p.replace(" ", "").startswith("python=")]
    return FillOptions(
        channel=channel,
        channels=tuple(as_channel_url(c) for c in channels),
        wheel_cache=wheel_cache,
        find_links=tuple(args.find_links),
        offline=offline,
        python=python or (".".join(pinned[-1].strip().split(".")[:2]) if pinned else None),
        name_map=load_name_map(args.name_map) if args.name_map else {},
    )
