"""Adapter for grayskull: a local sdist → a conda-build ``meta.yaml``, offline.

Quirk: grayskull must get ``--no-use-v1-format``; its v1 output needs conda-recipe-manager, which is
not installable, and without the flag it writes v0 text into a ``recipe.yaml`` and exits 1.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fastconda import _proc
from fastconda.errors import CommandError, RecipeError


def generate_meta_yaml(sdist: Path, out_dir: Path) -> Path:
    """Run grayskull on *sdist*; returns the path of the ``meta.yaml`` it wrote."""
    out_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "grayskull", "pypi", str(sdist),
        "--no-use-v1-format", "-o", str(out_dir),
    ]  # fmt: skip
    try:
        _proc.run(command, timeout=300, what=f"grayskull on {sdist.name}")
    except CommandError as exc:
        raise RecipeError(str(exc)) from None
    found = sorted(out_dir.glob("*/meta.yaml"))
    if not found:
        msg = f"grayskull wrote no meta.yaml for {sdist.name} into {out_dir}"
        raise RecipeError(msg)
    return found[0]
