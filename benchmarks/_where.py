"""Where a route's time goes: its measured runs split into parts, from the routes' own ``--json``.

``fastconda build --json`` gives its phases, the engine's steps (read from the engine's log) and
each test command's time; ``fastconda test --json`` its solve, install and checks. What none of them
covers is named as what it is (the interpreter's start, imports and exit; the engine's process and
messages; the package cache warm-up before the tests). Each part's median over the timed runs goes
into the report, with its share of the route's median: the parts of 100 ms and more are where a cut
can still come from.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks._core import Row

_TEST_STEPS = ("test environment", "test commands")  # the engine's steps of its test phase


def fastconda_build_parts(wall: float, report: dict[str, Any]) -> dict[str, float]:
    """One ``fastconda build`` run (*wall* seconds, *report* its ``--json``) split into parts."""
    phases = report.get("phases", {})
    steps = {s["step"]: float(s["seconds"]) for s in report.get("engine_steps", [])}
    tests = [(str(t["command"]), float(t["seconds"])) for t in report.get("tests", [])]
    parts = {
        "start-up, imports, output and exit of fastconda": wall - float(report.get("seconds", 0.0)),
        "sdist (the project's build backend, persistent environment)": phases.get("sdist", 0.0),
        "recipe (grayskull)": phases.get("recipe", 0.0),
        "convert (meta.yaml to recipe.yaml, facility rules)": phases.get("convert", 0.0),
    }
    build_steps = {k: v for k, v in steps.items() if not k.startswith(_TEST_STEPS)}
    parts |= {f"engine: {step}": seconds for step, seconds in build_steps.items()}
    parts["build phase outside the engine's steps (engine process, recipe checks)"] = phases.get(
        "build", 0.0
    ) - sum(build_steps.values())
    test_steps = {k: v for k, v in steps.items() if k.startswith(_TEST_STEPS)}
    for step, seconds in test_steps.items():
        if not step.endswith("test commands"):
            parts[f"engine: {step}"] = seconds
            continue
        parts |= {f"engine: test `{command}`": s for command, s in tests}
        parts[f"engine: {step}: between the commands"] = seconds - sum(s for _, s in tests)
    parts["test phase outside the engine's steps (package cache warm-up)"] = phases.get("test", 0.0) - sum(
        test_steps.values()
    )
    parts["index (add to the channel)"] = phases.get("index", 0.0)
    return parts


def fast_path_parts(wall: float, report: dict[str, Any]) -> dict[str, float]:
    """One wheel fast path run (*wall* seconds; *report*: its phases and ``fastconda test --json``)."""
    phases, tested = report["phases"], report["test"]
    checks = [c for c in tested.get("checks", []) if c.get("kind") != "install"]
    longest = max(checks, key=lambda c: float(c["seconds"]), default=None)
    check_seconds = float(longest["seconds"]) if longest else 0.0
    solve, install = float(tested.get("solve_seconds", 0.0)), float(tested.get("install_seconds", 0.0))
    inside = float(tested.get("seconds", 0.0))
    parts = {
        "wheel (python -m build, persistent backend)": phases.get("wheel", 0.0),
        "fastconda wheel (start-up, convert, index; the whole command)": phases.get("convert", 0.0),
        "fastconda test: start-up, imports, output and exit": phases.get("test", 0.0) - inside,
        "fastconda test: solve": solve,
        "fastconda test: install (link into a fresh prefix)": install,
    }
    if longest is not None:  # the checks run side by side: the longest one is their wall time
        parts[f"fastconda test: checks side by side, the longest: `{longest['name']}`"] = check_seconds
    parts["fastconda test: the rest (prefix, check files, clean-up)"] = (
        inside - solve - install - check_seconds
    )
    parts["benchmark's own Python between the commands"] = wall - sum(phases.values())
    return parts


def table(
    row: Row, reports: Sequence[dict[str, Any]], split: Callable[[float, dict[str, Any]], dict[str, float]]
) -> list[dict[str, str]]:
    """The median of each part (*split* of a run's wall time and report) over *row*'s timed runs,
    with its share of the row's median, largest first. *reports* has one report per run, the
    warm-up's first: the timed runs are the last ``len(row.samples)``. Empty when the row has no
    runs or fewer reports than runs."""
    runs = len(row.samples)
    if not row.ok or len(reports) < runs:
        return []
    timed = [split(wall, report) for wall, report in zip(row.samples, reports[-runs:], strict=True)]
    names = list(dict.fromkeys(name for p in timed for name in p))
    medians = {name: statistics.median(p.get(name, 0.0) for p in timed) for name in names}
    ordered = sorted(names, key=lambda name: -medians[name])
    total = row.median
    rows = [
        {"part": name, "median": _ms(medians[name]), "share": f"{round(100 * medians[name] / total)}%"}
        for name in ordered
    ]
    rows.append({"part": f"**{row.name}** (median of {runs})", "median": _ms(total), "share": ""})
    rows.append({"part": "sum of the parts' medians", "median": _ms(sum(medians.values())), "share": ""})
    return rows


def _ms(seconds: float) -> str:
    return f"{round(seconds * 1000)} ms"  # an int: never "-0 ms"
