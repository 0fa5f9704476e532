"""Fetch everything the test suite needs from the package registry, before it runs offline.

    python -m tests.fetch

The seed channel's wheels are fetched by ``fastconda channel bootstrap`` itself (./dev.sh test runs it
first); this fetches the pinned real wheels the wheel-stage tests convert, and the build backends the
C++ wheel route installs from fastconda's wheel cache (scikit-build-core, cmake, ninja). Exits non-zero
when one cannot be had, so CI fails here, loudly, instead of skipping tests later.
"""

from __future__ import annotations

import sys

from fastconda.cxx.wheel_route import backend_requires
from fastconda.errors import SeedError
from fastconda.seed.wheelcache import resolve_wheels
from fastconda.settings import load_settings
from tests.conftest import CACHE as _TEST_CACHE  # noqa: F401  (sets the tests' cache folders)
from tests.conftest import WHEEL_CACHE, _cached, _download
from tests.helpers import ALL


def main() -> int:
    WHEEL_CACHE.mkdir(parents=True, exist_ok=True)
    missing = []
    for requirement in ALL:
        if _cached(requirement) is None:
            problem = _download(requirement)
            if _cached(requirement) is None:
                missing.append(f"{requirement}: {problem}")
    ready = len(ALL) - len(missing)
    backends = backend_requires()
    cache = load_settings().wheel_cache_dir  # the tests' (tests.conftest sets FASTCONDA_CACHE_DIR)
    try:
        resolve_wheels(backends, cache)
    except SeedError as exc:
        missing.append(f"{' '.join(backends)}: {exc}")
    for line in missing:
        print(f"error: cannot fetch {line}", file=sys.stderr)
    print(f"test wheels in {WHEEL_CACHE}: {ready} ready, {len(missing)} missing")
    print(f"build backends in {cache}: {' '.join(backends)}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
