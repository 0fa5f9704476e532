"""Helpers for the conversion tests: rendering v1 recipes with the rattler-build engine."""

from __future__ import annotations

from pathlib import Path

from rattler_build import PlatformConfig, RenderConfig, Stage0Recipe, VariantConfig

RECIPES = Path(__file__).resolve().parent.parent / "data" / "recipes"
# Variant values a render needs that no recipe defines itself (conda-forge's global pinning has them).
BASE_VARIANTS = """\
c_stdlib: [sysroot]
c_stdlib_version: ["2.17"]
python: ["3.11"]
numpy: ["1.26"]
python_min: ["3.9"]
"""


def render(recipe_text: str, platform: str, tmp_path: Path, variants: str = "") -> list[dict[str, object]]:
    """Render a v1 recipe with the engine for one platform: each variant's stage-1 recipe as a dict."""
    config = VariantConfig.from_yaml(BASE_VARIANTS)
    if variants.strip():
        config = config.merge(VariantConfig.from_yaml(variants))
    recipe = Stage0Recipe.from_yaml(recipe_text, recipe_dir=tmp_path)
    rendered = recipe.render(config, RenderConfig(platform=PlatformConfig(target_platform=platform)))
    return [variant.recipe.to_dict() for variant in rendered]
