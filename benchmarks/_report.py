"""The report: the machine it ran on, ``report.json`` and ``report.md``."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks._core import REPO, Context, Row, Scenario, first_line

SCHEMA = 1
PYTHON_TOOLS = ("fastconda", "py-rattler", "py-rattler-build", "grayskull", "matplotlib")
# Earlier measurements, each with its source in benchmarks/REFERENCES.md: quoted, never mixed with this run's
REFERENCE = [
    "conda-build vs the rattler-build engine, same local channel, 2 cores (REFERENCES.md R1): trivial noarch "
    "generic 3.03 s vs 0.07 s (42×); noarch python with tests 12.2 s vs 2.4 s (5.1×); channel with "
    "150k entries per subdir 31.8 s vs 2.3 s (13.6×).",
    "Real PyTango servers, grayskull recipes (REFERENCES.md R2): conda-build 26.7.1 16.7–17.3 s vs the "
    "engine 6.5–6.8 s on a small channel (2.5–2.7×), 31.8–32.7 s vs 6.5–6.6 s with 150k records (4.8–5.1×).",
]


def _version_of(command: Sequence[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"absent ({exc.__class__.__name__})"
    text = done.stdout + done.stderr
    if done.returncode:
        return f"cannot run: {first_line(text)}"
    return first_line(text)


def _checkout() -> str:
    """The commit of the fastconda checkout measured, and whether its code had uncommitted changes
    (an editable install's version number is the one of the commit it was installed at)."""
    git = ["git", "-C", str(REPO)]
    try:
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        )
        changed = subprocess.run(
            [*git, "status", "--porcelain", "--", "src", "benchmarks"],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return "unknown (no git)"
    if head.returncode:
        return "not a git checkout"
    return f"commit {head.stdout.strip()}" + (", with uncommitted changes" if changed.stdout.strip() else "")


def _memory_gib() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        return 0.0


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text(encoding="utf-8").splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.system()


def machine(ctx: Context) -> dict[str, Any]:
    """Cores, memory, OS and the version of every tool the scenarios use ("absent" when missing)."""
    from benchmarks._core import tool

    tools: dict[str, str] = {"python": platform.python_version()}
    for name in PYTHON_TOOLS:
        try:
            tools[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            tools[name] = "absent"
    tools["fastconda checkout"] = _checkout()
    cmake = tool(None, "cmake")
    tools["cmake"] = _version_of([str(cmake), "--version"]) if cmake else "absent"
    for name, explicit in (("whl2conda", ctx.whl2conda), ("conda-build", ctx.conda_build)):
        exe = tool(explicit, name)
        tools[name] = _version_of([str(exe), "--version"]) if exe else "absent"
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(_memory_gib(), 1),
        "os": _os_name(),
        "platform": platform.platform(),
        "load_average_start": list(os.getloadavg()),
        "tools": tools,
    }


def to_json(
    ctx: Context, info: dict[str, Any], scenarios: Sequence[Scenario], wall: float, argv: Sequence[str]
) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "command": ["python", "-m", "benchmarks", *argv],
        "quick": ctx.quick,
        "repeat": ctx.repeat,
        "wall_seconds": wall,
        "machine": {**info, "load_average_end": list(os.getloadavg())},
        "reference": REFERENCE,
        "scenarios": [
            {
                "name": s.name,
                "title": s.title,
                "description": s.description,
                "status": s.status,
                "reason": s.reason(),
                "seconds": s.seconds,
                "chart": f"{s.name}.png",
                "rows": [r.to_json() for r in s.rows],
                "ratios": s.ratios,
                "headline": [list(h) for h in s.headline],
                "load": list(s.load),
                "notes": s.notes,
                "extra": s.extra,
            }
            for s in scenarios
        ],
    }


def _seconds(value: float) -> str:
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def _table(rows: Sequence[Row]) -> list[str]:
    grouped = any(r.group for r in rows)
    head = ("| group " if grouped else "") + "| route | min | median | max | runs | phases (medians) |"
    lines = [head, "|" + " --- |" * (7 if grouped else 6)]
    for r in rows:
        first = f"| {r.group} " if grouped else ""
        if not r.ok:
            lines.append(f"{first}| {r.name} | skipped: {r.skipped or 'no runs'} | | | | |")
            continue
        phases = ", ".join(f"{k} {_seconds(v)}" for k, v in r.phases.items())
        cells = " | ".join(_seconds(v) for v in (min(r.samples), r.median, max(r.samples)))
        lines.append(f"{first}| {r.name} | {cells} | {len(r.samples)} | {phases} |")
    return lines


