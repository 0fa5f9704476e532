"""The ``recipes`` benchmark scenario: skipped without a corpus, rates and failure classes with one."""

from __future__ import annotations

from pathlib import Path

from benchmarks._core import Context
from benchmarks.recipes import failure_class, run_scenario, sample

GOOD = """\
package:
  name: tiny
  version: "1.0"
build:
  noarch: generic
about:
  license: MIT
"""
BAD = "package:\n  name: [unclosed\n"


def _context(tmp_path: Path, recipes: Path | None, size: int = 1000) -> Context:
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    return Context(tmp_path / "out", scratch, False, 1, None, None, recipes, size)


def test_recipes_scenario_is_skipped_without_a_corpus_and_says_so(tmp_path: Path) -> None:
    scenario = run_scenario(_context(tmp_path, None))
    assert scenario.status == "skipped"
    assert "--recipes" in scenario.reason()


def test_failure_class_drops_file_line_quoted_names_and_numbers() -> None:
    one = failure_class("/x/a/meta.yaml:12: unknown selector name 'foo' in 'foo and py3k'")
    two = failure_class("/y/b/meta.yaml:3: unknown selector name 'bar' in 'bar'")
    assert one == two == "unknown selector name … in …"
    engine = 'PyRattlerBuildError: Render error: Parse(JinjaError { message: "undefined value (in <x>:1)" })'
    assert failure_class(engine) == "PyRattlerBuildError: undefined value (in <x>:N)"
    check = "[mpi=a] r-cgp: about.summary: meta.yaml has 'x  y', recipe.yaml has 'x y'"
    assert failure_class(check) == "about.summary: meta.yaml has …, recipe.yaml has …"


def test_sample_is_seeded_and_bounded(tmp_path: Path) -> None:
    for index in range(6):
        folder = tmp_path / "src" / f"r{index}"
        folder.mkdir(parents=True)
        (folder / "meta.yaml").write_text(GOOD, encoding="utf-8")
    chosen = sample(tmp_path, 3)
    assert len(chosen) == 3
    assert chosen == sample(tmp_path, 3)
    assert len(sample(tmp_path, 10)) == 6


def test_recipes_scenario_counts_rates_per_source_and_classes(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    for source, name, text in (("one", "good", GOOD), ("one", "bad", BAD), ("two", "good", GOOD)):
        (corpus / source / name).mkdir(parents=True)
        (corpus / source / name / "meta.yaml").write_text(text, encoding="utf-8")
    scenario = run_scenario(_context(tmp_path, corpus))
    rates = {row["source"]: row for row in scenario.extra["rates"]}
    assert rates["all"]["convert"] == "2/3 (66.7%)"
    assert rates["all"]["no traceback"] == "3/3 (100.0%)"
    assert rates["all"]["render linux-64"] == "2/3 (66.7%)"
    assert rates["two"]["--check"] == "1/1 (100.0%)"
    assert rates["all"]["licence refused"] == "0"
    classes = scenario.extra["failure classes"]
    assert [(c["step"], c["count"], c["example"]) for c in classes] == [("convert", 1, "one/bad")]
    call = scenario.extra["one call"][0]
    assert call["recipe folders"] == call["meta.yaml converted"] == 3
    assert call["failed"] == 1
