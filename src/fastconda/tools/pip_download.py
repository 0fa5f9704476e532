"""pip, the one tool that talks to a package index: ``pip download`` one distribution for a target.

The fill finds wheels in local folders itself (:mod:`fastconda.wheel.finder`); only what no folder has
is asked of the index, one requirement at a time and without dependencies (the fill resolves those
against the conda channels, not against PyPI). pip reads its own configuration (index URL, credentials
for that index, proxies): fastconda passes none of it on, so credentials stay with the index they are for.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
import tempfile
from pathlib import Path

from fastconda import _proc
from fastconda.errors import CommandError, WheelError

__all__ = ["download", "download_command"]

_NOT_FOUND = re.compile(r"No matching distribution found|Could not find a version that satisfies")
TIMEOUT = 600.0


def _target_args(python: str, platform: str) -> list[str]:
    """pip's options for CPython *python* on conda *platform* (this machine's platform tags)."""
    from packaging.tags import platform_tags

    from fastconda.wheel.target import host_subdir

    if platform != host_subdir():
        msg = f"wheels can be downloaded for this machine's platform {host_subdir()} only, not {platform}"
        raise WheelError(msg)
    abi = "cp" + python.replace(".", "")
    args = ["--python-version", python, "--implementation", "cp"]
    args += ["--abi", abi, "--abi", "abi3", "--abi", "none"]
    for tag in platform_tags():
        args += ["--platform", tag]
    return args


def download_command(requirements: list[str], dest: str, *, python: str, sdist: bool = False) -> str:
    """The command a user runs on a machine with access to the index (shown when offline)."""
    kind = ["--no-binary=:all:"] if sdist else ["--only-binary=:all:", "--python-version", python]
    quoted = " ".join(shlex.quote(r) for r in requirements)
    return f"pip download --no-deps {' '.join(kind)} -d {shlex.quote(dest)} {quoted}"


def download(requirement: str, dest: Path, *, python: str, platform: str, sdist: bool = False) -> Path | None:
    """Download the best wheel (or with *sdist*, the source distribution) for *requirement* into
    *dest*; None when the index has none. Other failures (no network, a bad index) raise."""
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fastconda-pip-", dir=dest) as scratch:
        kind = ["--no-binary=:all:"] if sdist else ["--only-binary=:all:", *_target_args(python, platform)]
        command = [
            sys.executable, "-m", "pip", "--disable-pip-version-check", "download", "--no-deps",
            "--quiet", *kind, "--dest", scratch, requirement,
        ]  # fmt: skip
        try:
            _proc.run(command, env={**os.environ, "PIP_NO_INPUT": "1"}, timeout=TIMEOUT)
        except CommandError as exc:
            if _NOT_FOUND.search(exc.output):
                return None
            raise
        got = sorted(Path(scratch).iterdir())
        if len(got) != 1:
            return None
        target = dest / got[0].name
        got[0].replace(target)
        return target
