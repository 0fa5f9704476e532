"""``fastconda build``: source tree → tested .conda in a channel."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from fastconda.channel.local import as_channel_url, channel_url
from fastconda.cli._fill import add_fill_sources, fill_options
from fastconda.cli._ui import ExitCode, Ui
from fastconda.errors import FastcondaError
from fastconda.settings import load_settings

if TYPE_CHECKING:
    from fastconda.pipeline.options import BuildOptions, BuildResult
    from fastconda.testing import junit

DEFAULT_OUTPUT = Path("output-channel")


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = subparsers.add_parser(
        "build",
        parents=[common],
        help="build a source tree into a tested .conda in a channel",
        description=(
            "Python projects: sdist → grayskull → convert → facility rules → rattler-build (build + test) → "
            "channel. CMake C++ Tango servers: recipe from fastconda's C++ template (compilers, cmake, ninja,"
            " cpptango; tests --help and a start: -nodb, then Tango's file database; a Tango exception "
            "from the device's initialisation passes with a note, a crash fails; [test] start = "
            "init|ready|skip and commands in the project's fastconda.toml change it) → rattler-build → "
            "channel. A project's own "
            "recipe/recipe.yaml or meta.yaml is used when present. --render makes the recipe the same way "
            "and prints it (or writes it to -o FILE) without building. A failed build's first error line "
            "names the step or test that failed and its error; its work folder and the engine's full log are "
            "kept (the error says where) until the next successful build or `fastconda cache clean`."
        ),
    )
    parser.add_argument(
        "paths", type=Path, nargs="*", metavar="PATH",
        help="the project (default: .); several projects, or a folder holding projects, build as a set: in "
        "dependency order, each against the packages just built",
    )  # fmt: skip
    parser.add_argument(
        "-c", "--channel", action="append", dest="channels", metavar="CHANNEL",
        help="channel to build against (repeat; only these are used; default: the configured channels)",
    )  # fmt: skip
    parser.add_argument(
        "-o", "--output", type=Path, metavar="OUTPUT",
        help="channel to add to (default: output-channel); with --render: the file to write, '-' for stdout",
    )  # fmt: skip
    parser.add_argument(
        "--render", action="store_true",
        help="print the final recipe.yaml (after the facility rules) and exit: nothing is built, no channel "
        "is touched; -o FILE writes it there instead (atomically)",
    )  # fmt: skip
    parser.add_argument("--recipe", type=Path, help="use this recipe.yaml or meta.yaml")
    parser.add_argument("--no-test", action="store_true", help="do not run the package tests")
    parser.add_argument("--force", action="store_true", help="rebuild even when nothing changed")
    parser.add_argument(
        "--no-compiler-cache", dest="compiler_cache", action="store_false",
        help="C++ servers (recipe route): compile without ccache, whose cache is kept under the cache folder",
    )  # fmt: skip
    parser.add_argument(
        "--replace", action="store_true",
        help="let the new package replace one of the same file name and other content in the output channel "
        "(a published package must not change: bumping the build number is better)",
    )  # fmt: skip
    parser.add_argument("--offline", action="store_true", default=None, help="never use the network")
    parser.add_argument(
        "--pin", action="append", dest="pins", metavar="NAME=VERSION",
        help="variant pin (repeat); adds to [tool.fastconda] pins, e.g. --pin pytango=9.4.2",
    )  # fmt: skip
    parser.add_argument("--allow-arch", action="store_true", help="do not require noarch: python")
    parser.add_argument(
        "--via", choices=("recipe", "wheel"), default="recipe",
        help="CMake C++ servers: 'wheel' builds a platform wheel with scikit-build-core and converts it "
        "(the same package test runs); default: the rattler-build recipe",
    )  # fmt: skip
    fill = parser.add_argument_group("filling missing requirements from PyPI wheels")
    fill.add_argument(
        "--fill", type=Path, metavar="DIR",
        help="requirements the channels lack are filled from wheels (the wheel cache, --find-links, then "
        "the index unless --offline), converted into the channel DIR, which is used first",
    )  # fmt: skip
    add_fill_sources(fill)
    many = parser.add_argument_group("several projects (a set)")
    many.add_argument(
        "-j", "--jobs", type=int, metavar="N", default=None,
        help="build up to N independent projects at once (default: the CPUs this process may use)",
    )  # fmt: skip
    many.add_argument(
        "--keep-going", action="store_true",
        help="after a failure, build every project that does not depend on it (default: stop)",
    )  # fmt: skip
    many.add_argument(
        "--changed-since", metavar="GIT_REF",
        help="build only the projects with files changed since GIT_REF (or new, untracked) and the "
        "projects of the set that depend on them",
    )  # fmt: skip
    parser.add_argument(
        "--junit", type=Path, metavar="FILE",
        help="write JUnit XML: one testcase per phase and per package test command (also on failure)",
    )  # fmt: skip
    parser.set_defaults(handler=_build)


def _build(args: argparse.Namespace, ui: Ui) -> int:
    from fastconda.cli import _many

    if _many.is_set(args):
        return _many.build_many(args, ui)
    args.path = args.paths[0] if args.paths else Path()
    from fastconda.pipeline.build import build_project  # imported when used: the CLI starts fast

    options = build_options(args, args.path)
    if args.render:
        return _render(args, options, ui)
    try:
        with ui.progress() as progress:
            result = build_project(args.path, options, progress=progress)
    except FastcondaError as exc:
        if args.junit:
            _write_junit(args.junit, args.path.resolve().name, None, exc)
        raise
    if args.junit:
        _write_junit(args.junit, result.name, result, None)
    for note in result.notes:
        ui.info(f"note: {note}")
    phases = ", ".join(f"{k} {v:.2f} s" for k, v in result.phases.items())
    state = (
        "up to date (skipped)"
        if result.skipped
        else f"built in {sum(result.phases.values()):.1f} s ({phases})"
    )
    human = f"{result.package} {state}\n  sha256 {result.sha256}\n  channel {channel_url(options.output)}"
    ui.result(result.to_json(), human)
    return ExitCode.OK


def build_options(args: argparse.Namespace, path: Path) -> BuildOptions:
    """The build options of the project in *path*: its settings ([tool.fastconda]) under the flags."""
    from fastconda.pipeline.options import BuildOptions
    from fastconda.pipeline.rules import Rules

    settings = load_settings(path, overrides={"offline": args.offline})
    chosen = args.channels or list(settings.channels)
    return BuildOptions(
        channels=tuple(as_channel_url(c) for c in chosen),
        output=args.output if args.output is not None and not args.render else DEFAULT_OUTPUT,
        cache_dir=settings.cache_dir,
        wheel_cache=settings.wheel_cache_dir,
        recipe=args.recipe,
        test=not args.no_test,
        force=args.force,
        replace=args.replace,
        offline=settings.offline,
        pins=(*settings.pins, *(args.pins or ())),
        rules=Rules(require_noarch=not args.allow_arch),
        via=args.via,
        compiler_cache=args.compiler_cache,
        start_check=settings.test.start,
        test_commands=settings.test.commands,
        host_requires=settings.host_requires,
        fill=fill_options(args, chosen, settings.wheel_cache_dir, settings.offline, args.pins)
        if args.fill is not None
        else None,
    )


def _render(args: argparse.Namespace, options: BuildOptions, ui: Ui) -> int:
    """``--render``: the final recipe on stdout, or written to ``-o FILE``; notes on stderr."""
    from fastconda._files import write_text_atomic
    from fastconda.errors import RecipeError
    from fastconda.pipeline.build import render_project

    with ui.progress() as progress:
        rendered = render_project(args.path, options, progress=progress)
    for note in rendered.notes:
        ui.info(f"note: {note}")
    target: Path | None = args.output if args.output is not None and str(args.output) != "-" else None
    if target is not None:
        try:
            write_text_atomic(target, rendered.text)
        except OSError as exc:
            msg = f"cannot write the recipe to {target}: {exc.strerror or exc}"
            raise RecipeError(msg) from None
    data = {"recipe": rendered.text, "file": str(target) if target else None, "notes": list(rendered.notes)}
    if ui.json_output:
        ui.result(data, "")
    elif target is None:
        ui.stdout.write(rendered.text)
        ui.stdout.flush()
    else:
        ui.info(f"recipe written to {target}")
    return ExitCode.OK


def _write_junit(path: Path, name: str, result: BuildResult | None, error: FastcondaError | None) -> None:
    """The build as a CI test report: its phases, then its package test commands."""
    from fastconda.testing import junit

    junit.write_suites(path, [junit_suite(name, result, error)])


def junit_suite(name: str, result: BuildResult | None, error: FastcondaError | None) -> junit.Suite:
    """One build's test suite: a testcase per phase and per package test command."""
    from fastconda.errors import BuildFailed
    from fastconda.testing import junit

    passed, failed, skipped = junit.Outcome.PASSED, junit.Outcome.FAILED, junit.Outcome.SKIPPED
    phases = result.phases if result is not None else getattr(error, "phases", {})
    tests = result.tests if result is not None else getattr(error, "tests", ())
    cases = [junit.Case(f"{name}.build", phase, passed, seconds) for phase, seconds in phases.items()]
    cases += [
        junit.Case(f"{name}.test", t.command, passed if t.passed else failed, t.seconds, "\n".join(t.output))
        for t in tests
    ]
    if result is not None and result.skipped:
        cases.append(junit.Case(f"{name}.build", "build", skipped, 0.0, "; ".join(result.notes)))
    if error is not None and not any(c.outcome is failed for c in cases):
        phase = error.phase if isinstance(error, BuildFailed) else "build"
        cases = [c for c in cases if c.name != phase]
        cases.append(junit.Case(f"{name}.build", phase, failed, phases.get(phase, 0.0), str(error)))
    return junit.Suite(f"fastconda build {name}", cases, sum(phases.values()))
