"""Build a project's sdist with PyPA ``build``, offline when the backend is at hand.

Without build isolation when the running environment already satisfies the backend's
``build-system.requires`` (fast, no network); otherwise isolated, with pip pointed at the wheel
cache only when offline.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from fastconda import _proc
from fastconda.errors import CommandError, ProjectError


def _backend_available(root: Path) -> bool:
    from build import ProjectBuilder
    from build.env import DefaultIsolatedEnv  # noqa: F401 - imported to check build is complete

    try:
        builder = ProjectBuilder(root)
    except Exception:  # noqa: BLE001 - build raises several types for broken projects
        return False
    from build import check_dependency

    return not any(tuple(check_dependency(req)) for req in builder.build_system_requires)


def build_sdist(root: Path, out_dir: Path, *, offline: bool, wheel_cache: Path) -> Path:
    """Build the sdist of *root* into *out_dir* and return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "build", "--sdist", "--outdir", str(out_dir)]
    env = dict(os.environ)
    if _backend_available(root):
        command.append("--no-isolation")
    elif offline:
        env.update({"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheel_cache)})
    try:
        _proc.run([*command, str(root)], env=env, timeout=900, what=f"building the sdist of {root}")
    except CommandError as exc:
        raise ProjectError(str(exc)) from None
    sdists = sorted(out_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not sdists:
        msg = f"building the sdist of {root} produced no .tar.gz in {out_dir}"
        raise ProjectError(msg)
    return sdists[-1]
