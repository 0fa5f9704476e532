"""fastconda: fast conda packaging for scientific-facility software."""

from __future__ import annotations

import functools

from fastconda.errors import FastcondaError

__all__ = ["FastcondaError", "__version__"]


@functools.cache
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # ~40 ms: not on every CLI start

    try:
        return version("fastconda")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "0.0.0"


def __getattr__(name: str) -> str:
    """``fastconda.__version__``, read from the installed metadata when first asked for."""
    if name == "__version__":
        return _version()
    msg = f"module 'fastconda' has no attribute {name!r}"
    raise AttributeError(msg)