def _extra(extra: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for title, table in extra.items():
        if not (isinstance(table, list) and table and isinstance(table[0], dict)):
            continue
        keys = list(table[0])
        lines += ["", f"**{title}**", "", "| " + " | ".join(keys) + " |", "|" + " --- |" * len(keys)]
        lines += ["| " + " | ".join(str(item.get(k, "")) for k in keys) + " |" for item in table]
    return lines


def headline(scenarios: Sequence[Scenario]) -> list[str]:
    """The table the report leads with: each scenario's baseline against each fastconda route, with the
    ratio of this run's medians (none when a side did not run), the runs and the machine's load."""
    lines = [
        "| scenario | case | conda-build | fastconda route | fastconda | ratio | runs | load (start, end) |",
        "|" + " --- |" * 8,
    ]
    for s in scenarios:
        for group, base_name, ours_name in s.headline:
            base, ours = s.row(base_name, group), s.row(ours_name, group)
            if base is None or ours is None:
                continue
            theirs = _seconds(base.median) if base.ok else f"skipped: {base.skipped or 'no runs'}"
            mine = _seconds(ours.median) if ours.ok else f"skipped: {ours.skipped or 'no runs'}"
            both = base.ok and ours.ok and ours.median > 0
            factor = f"**{base.median / ours.median:.1f}×**" if both else "—"
            runs = f"{len(base.samples)} / {len(ours.samples)}" if both else str(len(ours.samples))
            load = f"{s.load[0]:.1f}, {s.load[1]:.1f}"
            cells = [s.name, group or s.title, theirs, ours_name, mine, factor, runs, load]
            lines.append("| " + " | ".join(cells) + " |")
    if len(lines) == 2:
        return []
    return [
        *lines,
        "",
        "Ratio: conda-build's median over fastconda's, both from this run (runs: conda-build / fastconda). "
        "Load: the 1-minute load average on this machine when the scenario started and ended.",
    ]


def to_markdown(data: dict[str, Any], scenarios: Sequence[Scenario]) -> str:
    info, tools = data["machine"], data["machine"]["tools"]
    load = ", ".join(f"{x:.2f}" for x in info["load_average_start"][:1] + info["load_average_end"][:1])
    lead = headline(scenarios)
    lines = [
        "# fastconda benchmark report",
        "",
        *lead,
        *([""] if lead else []),
        f"`{' '.join(data['command'])}` — {'quick subset' if data['quick'] else 'full suite'}, "
        f"{data['repeat']} measured run(s) per route unless a row says otherwise, wall time "
        f"{data['wall_seconds']:.0f} s.",
        "",
        "## Machine",
        "",
        f"{info['cores']} cores, {info['memory_gib']} GiB memory, {info['os']} ({info['platform']}); "
        f"load average at start and end: {load}. Other work on the machine makes the numbers noisy; "
        "min and max show how much.",
        "",
        "| tool | version |",
        "| --- | --- |",
        *[f"| {name} | {version} |" for name, version in tools.items()],
        "",
        "## Summary",
        "",
    ]
    for s in scenarios:
        medians = "; ".join(f"{r.name}: median {_seconds(r.median)}" for r in s.rows if r.ok)
        lines += [
            f"- **{s.title}**: " + (" ".join(s.ratios) or medians or f"{s.status}. {s.reason()}".strip())
        ]
    skipped = [(s.title, r.name, r.skipped) for s in scenarios for r in s.rows if not r.ok]
    skipped += [(s.title, "(whole scenario)", s.skipped) for s in scenarios if s.skipped]
    lines += ["", "## Skipped", ""]
    lines += [f"- {title} / {name}: {why}" for title, name, why in skipped] or ["- nothing"]
    for s in scenarios:
        lines += ["", f"## {s.title}", "", s.description, ""]
        if s.skipped:
            lines += [f"Skipped: {s.skipped}"]
            continue
        lines += _table(s.rows)
        lines += _extra(s.extra)
        if s.ratios:
            lines += ["", *[f"- {r}" for r in s.ratios]]
        if s.notes:
            lines += ["", *[f"- note: {n}" for n in s.notes]]
        lines += ["", f"![{s.title}]({s.name}.png)"]
    lines += ["", "## Earlier measurements (not measured in this run)", ""]
    lines += [f"- {p}" for p in REFERENCE]
    lines += ["", "Sources: benchmarks/REFERENCES.md."]
    return "\n".join(lines) + "\n"


def write(out: Path, data: dict[str, Any], scenarios: Sequence[Scenario]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    (out / "report.md").write_text(to_markdown(data, scenarios), encoding="utf-8")
