"""``python -m benchmarks --quick`` runs end to end and writes a complete report (no timing assertions)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SCENARIOS = {
    "build",
    "cxx",
    "convert",
    "wheel",
    "scale",
    "many",
    "channel",
    "caches",
    "corpus",
    "projects",
    "recipes",
}
SECTIONS = ("# fastconda benchmark report", "## Machine", "## Summary", "## Skipped",
            "## Earlier measurements (not measured in this run)")  # fmt: skip
TOOLS = {
    "python",
    "fastconda",
    "fastconda checkout",
    "py-rattler",
    "py-rattler-build",
    "grayskull",
    "cmake",
    "whl2conda",
    "conda-build",
}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, seed_channel: Path) -> Path:
    out = tmp_path_factory.mktemp("bench") / "report"
    env = {**os.environ, "FASTCONDA_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.mark.slow
def test_quick_run_writes_a_report_json_with_every_scenario(report: Path) -> None:
    data = json.loads((report / "report.json").read_text(encoding="utf-8"))
    assert data["schema"] == 1
    assert data["quick"] is True
    assert data["wall_seconds"] > 0
    assert set(data["machine"]["tools"]) >= TOOLS
    checkout = data["machine"]["tools"]["fastconda checkout"]  # which code was measured
    assert checkout.startswith("commit ") or checkout == "not a git checkout", checkout
    assert data["machine"]["cores"] >= 1
    assert {s["name"] for s in data["scenarios"]} == SCENARIOS
    for scenario in data["scenarios"]:
        assert scenario["status"] in {"ok", "partial", "skipped"}
        assert scenario["title"]
        if scenario["status"] == "skipped":
            assert scenario["reason"].strip(), scenario["name"]
        for row in scenario["rows"]:
            if row["status"] == "skipped":
                assert row["reason"].strip(), (scenario["name"], row["name"])
            else:
                assert row["status"] == "ok"
                assert row["runs"] == len(row["samples"]) >= 1
                assert row["min"] <= row["median"] <= row["max"]
                assert all(value >= 0 for value in row["phases"].values())


@pytest.mark.slow
def test_quick_run_measures_the_fastconda_routes(report: Path) -> None:
    data = json.loads((report / "report.json").read_text(encoding="utf-8"))
    rows = {(s["name"], r["name"]): r for s in data["scenarios"] for r in s["rows"]}
    assert rows[("build", "fastconda build")]["status"] == "ok"
    assert rows[("build", "wheel fast path (build + fastconda wheel + fastconda test)")]["status"] == "ok"
    for name in ("set -j 1", "separate calls", "skip check (nothing changed)"):
        assert rows[("many", name)]["status"] == "ok", rows[("many", name)]
    conda_build = rows[("build", "conda-build (grayskull meta.yaml)")]
    assert conda_build["status"] == "ok" or conda_build["reason"]


@pytest.mark.slow
def test_quick_run_says_where_the_time_of_each_fastconda_route_goes(report: Path) -> None:
    data = json.loads((report / "report.json").read_text(encoding="utf-8"))
    build = next(s for s in data["scenarios"] if s["name"] == "build")
    rows = {r["name"]: r for r in build["rows"]}
    for route in ("fastconda build", "wheel fast path (build + fastconda wheel + fastconda test)"):
        table = build["extra"][f"Where the time of {route} goes (medians, largest first)"]
        parts = {item["part"]: float(item["median"].removesuffix(" ms")) for item in table}
        total = parts.pop(f"**{route}** (median of {rows[route]['runs']})")
        covered = parts.pop("sum of the parts' medians")
        assert total == pytest.approx(rows[route]["median"] * 1000, abs=1)
        assert covered == pytest.approx(total, rel=0.1)  # one run in --quick: the parts add up to it
        assert all(value >= -5 for value in parts.values()), parts  # a part below zero is a wrong split
        assert len(parts) >= 6
    text = (report / "report.md").read_text(encoding="utf-8")
    assert "**Where the time of fastconda build goes (medians, largest first)**" in text
    assert "| engine: test `PowerSupply --help` |" in text


@pytest.mark.slow
def test_quick_run_writes_a_markdown_report_with_its_sections(report: Path) -> None:
    text = (report / "report.md").read_text(encoding="utf-8")
    for section in SECTIONS:
        assert section in text
    data = json.loads((report / "report.json").read_text(encoding="utf-8"))
    for scenario in data["scenarios"]:
        assert f"## {scenario['title']}" in text
        assert f"({scenario['chart']})" in text or scenario["status"] == "skipped"


@pytest.mark.slow
def test_quick_run_draws_one_valid_png_per_scenario(report: Path) -> None:
    data = json.loads((report / "report.json").read_text(encoding="utf-8"))
    for scenario in data["scenarios"]:
        png = report / scenario["chart"]
        head = png.read_bytes()[:24]
        assert head.startswith(PNG_SIGNATURE), png
        width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
        assert width > 100 and height > 100


@pytest.mark.slow
def test_quick_run_reports_the_example_build_on_cold_and_warm_caches_side_by_side(report: Path) -> None:
    data = json.loads((report / "report.json").read_text(encoding="utf-8"))
    (caches,) = [s for s in data["scenarios"] if s["name"] == "caches"]
    rows = {r["name"]: r for r in caches["rows"]}
    cold, warm = (
        rows["fastconda build: cold caches (fastconda, rattler)"],
        rows["fastconda build: warm caches (fastconda, rattler)"],
    )
    for row in (cold, warm):
        assert row["status"] == "ok", row
        assert {"sdist", "recipe", "build", "test"} <= set(row["phases"])  # where the cold time goes
    assert any("warm caches" in line and "cold caches" in line for line in caches["ratios"])
    text = (report / "report.md").read_text(encoding="utf-8")
    assert "its warm time" in text


@pytest.mark.slow
def test_quick_run_leads_with_the_comparison_table_and_says_why_conda_build_is_absent(report: Path) -> None:
    data = json.loads((report / "report.json").read_text(encoding="utf-8"))
    lines = (report / "report.md").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# fastconda benchmark report"
    head = "| scenario | case | conda-build | fastconda route | fastconda | ratio | runs |"
    assert lines[2].startswith(head)
    table = lines[4 : lines.index("", 4)]
    build = [line for line in table if line.startswith("| build |")]
    assert any("| fastconda build |" in line for line in build)
    assert any(line.startswith("| projects |") and "fastconda build --fill" in line for line in table)
    if data["machine"]["tools"]["conda-build"].startswith("absent"):  # CI: no conda-build on the index
        assert all("skipped: no conda-build executable" in line and "| — |" in line for line in build)
