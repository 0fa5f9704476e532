"""Seed recipes build offline against a channel of their own (``seed._template_build``): real engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastconda.errors import EngineError
from fastconda.seed._template_build import build_template_offline

RECIPE = """
package:
  name: NAME
  version: "1.0"
build:
  noarch: generic
  script: echo hello > "$PREFIX/NAME.txt"
requirements:
  build: [NEEDS]
"""


def _recipe(name: str, needs: str = "") -> str:
    text = RECIPE.replace("NAME", name).replace("NEEDS", needs)
    return text if needs else text.replace("requirements:\n  build: []\n", "")


def test_a_seed_recipe_is_solved_only_from_the_packages_it_is_given(tmp_path: Path) -> None:
    (base,) = build_template_offline("base", lambda work, recipe: _recipe("seed-base"), tmp_path / "base")
    assert base.name.startswith("seed-base-1.0-") and base.name.endswith(".conda")

    def render(work: Path, recipe: Path) -> str:
        assert recipe.parent == work  # the recipe folder is in the scratch folder, for licenses
        return _recipe("seed-top", "seed-base")

    (top,) = build_template_offline("top", render, tmp_path / "top", needed=[base])
    assert top.parent == tmp_path / "top"
    with pytest.raises(EngineError):  # the same recipe without the package: no other channel to reach
        build_template_offline("top", render, tmp_path / "again")
    assert not list((tmp_path / "again").iterdir())
