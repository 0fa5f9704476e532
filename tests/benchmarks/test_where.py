"""The split of measured runs into parts (benchmarks/_where.py), on reports shaped like the real
``--json`` of ``fastconda build`` and ``fastconda test`` (tests/benchmarks/test_suite.py checks it on a
real run: one run there, so the medians over several runs are checked here)."""

from __future__ import annotations

from typing import Any

import pytest
from benchmarks._core import Row

from benchmarks import _where as where


def _fast_path_report(help_seconds: float, install: float) -> dict[str, Any]:
    checks = [
        {"kind": "install", "name": "x ==1 py_0", "seconds": 0.2},
        {"kind": "import", "name": "x", "seconds": 0.002},
        {"kind": "pip-check", "name": "pip check", "seconds": 0.04},
        {"kind": "entry-point", "name": "X --help", "seconds": help_seconds},
    ]
    test = {
        "checks": checks,
        "solve_seconds": 0.03,
        "install_seconds": install,
        "seconds": 0.3 + help_seconds,
    }
    return {"phases": {"wheel": 0.14, "convert": 0.09, "test": 0.42 + help_seconds}, "test": test}


def _parts(table: list[dict[str, str]]) -> dict[str, int]:
    return {row["part"]: int(row["median"].removesuffix(" ms")) for row in table}


def test_each_part_is_the_median_over_the_timed_runs_and_the_warm_up_is_left_out() -> None:
    reports = [_fast_path_report(5.0, 5.0)]  # the warm-up: slow, not counted
    reports += [_fast_path_report(h, i) for h, i in ((0.19, 0.15), (0.23, 0.07), (0.20, 0.10))]
    row = Row(
        "fast path",
        samples=[r["phases"]["wheel"] + r["phases"]["convert"] + r["phases"]["test"] for r in reports[1:]],
    )
    parts = _parts(where.table(row, reports, where.fast_path_parts))
    assert parts["fastconda test: checks side by side, the longest: `X --help`"] == 200
    assert parts["fastconda test: install (link into a fresh prefix)"] == 100
    assert parts["fastconda test: solve"] == 30
    assert parts["wheel (python -m build, persistent backend)"] == 140
    assert parts["**fast path** (median of 3)"] == round(row.median * 1000)


def test_a_build_report_is_split_into_its_phases_engine_steps_and_test_commands() -> None:
    report = {
        "seconds": 1.0,
        "phases": {"sdist": 0.1, "recipe": 0.15, "convert": 0.05, "build": 0.3, "test": 0.39, "index": 0.01},
        "engine_steps": [
            {"step": "environments", "seconds": 0.1},
            {"step": "build script", "seconds": 0.12},
            {"step": "packaging", "seconds": 0.01},
            {"step": "after packaging", "seconds": 0.05},
            {"step": "test environment", "seconds": 0.1},
            {"step": "test commands", "seconds": 0.28},
        ],
        "tests": [{"command": "python check.py", "seconds": 0.07}, {"command": "X --help", "seconds": 0.2}],
    }
    parts = where.fastconda_build_parts(1.12, report)
    assert parts["start-up, imports, output and exit of fastconda"] == pytest.approx(0.12)
    assert parts["engine: test `X --help`"] == 0.2
    assert parts["engine: test commands: between the commands"] == pytest.approx(0.01)
    assert parts["build phase outside the engine's steps (engine process, recipe checks)"] == pytest.approx(
        0.02
    )
    assert parts["test phase outside the engine's steps (package cache warm-up)"] == pytest.approx(0.01)
    assert sum(parts.values()) == pytest.approx(1.12)  # every part of the run, nothing twice


def test_no_table_for_a_row_without_runs_or_with_fewer_reports_than_runs() -> None:
    assert where.table(Row("skipped", skipped="failed: x"), [], where.fast_path_parts) == []
    row = Row("fast path", samples=[1.0, 1.0])
    assert where.table(row, [_fast_path_report(0.2, 0.1)], where.fast_path_parts) == []
