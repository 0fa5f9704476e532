"""The command-line front end: parse, call a stage, show results, return an exit code.

Each subcommand lives in its own module of this package and exposes
``register(subparsers) -> None``; ``register`` adds a parser and sets ``handler`` with
``parser.set_defaults(handler=fn)`` where ``fn(args, ui) -> int``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import signal
import sys
from collections.abc import Sequence

from fastconda.cli._ui import ExitCode, Ui
from fastconda.errors import FastcondaError, SettingsError

__all__ = ["ExitCode", "main", "run"]

#: subcommand → the module of this package that registers it, in the order of the help. A run loads
#: only its own command's module (and what that imports): the others cost ~50 ms of start-up.
COMMANDS = {
    "build": "build",
    "channel": "channel",
    "env": "env",
    "convert": "convert",
    "wheel": "wheel",
    "test": "test",
    "publish": "publish",
    "cxx": "cxx",
    "pogo-migrate": "pogo",
    "ci": "ci",
    "cache": "cache",
}


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so main() decides the exit code."""

    def error(self, message: str) -> None:  # type: ignore[override]
        msg = f"{self.prog}: error: {message}\n{self.format_usage().strip()}"
        raise _UsageError(msg)


class _UsageError(Exception):
    pass


def _common_options(*, top: bool) -> argparse.ArgumentParser:
    """-v/-q/--json, accepted before and after the subcommand.

    The subcommand copies default to SUPPRESS so they do not overwrite what was given before it.
    """
    common = argparse.ArgumentParser(add_help=False)
    zero: object = 0 if top else argparse.SUPPRESS
    common.add_argument(
        "-v", "--verbose", action="count", default=zero, help="more output (repeat for debug)"
    )
    common.add_argument("-q", "--quiet", action="count", default=zero, help="less output")
    common.add_argument(
        "--json",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="print a machine-readable result on stdout",
    )
    return common


class _Version(argparse.Action):
    """``--version``: the installed version, looked up only when asked for (the CLI starts faster)."""

    def __call__(self, parser: argparse.ArgumentParser, *_args: object, **_kwargs: object) -> None:
        import fastconda

        sys.stdout.write(f"fastconda {fastconda.__version__}\n")
        parser.exit()


def _command(argv: Sequence[str]) -> str | None:
    """The subcommand *argv* names: its first word that is not an option (the top-level options
    take no value); None when there is none."""
    for arg in argv:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            return arg
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser with *command* only when it is one (a run), else with every command (help, errors)."""
    common = _common_options(top=False)
    parser = _Parser(
        prog="fastconda",
        description="Fast conda packaging: convert meta.yaml, build with rattler-build, wheels to .conda.",
        parents=[_common_options(top=True)],
        epilog="Exit codes: " + ", ".join(f"{c.value} {c.name.lower()}" for c in ExitCode),
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in [command] if command in COMMANDS else list(COMMANDS):
        module = importlib.import_module(f"{__name__}.{COMMANDS[name]}")
        module.register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_command(arguments))
    try:
        args = parser.parse_args(arguments)
    except _UsageError as exc:
        print(exc, file=sys.stderr)
        return ExitCode.USAGE
    except SystemExit as exc:  # --help and --version
        return int(exc.code or 0)
    ui = Ui(verbosity=args.verbose - args.quiet, json_output=args.json)
    logging.basicConfig(
        level=logging.DEBUG if ui.verbosity >= 2 else logging.INFO if ui.verbosity == 1 else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return ExitCode.USAGE
    try:
        return int(handler(args, ui))
    except SettingsError as exc:
        ui.error(str(exc))
        return ExitCode.USAGE
    except FastcondaError as exc:
        ui.error(str(exc))
        return ExitCode.FAILURE
    except MemoryError:
        ui.error("out of memory; free some memory or work on smaller inputs")
        return ExitCode.FAILURE
    except BrokenPipeError:  # run() handles the reader leaving
        raise
    except OSError as exc:  # a file fastconda cannot read or write (permissions, a full disk)
        if _interrupted(exc):
            ui.error("interrupted")
            return ExitCode.INTERRUPTED
        where = f": {exc.filename}" if exc.filename else ""
        ui.error(f"{exc.strerror or exc}{where}; check that it exists and that you may write there")
        return ExitCode.FAILURE
    except KeyboardInterrupt:
        ui.error("interrupted")
        return ExitCode.INTERRUPTED


def _interrupted(exc: BaseException) -> bool:
    """Whether *exc* happened while a Ctrl-C unwound the stack (cleaning up after it failed)."""
    seen = 0
    cause = exc.__context__
    while cause is not None and seen < 20:
        if isinstance(cause, KeyboardInterrupt):
            return True
        cause, seen = cause.__context__, seen + 1
    return False


def _terminated(number: int, frame: object) -> None:
    raise KeyboardInterrupt


def run() -> None:
    """Console-script entry point.

    Ends with ``os._exit`` after flushing: rattler's native worker threads can still be winding
    down when the interpreter finalizes, and a thread touching the GIL then aborts the process
    (seen as "PyGILState_Release ... finalizing"), turning a finished command into a crash.
    """
    signal.signal(signal.SIGTERM, _terminated)  # a cancelled CI job: clean up as after Ctrl-C
    try:
        code = main()
    except BrokenPipeError:  # `fastconda ... | head`: the reader left; that is not an error of ours
        code = ExitCode.OK
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    if (proc := sys.modules.get("fastconda._proc")) is not None:  # not loaded: it made no folder
        proc.remove_left_folders()  # what an interrupted command could not remove (no exit handlers run)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)
