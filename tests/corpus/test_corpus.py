"""The real-projects corpus: every pinned project of ``projects.toml`` built offline with ``fastconda build``.

Each project is its own test: its sdist unpacked, then ``fastconda build <it> -c <seed channel> --fill <tmp
fill channel> -o <tmp> --offline`` through the command line, as a user runs it: what the project needs
beyond the seed (sardana, taurus, pint, lxml, paho-mqtt, ...) is filled from the corpus wheels, with no
other step (issue 16's real-projects check). The test fails when the outcome is not the expected one
(built and tested, or refused with the named reason in its one error line). A project whose ``known``
field says fastconda does not get there yet is an expected failure (strict: the fix that makes it pass
shows as XPASS, a failure, until the ``known`` line goes).

The inputs come from ``python -m tests.fetch_corpus`` (``./dev.sh test`` runs it); without them the tests
fail and say so. Each outcome and its time are also written to ``<corpus cache>/last-run/<project>.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.corpus.corpus import (
    CORPUS_CACHE,
    CORPUS_FILE,
    CorpusError,
    Project,
    build,
    build_env,
    differs,
    forget_kept_work,
    load,
    load_fetched,
    unpack,
)

CORPUS = load()


def _cases() -> list[object]:
    cases: list[object] = []
    for project in CORPUS.projects:
        marks = [pytest.mark.xfail(strict=True, reason=project.known)] if project.known else []
        cases.append(pytest.param(project, id=project.id, marks=marks))
    return cases


@pytest.fixture(scope="session")
def corpus_fetched() -> None:
    try:
        load_fetched()
    except CorpusError as exc:
        pytest.fail(str(exc))
    forget_kept_work()  # what earlier runs' refusals left; this run's stay until the next


def test_corpus_file_pins_at_least_20_real_projects_with_outcomes() -> None:
    assert len(CORPUS.projects) >= 20
    refused = [p for p in CORPUS.projects if p.expect == "refused"]
    assert refused, "the corpus has a refusal to check"
    assert len(refused) < len(CORPUS.projects) // 2, "most projects are expected to build"
    assert all(p.reason for p in refused)
    assert CORPUS.runtime, "the projects' dependencies are pinned"


def test_corpus_file_error_names_the_entry_and_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "projects.toml"
    text = CORPUS_FILE.read_text(encoding="utf-8")
    bad.write_text(text.replace('expect = "built"', 'expect = "builds"', 1), encoding="utf-8")
    with pytest.raises(CorpusError, match=r"projects\.toml: project \d+ \(.+\): expect must be one of"):
        load(bad)


@pytest.mark.slow
@pytest.mark.usefixtures("corpus_fetched")
@pytest.mark.parametrize("project", _cases())
def test_real_project_has_its_expected_outcome(project: Project, seed_channel: Path, tmp_path: Path) -> None:
    source = unpack(project, tmp_path / "src")
    fill = tmp_path / "fill"
    outcome = build(source, [seed_channel], tmp_path / "channel", build_env(), fill=fill)
    record = CORPUS_CACHE / "last-run" / f"{project.id}.json"
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({"project": project.id, **outcome.to_json()}, indent=1), encoding="utf-8")
    problem = differs(project, outcome)
    assert not problem, problem
