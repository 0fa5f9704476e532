"""How a test-data step ends: ready; or unavailable, which fails the run when every real component is
required (``FASTCONDA_REQUIRE_ALL=1``, as CI sets it) and otherwise leaves a file that the tests
needing it read to skip with the reason."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def conclude(problem: str | None, unavailable: Path, *, ready: str, what: str) -> int:
    """The exit code of a fetch step: *ready* printed when *problem* is None, else *problem* recorded
    in *unavailable* and reported as an error (required) or a warning that the tests of *what* skip."""
    if problem is None:
        unavailable.unlink(missing_ok=True)
        print(ready)
        return 0
    unavailable.write_text(problem + "\n")
    if os.environ.get("FASTCONDA_REQUIRE_ALL") == "1":
        print(f"error: {problem}", file=sys.stderr)
        return 1
    print(f"warning: the tests of {what} will be skipped: {problem}")
    return 0
