"""What every scenario shares: typed results, the run context, timing, and running command lines.

A scenario is a function ``run(ctx: Context) -> Scenario``. It prepares its own inputs, measures
real runs only, and turns whatever it could not run into a *skipped* row that says why: a number
in a report always comes from a run on this machine.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".cache"
FASTCONDA = Path(sys.executable).parent / "fastconda"
TIMEOUT = 1200.0
# phases in pipeline order (fastconda build reports them as a mapping)
PHASE_ORDER = ("wheel", "wheels", "sdist", "recipe", "convert", "build", "test", "index")


class Failed(Exception):
    """A command or step that could not run; ``reason`` is one line a reader can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclasses.dataclass
class Row:
    """One measured thing: its samples (seconds), per-phase medians, or why it was skipped."""

    name: str
    samples: list[float] = dataclasses.field(default_factory=list)
    phases: dict[str, float] = dataclasses.field(default_factory=dict)
    skipped: str = ""
    group: str = ""  # rows of one group are compared with each other (a wheel, a package count)

    @property
    def ok(self) -> bool:
        return not self.skipped and bool(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "group": self.group}
        if not self.ok:
            return {**data, "status": "skipped", "reason": self.skipped or "no runs"}
        return {
            **data,
            "status": "ok",
            "unit": "s",
            "runs": len(self.samples),
            "min": min(self.samples),
            "median": self.median,
            "max": max(self.samples),
            "samples": list(self.samples),
            "phases": dict(self.phases),
        }


@dataclasses.dataclass
class Scenario:
    """The result of one scenario: rows, ratios in words, notes, and free-form extra tables."""

    name: str
    title: str
    description: str
    rows: list[Row] = dataclasses.field(default_factory=list)
    ratios: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    skipped: str = ""
    seconds: float = 0.0
    #: the comparisons the report leads with: (group, baseline row, our row), both rows of that group
    headline: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average when the scenario started and ended

    @property
    def status(self) -> str:
        if self.skipped or not any(r.ok for r in self.rows):
            return "skipped"
        return "partial" if any(not r.ok for r in self.rows) else "ok"

    def reason(self) -> str:
        if self.skipped:
            return self.skipped
        reasons = sorted({r.skipped for r in self.rows if r.skipped})
        return "; ".join(reasons) if self.status == "skipped" else ""

    def row(self, name: str, group: str = "") -> Row | None:
        return next((r for r in self.rows if r.name == name and r.group == group), None)


@dataclasses.dataclass(frozen=True)
class Context:
    """What the command line chose, shared by every scenario."""

    out: Path
    scratch: Path
    quick: bool
    repeat: int
    conda_build: Path | None
    whl2conda: Path | None
    recipes: Path | None  # --recipes: a folder of recipes, when given
    sample: int = 1000  # --sample: how many of them the corpus scenario draws
    cxx_server: Path | None = None  # --cxx-server: the cxx scenario's Pogo server, when not the bundled one

    def log(self, message: str) -> None:
        print(f"  {message}", file=sys.stderr, flush=True)


def describe(doc: str | None) -> str:
    """A scenario's description for the report: its module docstring after the first paragraph."""
    parts = (doc or "").split("\n\n", 1)
    return parts[1].strip() if len(parts) > 1 else ""


@dataclasses.dataclass
class Series:
    """How one row is measured: *fn* (which may return its phases), *setup* untimed before every run
    (a fresh copy of an input, for instance), a warm-up run first when asked. A series whose row is
    already skipped (its tool is missing) is not run."""

    row: Row
    fn: Callable[[], Mapping[str, float] | None]
    warmup: bool = False
    setup: Callable[[], object] | None = None


def measure(
    row: Row,
    fn: Callable[[], Mapping[str, float] | None],
    runs: int,
    *,
    warmup: bool = False,
    setup: Callable[[], object] | None = None,
) -> Row:
    """Run *fn* ``runs`` times into *row* (see :class:`Series`)."""
    return measure_interleaved([Series(row, fn, warmup, setup)], runs)[0]


