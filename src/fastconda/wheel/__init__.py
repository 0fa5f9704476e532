"""Wheel → conda stage: turn a verified wheel into a ``.conda`` package.

Pure wheels become ``noarch: python`` packages with entry points in ``info/link.json``; binary wheels become
packages for one Python version and conda platform, with launcher scripts in ``bin/``. Wheels with nothing
for Python (only ``.data/data`` files, like a C++ server built by scikit-build-core) become packages without
Python; ``WheelOptions.extra_depends`` adds the conda dependencies a wheel's metadata cannot name.
"""

from __future__ import annotations

from fastconda.wheel.convert import CondaPackage, WheelOptions, wheel_to_conda, wheels_to_conda
from fastconda.wheel.source import WheelLimits
from fastconda.wheel.specs import conda_name, conda_version_spec, load_name_map

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
