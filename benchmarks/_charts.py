"""One PNG bar chart per scenario: medians, min-max error bars, phases stacked where a row has them."""

from __future__ import annotations

from pathlib import Path

from benchmarks._core import Row, Scenario

OTHER = "other (start-up, I/O)"


def _segments(row: Row) -> list[tuple[str, float]]:
    """The row's phases, plus what the phases do not cover, summing to its median."""
    parts = [(k, v) for k, v in row.phases.items() if v > 0]
    rest = row.median - sum(v for _, v in parts)
    if parts and rest > 0.005 * row.median:
        parts.append((OTHER, rest))
    return parts or [("whole run", row.median)]


def _label(row: Row) -> str:
    return f"{row.group}: {row.name}" if row.group else row.name


def chart(scenario: Scenario, path: Path) -> Path:
    """Write *scenario*'s chart to *path* (a placeholder text when nothing was measured)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in scenario.rows if r.ok]
    height = max(2.2, 0.42 * len(scenario.rows) + 1.4)
    fig, ax = plt.subplots(figsize=(11, height), dpi=110)
    try:
        ax.set_title(scenario.title, fontsize=11, loc="left")
        if not rows:
            ax.axis("off")
            why = scenario.reason() or "nothing measured"
            ax.text(0.01, 0.5, f"skipped: {why}"[:160], fontsize=9, va="center", wrap=True)
            fig.savefig(path)
            return path
        phase_names = list(dict.fromkeys(name for r in rows for name, _ in _segments(r)))
        colours = {name: plt.get_cmap("tab10")(i % 10) for i, name in enumerate(phase_names)}
        labels = [_label(r) for r in scenario.rows][::-1]
        positions = {id(r): i for i, r in enumerate(scenario.rows[::-1])}
        drawn: set[str] = set()
        for r in rows:
            y, left = positions[id(r)], 0.0
            for name, value in _segments(r):
                ax.barh(y, value, left=left, color=colours[name], label=None if name in drawn else name)
                drawn.add(name)
                left += value
            low, high = r.median - min(r.samples), max(r.samples) - r.median
            ax.errorbar(r.median, y, xerr=[[low], [high]], fmt="none", ecolor="black", capsize=3, lw=1)
            ax.text(max(r.samples), y, f"  {_fmt(r.median)}", va="center", fontsize=8)
        for r in scenario.rows:
            if not r.ok:
                ax.text(
                    0, positions[id(r)], "   skipped (see report.md)", va="center", fontsize=8, color="grey"
                )
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.set_xlabel("seconds (median; bars: min–max)", fontsize=9)
        slowest = max(max(r.samples) for r in rows)
        ax.set_xlim(0, slowest * 1.25)
        if len(phase_names) > 1 or phase_names != ["whole run"]:
            ax.legend(
                fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="phases", title_fontsize=7
            )
        ax.grid(axis="x", alpha=0.3)
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path


def _fmt(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
