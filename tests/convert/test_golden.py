"""Golden tests: each tests/data/recipes/<case>/meta.yaml converts to exactly recipe.yaml and warnings.txt.

Regenerate after a deliberate change with ``FASTCONDA_REGEN_GOLDEN=1 pytest tests/convert``, then review
the diff of every recipe.yaml by eye: the golden files are the specification, not a snapshot.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fastconda.convert import convert
from tests.convert.helpers import render

REGEN = os.environ.get("FASTCONDA_REGEN_GOLDEN") == "1"


def _variant_config(case: Path) -> Path | None:
    path = case / "conda_build_config.yaml"
    return path if path.is_file() else None


def _check(path: Path, actual: str) -> None:
    if REGEN:
        path.write_text(actual, encoding="utf-8")
        return
    assert path.is_file(), f"{path} is missing: run with FASTCONDA_REGEN_GOLDEN=1 and review it"
    assert actual == path.read_text(encoding="utf-8")


def test_conversion_matches_golden_recipe_and_warnings(case: Path) -> None:
    result = convert(case / "meta.yaml", variant_config=_variant_config(case), filename="meta.yaml")
    _check(case / "recipe.yaml", result.recipe_text)
    _check(case / "warnings.txt", "".join(w.format() + "\n" for w in result.warnings))
    if result.variants_text is not None:
        _check(case / "variants.yaml", result.variants_text)


@pytest.mark.parametrize("platform", ["linux-64", "noarch"])
def test_golden_recipe_renders_with_rattler_build(case: Path, platform: str, tmp_path: Path) -> None:
    recipe = (case / "recipe.yaml").read_text(encoding="utf-8")
    variants_file = case / "variants.yaml"
    variants = variants_file.read_text(encoding="utf-8") if variants_file.is_file() else ""
    if "it will not render" in (case / "warnings.txt").read_text(encoding="utf-8"):
        # the conversion said so: what v1 cannot express was kept visible, and the engine refuses it
        with pytest.raises(Exception, match=r"(?i)render|undefined|unknown"):
            render(recipe, platform, tmp_path, variants)
        return
    rendered = render(recipe, platform, tmp_path, variants)
    assert rendered or "skip" in recipe, "no variant rendered although nothing is skipped"
