"""Fetch everything the test suite needs from the package registry, before it runs offline.

    python -m tests.fetch

The seed channel's wheels are fetched by ``fastconda channel bootstrap`` itself (./dev.sh test runs it
first); this fetches the pinned real wheels the wheel-stage tests convert. Exits non-zero when one
cannot be had, so CI fails here, loudly, instead of skipping tests later.
"""

from __future__ import annotations

import sys

from tests.fastpath.wheels import ALL
from tests.wheel.conftest import WHEEL_CACHE, _cached, _download


def main() -> int:
    WHEEL_CACHE.mkdir(parents=True, exist_ok=True)
    missing = []
    for requirement in ALL:
        if _cached(requirement) is None:
            problem = _download(requirement)
            if _cached(requirement) is None:
                missing.append(f"{requirement}: {problem}")
    for line in missing:
        print(f"error: cannot fetch {line}", file=sys.stderr)
    ready = len(ALL) - len(missing)
    print(f"test wheels in {WHEEL_CACHE}: {ready} ready, {len(missing)} missing")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
