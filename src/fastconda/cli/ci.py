"""``fastconda ci``: CI pipelines that build, test and publish with fastconda."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from fastconda.cli._ui import ExitCode, Ui
from fastconda.errors import SettingsError
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
            "fastconda and rattler caches kept between runs. An existing file is kept unless --force. "
            "A folder holding several projects (a repository of many) gets one job per project, in "
            "dependency stages, each building against the packages its dependencies' jobs built: GitLab "
            "through a child pipeline that `fastconda ci plan --gitlab` generates when the pipeline runs, "
            "GitHub as jobs written now and checked against the tree by each run."
        ),
    )
    _add_system(init)
    init.add_argument(
        "path", type=Path, nargs="?", default=Path(), metavar="PATH",
        help="the project, or the folder (repository) holding several (default: .)",
    )  # fmt: skip
    _add_options(init)
    init.add_argument("--force", action="store_true", help="replace an existing pipeline file")
    init.set_defaults(handler=_init, system="gitlab")

    plan = sub.add_parser(
        "plan",
        parents=[common],
        help="print the jobs of the projects under a folder: the GitLab child pipeline, the GitHub workflow",
        description=(
            "Read the projects under PATH as `fastconda build PATH` does (names, dependencies, dependency "
            "order; a cycle or two projects making one package is an error) and print, for --gitlab, the "
            "child pipeline the parent pipeline of `fastconda ci init` triggers: one job per project in "
            "dependency stages; for --github, the workflow. --check FILE (GitHub) fails when the jobs of "
            "FILE no longer match the projects."
        ),
    )
    _add_system(plan)
    plan.add_argument("path", type=Path, nargs="?", default=Path(), metavar="PATH")
    _add_options(plan)
    plan.add_argument(
        "--check", type=Path, metavar="WORKFLOW",
        help="(--github) check that WORKFLOW has one job per project with the right needs; print nothing",
    )  # fmt: skip
    plan.set_defaults(handler=_plan, system="gitlab")


def _add_system(parser: argparse.ArgumentParser) -> None:
    """--gitlab (the default) or --github."""
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--gitlab", dest="system", action="store_const", const="gitlab", help="(default)")
    which.add_argument("--github", dest="system", action="store_const", const="github")


def _add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c", "--channel", action="append", dest="channels", metavar="CHANNEL",
        help="channel the pipeline builds against (repeat; default: the project's configured channels)",
    )  # fmt: skip
    parser.add_argument(
        "--publish-to", default="", metavar="TARGET",
        help="where tagged builds are published: quetz+https://HOST/CHANNEL (default: $FASTCONDA_PUBLISH_TO, "
        "else set it in CI)",
    )  # fmt: skip
    parser.add_argument("--python", metavar="X.Y", help="Python of the CI image (default: the running one)")


def _options(args: argparse.Namespace) -> CiOptions:
    """The pipeline's settings: the flags, else (channels, publish target) what the environment says,
    so that the plan job carries its pipeline's FASTCONDA_CHANNELS and FASTCONDA_PUBLISH_TO over."""
    settings = load_settings(args.path)
    return CiOptions(
        channels=tuple(args.channels or settings.channels),
        publish_to=args.publish_to or os.environ.get("FASTCONDA_PUBLISH_TO", ""),
        python=args.python or CiOptions().python,
    )


def _init(args: argparse.Namespace, ui: Ui) -> int:
    from fastconda.pipeline.project_set import is_project

    options = _options(args)
    many = args.path.is_dir() and not is_project(args.path) and _holds_projects(args.path)
    if many:
        from fastconda.pipeline.ci_set import init_set_pipeline

        result = init_set_pipeline(args.path, args.system, options, force=args.force)
    else:
        result = init_pipeline(args.path, args.system, options, force=args.force)
    state = "replaced" if result.overwritten else "wrote"
    kind = "a job per project" if many else "one project"
    ui.result({**result.to_json(), "set": many}, f"{state} {result.path} ({result.system}, {kind})")
    return ExitCode.OK


def _holds_projects(path: Path) -> bool:
    """Whether a folder that is not a project holds some (else: the single-project pipeline, as before)."""
    from fastconda.errors import ProjectError
    from fastconda.pipeline.project_set import find_projects

    try:
        return bool(find_projects([path]))
    except ProjectError:
        return False


def _plan(args: argparse.Namespace, ui: Ui) -> int:
    from fastconda.pipeline.ci_set import check_github, render_plan

    if args.check is not None:
        if args.system != "github":
            msg = "--check compares a GitHub workflow (--github); a GitLab child pipeline is never stored"
            raise SettingsError(msg)
        check_github(args.path, args.check)
        ui.info(f"{args.check} matches the projects under {args.path}")
        return ExitCode.OK
    text = render_plan(args.path, args.system, _options(args))
    if ui.json_output:
        ui.result({"system": args.system, "pipeline": text}, "")
    else:  # the product itself: printed with -q too
        ui.stdout.write(text)
        ui.stdout.flush()
    return ExitCode.OK