def measure_interleaved(series: Sequence[Series], runs: int) -> list[Row]:
    """Measure rows that are compared with each other in turns: every warm-up, then run 1 of each
    series, run 2 of each, and so on. This machine's speed drifts by tens of percent over minutes
    (and after sustained load): measured one block after the other, the rows measured last would pay
    for it and a ratio between them would say more about the order than about the tools.

    A :class:`Failed` (or a failing command) ends that series' row as skipped with the reason, never a
    number; the other series go on.
    """
    phase_samples: dict[int, dict[str, list[float]]] = {id(s): {} for s in series}
    live = [s for s in series if not s.row.skipped]

    def once(item: Series, *, timed: bool) -> None:
        if item.setup:
            item.setup()
        start = time.perf_counter()
        phases = item.fn() or {}
        if timed:
            item.row.samples.append(time.perf_counter() - start)
            for key, value in phases.items():
                phase_samples[id(item)].setdefault(key, []).append(value)

    for number in range(-1, runs):
        for item in list(live):
            if number < 0 and not item.warmup:
                continue
            try:
                once(item, timed=number >= 0)
            except Failed as exc:
                item.row.samples.clear()
                item.row.skipped = f"failed: {exc.reason}"
                live.remove(item)
    order = {name: i for i, name in enumerate(PHASE_ORDER)}
    for item in live:
        samples = phase_samples[id(item)]
        ordered = sorted(samples, key=lambda k: order.get(k, len(order)))
        item.row.phases = {k: statistics.median(samples[k]) for k in ordered}
    return [item.row for item in series]


def skipped(name: str, reason: str, group: str = "") -> Row:
    return Row(name, skipped=reason, group=group)


def first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith("error")]
    return (errors or lines or ["(no output)"])[0][:300]


def run(
    command: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    ok: Sequence[int] = (0,),
) -> str:
    """Run a command line; its stdout, or :class:`Failed` with the first line of its error output."""
    argv = [os.fspath(c) for c in command]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=TIMEOUT, check=False, cwd=cwd,
            env={**os.environ, **env} if env else None,
        )  # fmt: skip
    except FileNotFoundError:
        msg = f"{argv[0]}: not found"
        raise Failed(msg) from None
    except subprocess.TimeoutExpired:
        msg = f"{Path(argv[0]).name} timed out after {TIMEOUT:.0f} s"
        raise Failed(msg) from None
    if done.returncode not in ok:
        msg = f"{Path(argv[0]).name} exited {done.returncode}: {first_line(done.stderr + done.stdout)}"
        raise Failed(msg)
    return done.stdout


def fastconda(
    *args: str | os.PathLike[str], ok: Sequence[int] = (0,), env: Mapping[str, str] | None = None
) -> str:
    """The ``fastconda`` command line, as a user runs it (interpreter start-up included)."""
    return run([FASTCONDA, "-q", *args], ok=ok, env=env)


def seed_channel(profile: str = "tango") -> Path:
    """A seed channel bootstrapped with ``fastconda channel bootstrap`` (a no-op when up to date)."""
    channel = CACHE / "bench-seed" / profile
    offline = ("--offline",) if os.environ.get("FASTCONDA_OFFLINE") else ()
    fastconda("channel", "bootstrap", channel, "--profile", profile, *offline)
    return channel


def tool(explicit: Path | None, name: str) -> Path | None:
    """An executable: the one given, else next to this Python (the bench extras), else on PATH."""
    if explicit is not None:
        return explicit
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return beside
    found = shutil.which(name)
    return Path(found) if found else None


def ratio(ours: Row, theirs: Row, *, runs: int | None = None) -> str:
    """A sentence like "A was 11.2 times faster than B (median of 5)", from two measured rows only."""
    if not (ours.ok and theirs.ok) or ours.median <= 0:
        return ""
    factor = theirs.median / ours.median
    count = runs or min(len(ours.samples), len(theirs.samples))
    basis = f"median of {count}" if count > 1 else "single run"
    if 0.95 <= factor <= 1.05:
        return f"{ours.name} and {theirs.name} took about the same time ({basis})."
    word = "faster" if factor > 1 else "slower"
    return f"{ours.name} was {max(factor, 1 / factor):.1f}× {word} than {theirs.name} ({basis})."


def compare(scenario: Scenario, ours: str, theirs: Sequence[str], group: str = "") -> None:
    """Add a ratio sentence, or why there is none, for *ours* against each of *theirs*."""
    mine = scenario.row(ours, group)
    for name in theirs:
        other = scenario.row(name, group)
        if mine is None or other is None:
            continue
        sentence = ratio(mine, other)
        if sentence:
            scenario.ratios.append(f"{group}: {sentence}" if group else sentence)
        elif not other.ok and not any(name in line for line in scenario.ratios):
            scenario.ratios.append(f"No ratio against {name}: {other.skipped}.")
