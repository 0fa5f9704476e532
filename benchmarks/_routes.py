"""The routes from a source tree to a tested package, as command lines, shared by the scenarios.

- ``fastconda build``: the whole command (sdist, grayskull, convert, rules, engine build + test, index);
- the wheel fast path: ``python -m build --wheel``, ``fastconda wheel``, ``fastconda test``;
- ``python -m build --wheel`` alone: the floor of any route.

Each returns its phases in seconds; a failure is :class:`~benchmarks._core.Failed` with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks._core import REPO, Failed, fastconda, run

PYTANGO_EXAMPLE = REPO / "examples" / "pytango-powersupply"  # the bundled PyTango server

# `python -m build --wheel --no-isolation`, run by a fresh interpreter against the persistent backend
# environment fastconda itself uses (an isolated build would need the network here, and pays a new
# venv each time): the wheel build a CI job pays once its backend is cached.
_BUILD_WHEEL = (
    "import sys; from build import ProjectBuilder; "
    "print(ProjectBuilder(sys.argv[1], python_executable=sys.argv[3]).build('wheel', sys.argv[2]))"
)


def backend_python(project: Path) -> Path:
    """The persistent build-backend environment of *project* (created offline from the wheel cache)."""
    from build import ProjectBuilder
    from fastconda.errors import FastcondaError
    from fastconda.settings import Caches, load_settings
    from fastconda.tools import pep517 as sdist

    settings = load_settings(overrides={"offline": True})
    try:
        requires = sorted(ProjectBuilder(project).build_system_requires)
        python: Path = sdist.backend_env(requires, Caches.of(settings))
    except FastcondaError as exc:
        raise Failed(str(exc).splitlines()[0]) from None
    return python


def build_wheel(project: Path, out: Path, backend: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    printed = run([sys.executable, "-c", _BUILD_WHEEL, project, out, backend]).strip().splitlines()
    return Path(printed[-1])


def fastconda_build(
    project: Path,
    channels: Sequence[Path],
    output: Path,
    *extra: str,
    env: Mapping[str, str] | None = None,
    reports: list[dict[str, Any]] | None = None,
) -> dict[str, float]:
    """``fastconda build PROJECT -c ... -o OUTPUT --offline --json`` (with *env* added to the
    environment): its phases (``{}`` when skipped); its whole ``--json`` report is added to *reports*."""
    flags = [arg for c in channels for arg in ("-c", str(c))]
    printed = fastconda("build", project, *flags, "-o", output, "--offline", "--json", *extra, env=env)
    result = json.loads(printed)
    if reports is not None:
        reports.append(result)
    return {k: float(v) for k, v in result.get("phases", {}).items()}


def wheel_fast_path(
    project: Path,
    work: Path,
    seed: Path,
    backend: Path,
    *,
    test: bool = True,
    reports: list[dict[str, Any]] | None = None,
) -> dict[str, float]:
    """Wheel, ``fastconda wheel --channel``, ``fastconda test`` of the package, into a fresh *work*;
    its phases, and (to *reports*) the phases with ``fastconda test``'s ``--json`` report."""
    shutil.rmtree(work, ignore_errors=True)
    phases: dict[str, float] = {}
    start = time.perf_counter()
    wheel = build_wheel(project, work / "dist", backend)
    phases["wheel"], start = time.perf_counter() - start, time.perf_counter()
    fastconda("wheel", wheel, "--channel", work / "channel", ok=(0, 3))
    phases["convert"], start = time.perf_counter() - start, time.perf_counter()
    if test:
        tested = test_package(_package_of(wheel, work / "channel"), [work / "channel", seed], work)
        phases["test"] = time.perf_counter() - start
        if reports is not None:
            reports.append({"phases": dict(phases), "test": tested})
    return phases


def test_package(package: Path, channels: Sequence[Path], work: Path, *extra: str) -> dict[str, Any]:
    """``fastconda test PACKAGE -c ... --junit FILE --json``: a fresh prefix, then the checks; the
    ``--json`` report."""
    flags = [arg for c in channels for arg in ("-c", str(c))]
    work.mkdir(parents=True, exist_ok=True)
    fd, junit = tempfile.mkstemp(prefix="junit-", suffix=".xml", dir=work)
    os.close(fd)
    report: dict[str, Any] = json.loads(
        fastconda("test", package, *flags, "--junit", junit, "--json", *extra)
    )
    return report


def test_phases(package: Path, channels: Sequence[Path], work: Path, *extra: str) -> dict[str, float]:
    """:func:`test_package`, as phases: solve, install (link), and the checks with the rest."""
    report = test_package(package, channels, work, *extra)
    solve, install = float(report["solve_seconds"]), float(report["install_seconds"])
    return {"solve": solve, "install": install, "checks": float(report["seconds"]) - solve - install}


def _package_of(wheel: Path, channel: Path) -> Path:
    stem = wheel.name.split("-")[0].lower().replace("_", "-")
    found = [p for p in channel.glob("*/*.conda") if p.name.lower().replace("_", "-").startswith(stem + "-")]
    if not found:
        msg = f"fastconda wheel put no package for {wheel.name} into {channel}"
        raise Failed(msg)
    return found[0]


def pool(fn: Callable[..., object], jobs: Sequence[tuple[Any, ...]]) -> None:
    """Run ``fn(*job)`` for every job on as many workers as there are cores (each job runs processes)."""
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as executor:
        for future in [executor.submit(fn, *job) for job in jobs]:
            future.result()
