"""The real-projects corpus (``tests/corpus/projects.toml``): what it holds, where its files live, how one
project is built with ``fastconda build`` and how its outcome is read.

Shared by the test-data step (``python -m tests.fetch_corpus``), the slow test (``test_corpus.py``) and the
``corpus`` benchmark scenario, so the three agree on paths, channels and what counts as which outcome.
Nothing here downloads: fetching is the test-data step's job; the builds run offline, against the seed
channel alone, with ``--fill``: what a project needs beyond the seed is filled from the corpus wheels (the
builds' wheel cache) into a fill channel, as a user with an air-gapped channel and a wheelhouse does.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from packaging.tags import Tag, sys_tags
from packaging.utils import parse_wheel_filename

from fastconda.channel.local import file_sha256

REPO = Path(__file__).resolve().parents[2]
CORPUS_FILE = Path(__file__).with_name("projects.toml")
#: where the fetched sdists, wheels, the dependency channel and the builds' cache live (never committed)
CORPUS_CACHE = Path(
    os.environ.get("FASTCONDA_CORPUS_CACHE")
    or Path(os.environ.get("FASTCONDA_TEST_CACHE", REPO / ".cache")) / "corpus"
)
SDISTS = CORPUS_CACHE / "sdists"
WHEELS = CORPUS_CACHE / "wheels"
#: the fastconda cache the corpus builds share (persistent: the second run is the warm one)
BUILD_CACHE = CORPUS_CACHE / "fastconda"
#: one build may not take longer than this (the slowest seen take under a minute warm)
BUILD_TIMEOUT = 900.0
OUTCOMES = ("built", "refused")
#: a refusal is one line a person reads: a traceback packed into one line is not one
MAX_ERROR_LINE = 500
_SHA256 = re.compile(r"[0-9a-f]{64}")


class CorpusError(Exception):
    """The corpus file is malformed, or what it names is not on disk."""


@dataclasses.dataclass(frozen=True)
class Project:
    """One pinned real project and the outcome ``fastconda build`` must have on it."""

    name: str
    version: str
    sha256: str
    facility: str
    kind: str
    expect: str
    reason: tuple[str, ...] = ()
    known: str = ""
    conda_build: str = "unknown"

    @property
    def id(self) -> str:
        return f"{self.name}-{self.version}"

    @property
    def sdist(self) -> Path:
        return SDISTS / f"{self.id}.tar.gz"


@dataclasses.dataclass(frozen=True)
class Corpus:
    projects: tuple[Project, ...]
    runtime: tuple[str, ...]  # pinned wheels the builds fill what the seed lacks from
    backends: tuple[str, ...]  # pinned wheels only the build backends' environments need


def load(path: Path = CORPUS_FILE) -> Corpus:
    """Read and check the corpus file; a :class:`CorpusError` names the entry and field that are wrong."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    fields = {f.name for f in dataclasses.fields(Project)}
    projects = []
    for number, entry in enumerate(data.get("project", []), start=1):
        where = f"{path.name}: project {number} ({entry.get('name', '?')})"
        unknown = set(entry) - fields
        if unknown:
            msg = f"{where}: unknown field(s) {', '.join(sorted(unknown))}"
            raise CorpusError(msg)
        try:
            project = Project(**{**entry, "reason": tuple(entry.get("reason", ()))})
        except TypeError as exc:
            msg = f"{where}: {exc}"
            raise CorpusError(msg) from None
        if project.expect not in OUTCOMES:
            msg = f"{where}: expect must be one of {', '.join(OUTCOMES)}, not {project.expect!r}"
            raise CorpusError(msg)
        if (project.expect == "refused") != bool(project.reason):
            msg = f"{where}: a refusal needs its reason texts, and only a refusal has them"
            raise CorpusError(msg)
        if not _SHA256.fullmatch(project.sha256):
            msg = f"{where}: sha256 is not 64 lower-case hex digits"
            raise CorpusError(msg)
        projects.append(project)
    names = [p.name for p in projects]
    doubles = sorted({n for n in names if names.count(n) > 1})
    if doubles:
        msg = f"{path.name}: projects listed twice: {', '.join(doubles)}"
        raise CorpusError(msg)
    wheels = data.get("wheels", {})
    return Corpus(tuple(projects), tuple(wheels.get("runtime", ())), tuple(wheels.get("backends", ())))


def sha256_of(path: Path) -> str:
    return file_sha256(path)


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def wheel_for(requirement: str, folder: Path = WHEELS) -> Path | None:
    """The wheel in *folder* for a pinned ``name==version`` that this interpreter can install, if any."""
    name, _, version = requirement.partition("==")
    supported = _supported_tags()
    for path in sorted(folder.glob("*.whl")):
        parts = path.name.split("-")
        if _normal(parts[0]) != _normal(name) or parts[1] != version:
            continue
        if parse_wheel_filename(path.name)[3] & supported:  # a cp311 wheel is not one for 3.12
            return path
    return None


@functools.cache
def _supported_tags() -> frozenset[Tag]:
    return frozenset(sys_tags())


