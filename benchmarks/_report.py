"""What every benchmark report shares: the machine it ran on, min/median/max rows, the timing table."""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from fastconda import __version__


def machine(**extra: Any) -> dict[str, Any]:
    """Cores, Python, platform and fastconda version (plus *extra*, e.g. baseline tool versions)."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "fastconda": __version__,
        **extra,
    }


def machine_line(info: Mapping[str, Any]) -> str:
    return (
        f"Machine: {info['cpus']} cores, Python {info['python']}, {info['platform']}, "
        f"fastconda {info['fastconda']}"
    )


def summarize(samples: Sequence[float]) -> dict[str, float | int]:
    return {
        "min": min(samples),
        "median": statistics.median(samples),
        "max": max(samples),
        "runs": len(samples),
    }


def timing_table(
    rows: Mapping[str, Mapping[str, Any]], *, digits: int = 2, label: str = "scenario"
) -> list[str]:
    """A Markdown table of min/median/max rows; a row holding ``skipped`` shows its reason."""
    lines = [f"| {label} | min | median | max | runs |", "| --- | --- | --- | --- | --- |"]
    for name, row in rows.items():
        if "skipped" in row:
            lines.append(f"| {name} | {row['skipped']} | | | |")
        else:
            cells = " | ".join(f"{row[k]:.{digits}f} s" for k in ("min", "median", "max"))
            lines.append(f"| {name} | {cells} | {row['runs']} |")
    return lines
