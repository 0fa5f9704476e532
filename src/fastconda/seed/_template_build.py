"""Build a seed recipe offline: the one way host Python and the C++ packages are made with the engine.

A recipe rendered from a bundled template is written into a scratch folder and built by the
rattler-build engine against a local channel of its own (empty, or holding the packages the build
environment needs): the engine is never given a channel that could reach the network. The
package files are moved out before the scratch folder goes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from fastconda.channel.local import add_packages, channel_url, create_channel
from fastconda.progress import Progress, null_progress
from fastconda.tools import rattler_build as engine

#: (scratch folder, recipe folder) -> recipe text; may put files (a tree to package, licenses) there
Render = Callable[[Path, Path], str]


def build_template_offline(
    name: str,
    render: Render,
    output_dir: Path,
    *,
    needed: Sequence[Path] = (),
    progress: Progress = null_progress,
) -> list[Path]:
    """Build the recipe *render* writes into *output_dir* (conda v3 packages); returns the package files.

    *needed* are the package files the build requirements are solved from. The package's own test
    does not run here (the recipe's build script checks what it needs, which is cheaper).
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"fastconda-{name}-") as scratch:
        work = Path(scratch)
        recipe = work / "recipe" / "recipe.yaml"
        recipe.parent.mkdir()
        recipe.write_text(render(work, recipe.parent), encoding="utf-8")
        build_channel = work / "build-channel"
        create_channel(build_channel)  # even with nothing to install: the engine needs a channel
        if needed:
            add_packages(build_channel, needed, progress=progress)
        outcome = engine.build_recipe(
            recipe,
            channels=[channel_url(build_channel)],
            work_dir=work / "out",
            test=False,
            package_format="conda:3",
            progress=progress,
        )
        return outcome.move_packages(output_dir)
