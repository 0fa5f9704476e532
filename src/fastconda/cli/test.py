"""``fastconda test``: install a package into a fresh environment and check that it works."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from fastconda.channel.local import as_channel_url
from fastconda.cli._ui import ExitCode, Ui
from fastconda.cxx.server_check import check_notes
from fastconda.settings import load_settings
from fastconda.testing.junit import Outcome

if TYPE_CHECKING:
    from fastconda.testing.package import PackageTestResult


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    parser = subparsers.add_parser(
        "test",
        parents=[common],
        help="install a package into a fresh environment and run its checks",
        description=(
            "Solve and install PKG (a .conda file or a package name) and its test requirements into a new "
            "prefix from the given channels only, then run: imports of its top-level modules, pip check, "
            "'<entry point> --help' (not for taurus applications), your commands, optionally pytest, and the "
            "tests a package file carries (the recipe's tests rattler-build and fastconda build put in it). "
            "Settings come from [tool.fastconda.test] in pyproject.toml, FASTCONDA_TEST_* and these flags. "
            "Exits 1 when a check fails."
        ),
    )
    parser.add_argument("package", metavar="PKG", help="a .conda file, or a package name / match spec")
    parser.add_argument(
        "-c", "--channel", action="append", default=[], dest="channels", metavar="CHANNEL",
        help="channel URL or local folder (repeat; only these are used; default: the settings' channels)",
    )  # fmt: skip
    parser.add_argument(
        "--command", action="append", dest="commands", metavar="CMD",
        help="a shell command to run in the environment (repeat; replaces the configured commands)",
    )  # fmt: skip
    parser.add_argument(
        "--import", action="append", dest="imports", metavar="MODULE",
        help="import these modules instead of the package's top-level modules (repeat)",
    )  # fmt: skip
    parser.add_argument("--skip-import", action="append", dest="skip_imports", metavar="MODULE")
    parser.add_argument("--skip-entry-point", action="append", dest="skip_entry_points", metavar="NAME")
    parser.add_argument(
        "--require", action="append", dest="requires", metavar="SPEC", help="extra test requirement (repeat)"
    )
    parser.add_argument("--pytest", type=Path, metavar="PATH", help="run this test suite with pytest")
    parser.add_argument("--no-pip-check", dest="pip_check", action="store_false", default=None)
    parser.add_argument("--no-entry-points", dest="entry_points", action="store_false", default=None)
    parser.add_argument(
        "--no-package-tests", dest="package_tests", action="store_false", default=None,
        help="do not run the tests a package file carries (its recipe's tests, in their own environment)",
    )  # fmt: skip
    parser.add_argument("--python", metavar="X.Y", help="Python version of the environment")
    parser.add_argument("--timeout", type=int, metavar="SECONDS", help="time limit of each check")
    parser.add_argument("--junit", type=Path, metavar="FILE", help="write the results as JUnit XML")
    parser.add_argument("--keep", action="store_true", help="keep the environment (its path is printed)")
    parser.set_defaults(handler=_test)


def _test(args: argparse.Namespace, ui: Ui) -> int:
    from fastconda.testing.package import run_package_tests

    flags = {
        name: getattr(args, name)
        for name in (
            "commands", "imports", "skip_imports", "skip_entry_points", "requires",
            "pytest", "pip_check", "entry_points", "timeout", "package_tests",
        )
    }  # fmt: skip
    settings = load_settings(Path.cwd(), overrides={"python": args.python, "test": flags})
    channels = [as_channel_url(c) for c in (args.channels or settings.channels)]
    with ui.progress() as progress:
        result = run_package_tests(
            args.package, channels, settings.test, python=args.python, keep=args.keep, progress=progress
        )
    if args.junit:
        _write_junit(result, args.junit)
    lines = []
    for check in result.checks:
        mark = {Outcome.PASSED: "ok  ", Outcome.FAILED: "FAIL", Outcome.SKIPPED: "skip"}[check.outcome]
        note = f" ({check.output})" if check.outcome is Outcome.SKIPPED else ""
        lines.append(f"{mark} {check.kind}: {check.name} [{check.seconds:.2f} s]{note}")
    for note in check_notes(c.output.splitlines() for c in result.checks if not c.failed):
        ui.info(f"note: {note}")  # a C++ server's start check: the Tango exception it stopped with
    for check in result.failures:  # the cause on the first line, the output below
        name = f"'{check.name}'" if " " in check.name else check.name
        error = check.error or check.output.strip().partition("\n")[0]
        ui.error(f"{check.kind} {name} failed: {error}\n" + _indent(check.output))
    passed = sum(c.outcome is Outcome.PASSED for c in result.checks)
    summary = (
        f"{result.name} {result.version} {result.build}: {passed} passed, {len(result.failures)} failed "
        f"in {result.seconds:.2f} s (solve {result.solve_seconds:.2f} s, "
        f"install {result.install_seconds:.2f} s)"
    )
    if result.kept:
        summary += f"\n  environment kept at {result.prefix}"
    ui.result(result.to_json(), "\n".join([*lines, summary]))
    return ExitCode.OK if result.ok else ExitCode.FAILURE


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.rstrip().splitlines()[-60:])


def _write_junit(result: PackageTestResult, path: Path) -> None:
    """Write ``result`` as JUnit XML, one testcase per check."""
    from fastconda.testing import junit

    cases = [
        junit.Case(f"{result.name}.{c.kind}", c.name, c.outcome, c.seconds, c.output) for c in result.checks
    ]
    junit.write_junit(path, f"fastconda test {result.name}", cases, result.seconds)
