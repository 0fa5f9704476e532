"""The fast YAML reader (libyaml's composer) and its pure-Python fallback give the same conversions."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastconda.convert import convert, yamlio


def test_pure_python_composer_converts_every_golden_case_the_same(
    case: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cbc = case / "conda_build_config.yaml"
    variant_config = cbc if cbc.is_file() else None
    fast = convert(case / "meta.yaml", variant_config=variant_config)
    monkeypatch.setattr(yamlio, "_CLoader", None)
    slow = convert(case / "meta.yaml", variant_config=variant_config)
    assert slow == fast


def test_comment_above_a_section_stays_above_it() -> None:
    meta = "package:\n  name: p\n  version: '1'\n\n# why we build like this\nbuild:\n  number: 0\n"
    text = convert(meta).recipe_text
    assert "version: '1'\n\n# why we build like this\nbuild:\n" in text


def test_blank_lines_inside_a_block_scalar_are_kept() -> None:
    meta = "package:\n  name: p\n  version: '1'\nabout:\n  description: |\n    one\n\n    two\n"
    assert "  description: |\n    one\n\n    two\n" in convert(meta).recipe_text
