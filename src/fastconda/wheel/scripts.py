"""Console-script names, checked where a wheel's entry points become files (the converter) and where
an installed package's scripts are run (``fastconda test``, which must not load the converter)."""

from __future__ import annotations

__all__ = ["safe_script_name"]


def safe_script_name(name: str) -> bool:
    """A console script's name becomes a file in ``bin/`` and a line in ``link.json``: a plain, visible
    file name (no path separators, ``..``, leading dot or dash, whitespace or control characters)."""
    return (
        0 < len(name) <= 255
        and not name.startswith((".", "-"))
        and ".." not in name
        and not any(c in "/\\" or c.isspace() or not c.isprintable() for c in name)
    )
