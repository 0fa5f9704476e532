"""meta.yaml (conda-build) → recipe.yaml (rattler-build v1): jinja, selectors, sections, comments kept.

The pipeline, one module per step: :mod:`preprocess` (jinja statements and selectors, line by line)
→ :mod:`tree` (YAML with per-line conditions) → :mod:`recipe` with :mod:`sections`,
:mod:`build_section` and :mod:`tests_section` → :mod:`writer`. :mod:`check` proves the result means
the same by rendering both recipes and comparing the package metadata.
"""

from __future__ import annotations

from fastconda.convert.core import convert
from fastconda.convert.model import ConversionResult, ConversionWarning

__all__ = ["ConversionResult", "ConversionWarning", "convert"]
