"""fastconda: fast conda packaging for scientific-facility software."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from fastconda.errors import FastcondaError

try:
    __version__ = version("fastconda")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["FastcondaError", "__version__"]
