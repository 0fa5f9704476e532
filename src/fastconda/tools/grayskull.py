"""Adapter for grayskull: a local sdist → a conda-build ``meta.yaml``, offline.

Quirks:

- grayskull must get ``--no-use-v1-format``; its v1 output needs conda-recipe-manager, which is
  not installable, and without the flag it writes v0 text into a ``recipe.yaml`` and exits 1.
- importing grayskull takes ~0.6 s of its ~0.7 s on a small sdist. :func:`prewarmed` starts the
  process before the sdist exists: it imports while the sdist is built and then reads its arguments
  from stdin. This is the one subprocess that does not go through ``_proc.run`` (which cannot feed
  a running process); it has the same timeout and error reporting, and ends its process group the
  same way.
- grayskull leaves ``grayskull-*`` and ``pip-dir-*`` folders in the temp folder on every run: it runs
  with ``TMPDIR`` pointing at a private folder that is removed when it is done (``_proc.run`` does the
  same for every command).
- offline, grayskull must not look for an index: without ``PIP_NO_INDEX`` it pip-installs whatever a
  ``setup.py`` imports and retries the network (209 s instead of 2.5 s measured on one real project,
  same recipe). :func:`environ` switches the index off and makes the wheel cache its only source.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

from fastconda import _proc
from fastconda.errors import CommandError, RecipeError
from fastconda.settings import Caches

TIMEOUT = 300.0
# reads one JSON list of arguments from stdin once grayskull is imported
_WAITING = (
    "import json, sys\n"
    "import grayskull.main\n"
    "sys.exit(grayskull.main.main(json.loads(sys.stdin.readline())))\n"
)


class GrayskullError(RecipeError):
    """grayskull failed; ``output`` holds everything it printed (its traceback, say)."""

    def __init__(self, message: str, output: str = "") -> None:
        self.output = output
        super().__init__(message)


def environ(caches: Caches | None) -> dict[str, str] | None:
    """grayskull's environment: with ``caches.offline``, pip has no index and finds only the wheel cache."""
    if caches is None or not caches.offline:
        return None
    return {**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(caches.wheel_cache)}


def _arguments(sdist: Path, out_dir: Path) -> list[str]:
    return ["pypi", str(sdist), "--no-use-v1-format", "-o", str(out_dir)]


def _found(sdist: Path, out_dir: Path) -> Path:
    found = sorted(out_dir.glob("*/meta.yaml"))
    if not found:
        msg = f"grayskull wrote no meta.yaml for {sdist.name} into {out_dir}"
        raise GrayskullError(msg)
    return found[0]


def generate_meta_yaml(sdist: Path, out_dir: Path, caches: Caches | None = None) -> Path:
    """Run grayskull on *sdist*; returns the path of the ``meta.yaml`` it wrote."""
    out_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "grayskull", *_arguments(sdist, out_dir)]
    try:
        _proc.run(command, env=environ(caches), timeout=TIMEOUT, what=f"grayskull on {sdist.name}")
    except CommandError as exc:
        raise GrayskullError(str(exc), exc.output) from None
    return _found(sdist, out_dir)


class Prewarmed:
    """A grayskull process that has imported itself and waits for its arguments."""

    def __init__(self, caches: Caches | None = None) -> None:
        self._child = _proc.PythonChild(_WAITING, text=True, env=environ(caches))
        self._process = self._child.process

    def generate(self, sdist: Path, out_dir: Path) -> Path:
        """What :func:`generate_meta_yaml` does, in the waiting process."""
        out_dir.mkdir(parents=True, exist_ok=True)
        arguments = _arguments(sdist, out_dir)
        try:
            output, _ = self._process.communicate(json.dumps(arguments) + "\n", timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.close()
            msg = f"grayskull on {sdist.name} did not finish within {TIMEOUT:.0f} s"
            raise RecipeError(msg) from None
        if self._process.returncode:
            command = [sys.executable, "-m", "grayskull", *arguments]
            what = f"grayskull on {sdist.name}"
            failure = CommandError(command, self._process.returncode, output, what=what)
            raise GrayskullError(str(failure), output or "")
        return _found(sdist, out_dir)

    def close(self) -> None:
        """End the process (and anything it started), then remove its temp folder."""
        self._child.close()


def prewarmed(caches: Caches | None = None) -> contextlib.closing[Prewarmed]:
    """grayskull started now, used later; stopped when the block ends, whatever happened."""
    return contextlib.closing(Prewarmed(caches))
