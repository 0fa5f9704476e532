"""Wheel → conda stage: turn a verified wheel into a ``.conda`` package.

Pure wheels become ``noarch: python`` packages with entry points in ``info/link.json``; binary wheels become
packages for one Python version and conda platform, with launcher scripts in ``bin/``. Wheels with nothing
for Python (only ``.data/data`` files, like a C++ server built by scikit-build-core) become packages without
Python; ``WheelOptions.extra_depends`` adds the conda dependencies a wheel's metadata cannot name.

The names below are loaded when first used: a command that needs only a submodule (``metadata`` for
``fastconda test``) does not pay for the converter (~30 ms).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastconda.wheel.convert import CondaPackage, WheelOptions, wheel_to_conda, wheels_to_conda
    from fastconda.wheel.source import WheelLimits
    from fastconda.wheel.specs import conda_name, conda_version_spec, load_name_map

_WHERE = {
    "CondaPackage": "convert",
    "WheelOptions": "convert",
    "wheel_to_conda": "convert",
    "wheels_to_conda": "convert",
    "WheelLimits": "source",
    "conda_name": "specs",
    "conda_version_spec": "specs",
    "load_name_map": "specs",
}

__all__ = [
    "CondaPackage",
    "WheelLimits",
    "WheelOptions",
    "conda_name",
    "conda_version_spec",
    "load_name_map",
    "wheel_to_conda",
    "wheels_to_conda",
]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(f"{__name__}.{where}"), name)
    globals()[name] = value
    return value
