"""How the benchmarks measure rows that are compared: in turns, so a drifting machine slows them alike."""

from __future__ import annotations

from benchmarks._core import Failed, Row, Series, measure, measure_interleaved


def test_rows_are_measured_in_turns_after_every_warm_up() -> None:
    calls: list[str] = []

    def run(name: str, phases: dict[str, float] | None = None) -> Series:
        def fn() -> dict[str, float] | None:
            calls.append(name)
            return phases

        return Series(Row(name), fn, warmup=name != "c", setup=lambda: calls.append(f"setup {name}"))

    rows = measure_interleaved([run("a", {"build": 1.0}), run("b"), run("c")], 2)
    runs = [call for call in calls if not call.startswith("setup")]
    assert runs == ["a", "b", "a", "b", "c", "a", "b", "c"]  # warm-ups (none for c), then rounds
    assert calls[:2] == ["setup a", "a"]  # each run has its setup right before it
    assert [len(r.samples) for r in rows] == [2, 2, 2]
    assert rows[0].phases == {"build": 1.0}
    assert rows[1].phases == {}


def test_a_failing_series_is_skipped_with_its_reason_and_the_others_go_on() -> None:
    calls: list[str] = []

    def fails() -> None:
        calls.append("broken")
        if calls.count("broken") == 2:
            msg = "conda-build: no solver"
            raise Failed(msg)

    def works() -> None:
        calls.append("fine")

    broken, fine = measure_interleaved([Series(Row("broken"), fails), Series(Row("fine"), works)], 3)
    assert broken.skipped == "failed: conda-build: no solver"
    assert not broken.ok and broken.samples == []  # no number from a run that half worked
    assert fine.ok and len(fine.samples) == 3
    assert calls == ["broken", "fine", "broken", "fine", "fine"]


def test_a_series_whose_tool_is_missing_is_not_run() -> None:
    def never() -> None:
        msg = "a skipped row must not run"
        raise AssertionError(msg)

    missing = Row("conda-build", skipped="no conda-build executable")
    row, other = measure_interleaved(
        [Series(missing, never, warmup=True), Series(Row("ours"), lambda: None)], 2
    )
    assert row.skipped == "no conda-build executable"
    assert other.ok


def test_measure_is_one_series() -> None:
    row = measure(Row("one"), lambda: {"test": 0.5}, 3, warmup=True)
    assert len(row.samples) == 3
    assert row.phases == {"test": 0.5}
