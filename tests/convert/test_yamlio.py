"""The fast YAML reader (libyaml's composer) and its pure-Python fallback give the same conversions."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fastconda.convert import convert, yamlio
from tests.conftest import REPO


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


def test_conversions_in_threads_side_by_side_come_out_as_one_at_a_time() -> None:
    # `fastconda build PATH... -j N` converts several projects' recipes at once, in threads
    metas = sorted((REPO / "tests" / "data" / "recipes").glob("*/meta.yaml"))[:12]
    alone = {m: convert(m).recipe_text for m in metas}
    with ThreadPoolExecutor(4) as pool:
        together = list(
            pool.map(lambda i: (metas[i % len(metas)], convert(metas[i % len(metas)])), range(240))
        )
    assert [m.parent.name for m, result in together if result.recipe_text != alone[m]] == []
