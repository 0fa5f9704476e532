"""Progress reporting for long steps: library code emits events, the CLI decides how to show them."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

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
