"""Tango specifics: Pogo project reading and migration to CMake, CMake servers, scaffolding."""

from __future__ import annotations

from fastconda.errors import FastcondaError

__all__ = ["TangoError"]


class TangoError(FastcondaError):
    """A Tango C++ project cannot be read, migrated, scaffolded or built with CMake."""
