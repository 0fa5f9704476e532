"""--check renders meta.yaml by conda-build's rules and recipe.yaml with rattler-build, and compares."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastconda.convert import ConversionResult, convert
from fastconda.convert.check import check

PLATFORMS = ["linux-64", "linux-aarch64", "osx-arm64", "win-64"]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_golden_conversion_passes_check(case: Path, platform: str) -> None:
    cbc = case / "conda_build_config.yaml"
    variant_config = cbc if cbc.is_file() else None
    result = convert(case / "meta.yaml", variant_config=variant_config)
    report = check(case / "meta.yaml", result, platform=platform, variant_config=variant_config)
    if any(
        "will not render" in w.message or "unknown before the build" in w.message for w in result.warnings
    ):
        # inputs only conda-build has (setup.py data, resolved packages): the check must say it cannot compare
        assert len(report.differences) == 1
        assert "does not render" in report.differences[0]
        return
    assert report.differences == ()


def test_check_reports_a_changed_requirement_precisely() -> None:
    meta = "package:\n  name: p\n  version: '1'\nrequirements:\n  run:\n    - numpy  # [linux]\n    - scipy\n"
    result = convert(meta)
    tampered = ConversionResult(result.recipe_text.replace("then: numpy", "then: numpy >=2"))
    report = check(meta, tampered, platform="linux-64")
    assert report.differences == (
        "p: requirements.run: meta.yaml has [numpy, scipy], recipe.yaml has [numpy >=2, scipy]",
    )


def test_check_notices_a_package_skipped_on_one_side_only() -> None:
    meta = "package:\n  name: p\n  version: '1'\nbuild:\n  skip: true  # [win]\n"
    result = convert(meta)
    tampered = ConversionResult(result.recipe_text.replace("- win", "- osx"))
    assert check(meta, tampered, platform="win-64").differences == (
        "p: built by recipe.yaml but not by meta.yaml",
    )
