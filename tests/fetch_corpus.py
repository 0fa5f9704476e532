"""Fetch the real-projects corpus before the tests run offline.

    python -m tests.fetch_corpus

Downloads each project's sdist at its pinned version from PyPI (the file the JSON API lists for that
release), refuses one whose sha256 is not the one in ``tests/corpus/projects.toml``, downloads the pinned
runtime and build-backend wheels with pip (``--no-deps``: the list is already closed); the builds fill
what the seed lacks from them (``fastconda build --fill``). What is already there
is kept: a second run does nothing and needs no network. Exits non-zero, naming what is missing, when
something cannot be had, so CI fails here instead of in the tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from tests.corpus.corpus import (
    SDISTS,
    WHEELS,
    Corpus,
    CorpusError,
    Project,
    load,
    missing_inputs,
    sha256_of,
    wheel_for,
)

PYPI = "https://pypi.org/pypi/{name}/json"
MAX_SDIST = 50 << 20  # no corpus sdist is near this; a bigger answer is not the file we pinned


def _sdist_url(project: Project) -> str:
    index = PYPI.format(name=project.name)
    with urllib.request.urlopen(index, timeout=60) as answer:
        release = json.load(answer).get("releases", {}).get(project.version, [])
    for file in release:
        if file.get("packagetype") == "sdist" and file.get("digests", {}).get("sha256") == project.sha256:
            return urllib.parse.urljoin(index, file["url"])  # some mirrors answer with relative URLs
    msg = f"PyPI lists no sdist of {project.id} with sha256 {project.sha256}"
    raise CorpusError(msg)


def fetch_sdist(project: Project) -> str:
    """Download the project's sdist unless it is there; an error line, or '' when it is in place."""
    if project.sdist.is_file() and sha256_of(project.sdist) == project.sha256:
        return ""
    SDISTS.mkdir(parents=True, exist_ok=True)
    partial = project.sdist.with_suffix(".part")
    try:
        url = _sdist_url(project)
        with urllib.request.urlopen(url, timeout=120) as answer:
            data = answer.read(MAX_SDIST + 1)
    except (OSError, ValueError, CorpusError) as exc:
        return f"{project.id}: cannot download its sdist: {exc}"
    if len(data) > MAX_SDIST:
        return f"{project.id}: its sdist is larger than {MAX_SDIST >> 20} MiB"
    partial.write_bytes(data)
    if sha256_of(partial) != project.sha256:
        partial.unlink()
        return f"{project.id}: the downloaded sdist does not have the sha256 in projects.toml"
    partial.replace(project.sdist)
    return ""


def fetch_wheels(requirements: Sequence[str]) -> list[str]:
    """pip-download the pinned wheels not yet in the corpus wheel folder, for this interpreter."""
    WHEELS.mkdir(parents=True, exist_ok=True)
    wanted = [r for r in requirements if wheel_for(r) is None]
    rounds: list[list[str]] = []  # pip refuses two versions of one name in one call (setuptools)
    for requirement in wanted:
        name = requirement.partition("==")[0].lower()
        target = next((r for r in rounds if all(x.partition("==")[0].lower() != name for x in r)), None)
        if target is None:
            rounds.append(target := [])
        target.append(requirement)
    command = [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--no-deps", "--quiet"]
    command += ["--disable-pip-version-check", "-d", str(WHEELS)]
    problems = []
    for batch in rounds:
        done = subprocess.run([*command, *batch], capture_output=True, text=True, timeout=1800, check=False)
        if done.returncode:
            problems.append(f"pip download failed: {done.stderr.strip().splitlines()[-1:]}")
    return problems + [f"{r}: no wheel" for r in wanted if wheel_for(r) is None]


def main() -> int:
    corpus: Corpus = load()
    problems = [line for line in map(fetch_sdist, corpus.projects) if line]
    problems += fetch_wheels([*corpus.runtime, *corpus.backends])
    problems += [line for line in missing_inputs(corpus) if line not in problems]
    for line in problems:
        print(f"error: corpus: {line}", file=sys.stderr)
    if problems:
        return 1
    size = sum(p.stat().st_size for p in [*SDISTS.glob("*.tar.gz"), *WHEELS.glob("*.whl")]) >> 20
    print(f"corpus: {len(corpus.projects)} sdists and {len(corpus.runtime) + len(corpus.backends)} wheels "
          f"({size} MiB) in {Path(SDISTS).parent}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
