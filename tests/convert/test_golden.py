"""Golden tests: each tests/data/recipes/<case>/meta.yaml converts to exactly recipe.yaml and warnings.txt,
and the engine renders recipe.yaml to the packages pinned in renders.txt.

Regenerate after a deliberate change with ``FASTCONDA_REGEN_GOLDEN=1 pytest tests/convert``, then review
the diff of every recipe.yaml by eye: the golden files are the specification, not a snapshot.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from fastconda.convert import convert
from tests.convert.helpers import render

REGEN = os.environ.get("FASTCONDA_REGEN_GOLDEN") == "1"
PLATFORMS = ("linux-64", "noarch")


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


def _summary(platform: str, variant: dict[str, Any]) -> str:
    """One rendered variant as a line: what the engine made of the converted recipe."""
    package = variant["package"]
    build = variant.get("build", {})
    run = variant.get("requirements", {}).get("run", [])
    noarch = f" noarch={build['noarch']}" if build.get("noarch") else ""
    deps = ", ".join(sorted(d if isinstance(d, str) else json.dumps(d, sort_keys=True) for d in run)) or "-"
    return f"{platform}: {package['name']} {package['version']}{noarch} run: {deps}"


def test_golden_recipe_renders_with_rattler_build(case: Path, tmp_path: Path) -> None:
    """The engine renders every converted recipe for linux-64 and noarch to the pinned packages."""
    recipe = (case / "recipe.yaml").read_text(encoding="utf-8")
    variants_file = case / "variants.yaml"
    variants = variants_file.read_text(encoding="utf-8") if variants_file.is_file() else ""
    if "it will not render" in (case / "warnings.txt").read_text(encoding="utf-8"):
        # the conversion said so: what v1 cannot express was kept visible, and the engine refuses it
        for platform in PLATFORMS:
            with pytest.raises(Exception, match=r"(?i)render|undefined|unknown"):
                render(recipe, platform, tmp_path, variants)
        return
    lines = [
        _summary(platform, variant)
        for platform in PLATFORMS
        for variant in render(recipe, platform, tmp_path, variants)
    ]
    _check(case / "renders.txt", "".join(line + "\n" for line in lines))
