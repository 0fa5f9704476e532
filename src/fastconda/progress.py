"""Progress reporting for long steps: library code emits events, the CLI decides how to show them;
and :func:`timed_phase`, the one phase timer (seconds per phase for ``--json`` and JUnit)."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger("fastconda")


@dataclasses.dataclass(frozen=True)
class ProgressEvent:
    """One step of a long job: ``done`` of ``total`` steps of ``phase`` finished, ``message`` says which."""

    phase: str
    message: str
    done: int | None = None
    total: int | None = None


Progress = Callable[[ProgressEvent], None]


def null_progress(event: ProgressEvent) -> None:
    """Forward to ``logging`` only: what library calls get when nobody watches."""
    log.debug("%s: %s", event.phase, event.message)


@contextmanager
def timed_phase(phases: dict[str, float], progress: Progress, name: str, message: str) -> Iterator[None]:
    """Report phase *name* to *progress* and add the seconds it takes to ``phases[name]``, also when
    it fails (a failed build's report shows how far it got)."""
    progress(ProgressEvent(name, message))
    start = time.perf_counter()
    try:
        yield
    finally:
        phases[name] = phases.get(name, 0.0) + time.perf_counter() - start
