"""``fastconda ci``: CI pipelines that build, test and publish with fastconda."""

from __future__ import annotations

import argparse
from pathlib import Path

from fastconda.cli._ui import ExitCode, Ui
from fastconda.pipeline.ci import CiOptions, init_pipeline
from fastconda.settings import load_settings


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = subparsers.add_parser(
        "ci", parents=[common], help="CI pipelines: build, test and publish on tags with fastconda"
    )
    sub = parser.add_subparsers(dest="ci_command", metavar="ACTION", required=True)
    init = sub.add_parser(
        "init",
        parents=[common],
        help="write .gitlab-ci.yml or .github/workflows/fastconda.yml",
        description=(
            "Write a pipeline: `fastconda build .` (sdist → recipe → noarch check → build + tests), "
            "`fastconda test` of each package (JUnit report), `fastconda publish` on tags, with the "
            "fastconda and rattler caches kept between runs. An existing file is kept unless --force."
        ),
    )
    which = init.add_mutually_exclusive_group()
    which.add_argument("--gitlab", dest="system", action="store_const", const="gitlab", help="(default)")
    which.add_argument("--github", dest="system", action="store_const", const="github")
    init.add_argument("path", type=Path, nargs="?", default=Path(), metavar="PROJECT")
    init.add_argument(
        "-c", "--channel", action="append", dest="channels", metavar="CHANNEL",
        help="channel the pipeline builds against (repeat; default: the project's configured channels)",
    )  # fmt: skip
    init.add_argument(
        "--publish-to", default="", metavar="TARGET",
        help="where tagged builds are published: quetz+https://HOST/CHANNEL (default: set it in CI)",
    )  # fmt: skip
    init.add_argument("--python", metavar="X.Y", help="Python of the CI image (default: the running one)")
    init.add_argument("--force", action="store_true", help="replace an existing pipeline file")
    init.set_defaults(handler=_init, system="gitlab")


def _init(args: argparse.Namespace, ui: Ui) -> int:
    settings = load_settings(args.path)
    defaults = CiOptions()
    options = CiOptions(
        channels=tuple(args.channels or settings.channels),
        publish_to=args.publish_to,
        python=args.python or defaults.python,
    )
    result = init_pipeline(args.path, args.system, options, force=args.force)
    state = "replaced" if result.overwritten else "wrote"
    ui.result(result.to_json(), f"{state} {result.path} ({result.system})")
    return ExitCode.OK
