"""Reading the engine's log into where its time went (``fastconda build --json``'s ``engine_steps``).

The lines are py-rattler-build 0.73's wording, as a real build logs them (a real build's steps are
checked in tests/pipeline/test_build.py); here their arrival times are set, so that each span is known.
"""

from __future__ import annotations

from fastconda.progress import null_progress
from fastconda.tools.rattler_build_log import EngineEvents, engine_spans

BUILD_LOG = [
    (0.01, "info: Starting build of 1 outputs"),
    (0.10, "info: ✔ Successfully updated the host environment"),
    (0.12, "info: + $PREFIX/bin/python $RECIPE_DIR/fastconda_install.py"),
    (0.30, "info: Copying done!"),
    (0.31, "info: Archive written to '/tmp/out/noarch/x-1-0.conda'"),
    (0.40, "info: Collecting tests from '/tmp/x'"),
    (0.55, "info: ✔ Successfully updated the test environment"),
    (0.60, "info: + python -c 'import x'"),
]


def _events(lines: list[tuple[float, str]]) -> EngineEvents:
    events = EngineEvents(null_progress, "build x")
    events.times = [t for t, _ in lines]
    events.log = [line for _, line in lines]
    events.steps = [(t, "test") for t, line in lines if "Collecting tests from" in line][:1]
    return events


def _rounded(spans: tuple[tuple[str, float], ...]) -> list[tuple[str, float]]:
    return [(name, round(seconds, 3)) for name, seconds in spans]


def test_a_tested_build_is_split_at_the_engines_own_lines() -> None:
    spans = engine_spans(_events(BUILD_LOG), 0.0, 1.0)
    assert _rounded(spans) == [
        ("environments", 0.1),
        ("build script", 0.2),
        ("packaging", 0.01),
        ("after packaging", 0.09),
        ("test environment", 0.15),
        ("test commands", 0.45),
    ]
    assert round(sum(s for _, s in spans), 6) == 1.0


def test_a_line_the_log_lacks_joins_its_span_to_the_next_never_to_a_wrong_name() -> None:
    untested = [(t, line) for t, line in BUILD_LOG if t < 0.4 and "Copying done" not in line]
    spans = engine_spans(_events(untested), 0.0, 0.5)
    assert _rounded(spans) == [
        ("environments", 0.1),
        ("build script and packaging", 0.21),
        ("after packaging", 0.19),
    ]


def test_the_tests_spans_are_read_after_the_tests_start_only() -> None:
    # the test environment's line missing: its time is not taken from the build's host environment line
    lines = [(t, line) for t, line in BUILD_LOG if "test environment" not in line]
    spans = engine_spans(_events(lines), 0.0, 1.0)
    assert _rounded(spans)[3:] == [("after packaging", 0.09), ("test environment and test commands", 0.6)]


def test_a_build_marker_printed_by_a_test_command_is_not_taken_for_the_builds() -> None:
    lines = [(t, line) for t, line in BUILD_LOG if "Copying done" not in line]
    lines.append((0.8, "info: Copying done!"))  # what the package's own test printed
    spans = engine_spans(_events(lines), 0.0, 1.0)
    assert _rounded(spans)[:2] == [("environments", 0.1), ("build script and packaging", 0.21)]
