"""The package test of a C++ Tango server, as both build routes run it: ``tango_server_check.sh``
(``recipe_templates/cxx``), its command for the project's ``[test] start`` setting, the notes it prints,
and what a failed start check tells the user to do.

The script checks ``SERVER --help``, then starts the server with ``-nodb`` and, when it does not get
ready, again with Tango's file database (many servers read properties through
``Tango::Util::instance()->get_database()``, which is NULL under ``-nodb``). Ready passes; a clean stop
with a Tango exception from the server's initialisation (hardware absent) passes with a note unless
``start = "ready"``; a crash, a missing library or no answer fails.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from fastconda.settings import SETTINGS_FILE

CHECK_SCRIPT = "tango_server_check.sh"
START_MODES = ("init", "ready", "skip")
DEFAULT_START = "init"
#: the script's lines that are notes for the build's output
NOTE = "fastconda-note: "


def check_command(executable: str, start: str = DEFAULT_START, script: str = CHECK_SCRIPT) -> str:
    """The package test command for *executable* (run where *script* is)."""
    if start not in START_MODES:
        msg = f"start check {start!r}: expected one of {', '.join(START_MODES)}"
        raise ValueError(msg)
    option = "" if start == DEFAULT_START else f" --start {start}"
    return f"bash {script} {executable}{option}"


def check_notes(outputs: Iterable[Sequence[str]]) -> list[str]:
    """The notes the check printed (its Tango exception, its -nodb crash), from the tests' outputs."""
    lines = (line.strip() for output in outputs for line in output)
    return [line[len(NOTE) :] for line in lines if line.startswith(NOTE)]


def failed_start_hint(executable: str, root: Path, package: Path | None) -> str:
    """What to do when the package test of *executable* (the project in *root*) failed: the package
    was built (*package*, when it is known where), and how to change or skip the start check."""
    built = (
        f"the package itself was built ({package}) and is not added to the channel"
        if package is not None
        else "the package itself was built and is not added to the channel"
    )
    return (
        f"  {built}: its test failed. Fix the server (its output is above), or say how to test it in "
        f"{root / SETTINGS_FILE}:\n"
        "      [test]\n"
        f'      start = "skip"   # only `{executable} --help`; "init" (the default): ready, or stopped by\n'
        '                       # a Tango exception from its initialisation; "ready": only ready passes\n'
        f'      commands = ["{executable} --help 2>&1 | grep -i usage"]   # more test commands\n'
        "  (FASTCONDA_TEST_START=skip does the same for one build; --no-test skips every test)"
    )