def missing_inputs(corpus: Corpus) -> list[str]:
    """What the test-data step has not (correctly) fetched: one line per missing or damaged file."""
    problems = []
    for project in corpus.projects:
        if not project.sdist.is_file():
            problems.append(f"{project.id}: no sdist at {project.sdist}")
        elif sha256_of(project.sdist) != project.sha256:
            problems.append(f"{project.id}: {project.sdist} does not have the sha256 in {CORPUS_FILE.name}")
    problems += [
        f"{r}: no wheel in {WHEELS}" for r in (*corpus.runtime, *corpus.backends) if not wheel_for(r)
    ]
    return problems


def load_fetched() -> Corpus:
    """The corpus, with every file it names on disk; a :class:`CorpusError` says what is missing."""
    corpus = load()
    missing = missing_inputs(corpus)
    if missing:
        msg = (
            f"the corpus is not fetched ({len(missing)} missing, e.g. {missing[0]}): "
            "run .venv/bin/python -m tests.fetch_corpus (needs the network once)"
        )
        raise CorpusError(msg)
    return corpus


def fastconda_command() -> list[str]:
    """The fastconda command line of the interpreter running this (the repository's .venv)."""
    return [sys.executable, "-m", "fastconda"]


def forget_kept_work(cache_dir: Path = BUILD_CACHE) -> None:
    """Remove the work folders earlier failed corpus builds left in the corpus's own fastconda cache.

    fastconda keeps a failed build's work folder until that project builds; a project the corpus expects
    to be refused never does, so without this each run would add one folder (about 20 MB) per refusal.
    The folders of this run's failures stay for inspection.
    """
    shutil.rmtree(cache_dir / "work", ignore_errors=True)


def unpack(project: Project, dest: Path) -> Path:
    """The project's sdist unpacked under *dest* (data filter: no links out, no devices); its top folder."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(project.sdist) as tar:
        tops = {Path(m.name).parts[0] for m in tar.getmembers() if Path(m.name).parts}
        tar.extractall(dest, filter="data")
    if len(tops) != 1:
        msg = f"{project.sdist.name}: expected one top-level folder, found {sorted(tops)}"
        raise CorpusError(msg)
    return dest / tops.pop()


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What ``fastconda build`` did: ``built``, ``refused`` (exit 1, one error line) or ``crashed``."""

    status: str
    line: str  # the package built, or the first line of the error
    seconds: float
    phases: Mapping[str, float] = dataclasses.field(default_factory=dict)
    output: str = ""  # the whole stderr, for the failure message

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "line": self.line, "seconds": round(self.seconds, 2),
                "phases": dict(self.phases), "output": self.output[-6000:]}  # fmt: skip


def build_env(cache_dir: Path = BUILD_CACHE) -> dict[str, str]:
    """The environment of a corpus build: its own fastconda cache, the corpus wheels, no network."""
    return {
        **os.environ,
        "FASTCONDA_CACHE_DIR": str(cache_dir),
        "FASTCONDA_WHEEL_CACHE": str(WHEELS),
        "FASTCONDA_OFFLINE": "1",
        "PIP_NO_INDEX": "1",
    }


def build(
    source: Path, channels: Sequence[Path], output: Path, env: Mapping[str, str], fill: Path | None = None
) -> Outcome:
    """``fastconda build SOURCE -c ... -o OUTPUT --offline --force --json [--fill FILL]``, as a user runs it.

    With *fill*, what the channels lack is filled into that channel from the corpus wheels (the builds'
    wheel cache): the real-projects check of ``build --fill``.
    """
    flags = [arg for channel in channels for arg in ("-c", str(channel))]
    flags += ["--fill", str(fill)] if fill is not None else []
    command = [*fastconda_command(), "-q", "--json", "build", str(source), *flags, "-o", str(output)]
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [*command, "--offline", "--force"], capture_output=True, text=True, env=dict(env),
            timeout=BUILD_TIMEOUT, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return Outcome("crashed", f"timed out after {BUILD_TIMEOUT:.0f} s", time.perf_counter() - start)
    seconds = time.perf_counter() - start
    if done.returncode == 0:
        result = json.loads(done.stdout)
        return Outcome("built", result["package"], seconds, result.get("phases", {}), done.stderr)
    lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error")]
    if done.returncode != 1 or not errors or lines[0].startswith("Traceback"):
        last = lines[-1] if lines else "no output"
        return Outcome("crashed", f"exit {done.returncode}: {last}", seconds, output=done.stderr)
    return Outcome("refused", errors[0], seconds, output=done.stderr)


def differs(project: Project, outcome: Outcome) -> str:
    """Why *outcome* is not the one the corpus expects of *project* (empty when it is)."""
    if outcome.status != project.expect:
        got = f"{outcome.status}: {outcome.line}"
        return f"{project.id}: expected {project.expect}, got {got}\n{outcome.output[-3000:]}"
    if outcome.status == "refused" and len(outcome.line) > MAX_ERROR_LINE:
        size = len(outcome.line)
        return f"{project.id}: refused, but its error line is {size} characters long: {outcome.line}"
    absent = [text for text in project.reason if text not in outcome.line]
    if absent:
        return (
            f"{project.id}: refused, but its one error line does not name {', '.join(map(repr, absent))}: "
            f"{outcome.line}"
        )
    return ""
