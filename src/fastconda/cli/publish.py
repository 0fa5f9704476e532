"""``fastconda publish``: packages → a local channel or a Quetz server."""

from __future__ import annotations

import argparse
from pathlib import Path

from fastconda.channel.publish import API_KEY_ENV, DEFAULT_INDEX_WAIT, DEFAULT_TIMEOUT, publish
from fastconda.cli._ui import ExitCode, Ui


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = subparsers.add_parser(
        "publish",
        parents=[common],
        help="publish .conda packages to a local channel or a Quetz server",
        description=(
            "Publish packages to a channel folder (atomic, safe under concurrent publishers) or to "
            f"quetz+https://HOST/CHANNEL with the API key from ${API_KEY_ENV}. Every package and every "
            "conflict is checked before anything is written; a package that is already there with the "
            "same content is left alone, with other content it is an error."
        ),
    )
    parser.add_argument("packages", type=Path, nargs="+", metavar="PKG", help=".conda or .tar.bz2 files")
    parser.add_argument(
        "--to", required=True, metavar="TARGET",
        help="a channel folder, or quetz+https://HOST/CHANNEL (quetz+http:// for a local test server)",
    )  # fmt: skip
    parser.add_argument(
        "--replace", action="store_true", help="overwrite a package that exists with other content"
    )
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per HTTP request (Quetz)"
    )
    parser.add_argument(
        "--index-wait", type=float, default=DEFAULT_INDEX_WAIT, metavar="SECONDS",
        help="how long to wait for Quetz to list the uploads in its index (0: do not wait)",
    )  # fmt: skip
    parser.set_defaults(handler=_publish)


def _publish(args: argparse.Namespace, ui: Ui) -> int:
    with ui.progress() as progress:
        result = publish(
            args.packages,
            args.to,
            replace=args.replace,
            timeout=args.timeout,
            index_wait=args.index_wait,
            progress=progress,
        )
    lines = [f"{p.state:9} {p.subdir}/{p.filename}" for p in result.packages]
    lines.append(f"channel {result.channel_url} ({result.seconds:.2f} s)")
    ui.result(result.to_json(), "\n".join(lines))
    if not result.indexed:
        ui.warn(
            f"the server has not listed every upload in its index after {args.index_wait:.0f} s; "
            "they are stored and will appear when Quetz finishes indexing"
        )
        return ExitCode.WARNINGS
    return ExitCode.OK
