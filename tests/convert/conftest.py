"""Fixtures of the conversion tests: one parameter per golden case under tests/data/recipes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.convert.helpers import RECIPES


def golden_cases() -> list[Path]:
    return sorted(p for p in RECIPES.iterdir() if (p / "meta.yaml").is_file())


@pytest.fixture(params=golden_cases(), ids=lambda p: p.name)
def case(request: pytest.FixtureRequest) -> Path:
    path: Path = request.param
    return path
