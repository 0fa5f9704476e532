"""Fetch everything the test suite needs from the package registry, before it runs offline.

    python -m tests.fetch

Run it with the Python the tests will run under: the seed channels repackage that interpreter and
the wheels are that interpreter's. It bootstraps the seed channels of this Python (tango, and cxx
where Debian's tools are there; their wheels and .debs come into fastconda's caches), fetches the
pinned real wheels the wheel-stage tests convert and the sdists the fill tests build, the build
backends the C++ wheel route installs from fastconda's wheel cache (scikit-build-core, cmake,
ninja), and the wheels of fastconda's own runtime dependencies (a test installs fastconda's wheel
into a bare venv from them, offline). Exits
non-zero when one cannot be had, so CI fails here, loudly, instead of skipping tests later.
"""

from __future__ import annotations

import sys
import time

from fastconda.cxx.wheel_route import backend_requires
from fastconda.errors import FastcondaError, SeedError
from fastconda.seed.bootstrap import bootstrap
from fastconda.seed.wheelcache import resolve_wheels
from fastconda.settings import load_settings
from tests.conftest import (
    CXX_CHANNEL,
    INSTALL_WHEELS,
    MISSING,
    REQUIRE_ALL,
    SDIST_CACHE,
    SEEDS,
    WHEEL_CACHE,
    _cached,
    _download,
    runtime_requirements,
)
from tests.helpers import ALL, FILL_ONLY, FILL_SDISTS


def _seed(profile: str) -> str | None:
    """Bootstrap this Python's *profile* seed channel; the reason it failed, or None."""
    channel = CXX_CHANNEL if profile == "cxx" else SEEDS / profile
    started = time.perf_counter()
    try:
        result = bootstrap(channel, profile, load_settings())
    except FastcondaError as exc:
        return f"the {profile} seed channel {channel}: {exc}"
    state = "made" if result.changed else "up to date"
    print(f"seed channel {channel}: {state} ({time.perf_counter() - started:.1f} s)")
    return None


def main() -> int:
    WHEEL_CACHE.mkdir(parents=True, exist_ok=True)
    missing = []
    problem = _seed("tango")
    if problem:
        missing.append(problem)
    if not MISSING:
        problem = _seed("cxx")
        if problem:
            missing.append(problem)
    elif REQUIRE_ALL:
        missing.append(f"the cxx seed channel: {MISSING}")
    else:
        print(f"warning: {MISSING}; the C++ seed channel is not made, its tests will be skipped")
    ready = 0
    for requirement in [*ALL, *FILL_ONLY]:
        if _cached(requirement) is None:
            problem = _download(requirement)
            if _cached(requirement) is None:
                missing.append(f"{requirement}: {problem}")
                continue
        ready += 1
    SDIST_CACHE.mkdir(parents=True, exist_ok=True)
    for requirement in FILL_SDISTS:
        if _cached(requirement, sdist=True) is None:
            problem = _download(requirement, sdist=True)
            if _cached(requirement, sdist=True) is None:
                missing.append(f"the sdist of {requirement}: {problem}")
    backends = backend_requires()
    cache = load_settings().wheel_cache_dir  # the tests' (tests.conftest sets FASTCONDA_CACHE_DIR)
    try:
        resolve_wheels(backends, cache)
    except SeedError as exc:
        missing.append(f"{' '.join(backends)}: {exc}")
    runtime = runtime_requirements()
    try:
        installable = resolve_wheels(runtime, INSTALL_WHEELS)
    except SeedError as exc:
        missing.append(f"fastconda's runtime dependencies: {exc}")
    else:
        print(f"fastconda's runtime dependencies in {INSTALL_WHEELS}: {len(installable)} wheels")
    for line in missing:
        print(f"error: cannot fetch {line}", file=sys.stderr)
    print(f"test wheels in {WHEEL_CACHE}: {ready} of {len(ALL) + len(FILL_ONLY)} ready")
    print(f"build backends in {cache}: {' '.join(backends)}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
