"""The cxx seed channel fixture and its skip marker live in tests/conftest.py (shared with tests/tango)."""

from __future__ import annotations

from tests.conftest import CXX_CHANNEL, MISSING, needs_debian

__all__ = ["CXX_CHANNEL", "MISSING", "needs_debian"]
