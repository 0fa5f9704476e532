"""``about.license``: conda-build takes any text, v1 (and the engine) only SPDX expressions.

Conventions with one certain SPDX meaning (CRAN's ``GPL (>= 2)``, Perl's ``perl_5``, deprecated SPDX
ids such as ``GPL-2.0``) are mapped through the table in ``licences.toml``; anything else that is
not valid SPDX becomes ``LicenseRef-<original>``, which SPDX defines for licences outside its list.
Every change is returned as a message, so the caller can warn with the original and the result.
Validity is decided by :func:`packaging.licenses.canonicalize_license_expression` plus a refusal of
deprecated ids (the engine refuses those although packaging accepts them).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression
from packaging.licenses._spdx import EXCEPTIONS, LICENSES

_FILE_SUFFIX = re.compile(r"\s*\+\s*file\s+LICEN[CS]E\s*$", re.IGNORECASE)
_CRAN_OR = re.compile(r"\s*\|\s*|\s+or\s+", re.IGNORECASE)
_TOKEN = re.compile(r"[A-Za-z0-9.+:-]+")
_OPERATORS = {"and", "or", "with"}
MAX_LICENCE = 500  # characters of a licence field kept as a LicenseRef id


@dataclass(frozen=True)
class Licence:
    """The SPDX expression to write and, when it differs from the recipe's text, why."""

    spdx: str
    message: str | None = None


@cache
def table() -> dict[str, str]:
    """The conventions table, keyed by :func:`_key`."""
    text = resources.files("fastconda.convert").joinpath("licences.toml").read_text(encoding="utf-8")
    return {_key(k): v for k, v in tomllib.loads(text)["map"].items()}


def _key(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def is_valid(expression: str) -> bool:
    """SPDX that the engine takes: parses, every id known and none deprecated."""
    try:
        canonicalize_license_expression(expression)
    except InvalidLicenseExpression:
        return False
    for token in _TOKEN.findall(expression):
        lower = token.lower().removesuffix("+")
        if lower in _OPERATORS or lower.startswith("licenseref-"):
            continue
        known = LICENSES.get(lower) or EXCEPTIONS.get(lower)
        gnu_plus = token.endswith("+") and lower.startswith(("gpl", "lgpl", "agpl"))  # deprecated form
        if known is None or known["deprecated"] or gnu_plus:
            return False
    return True


def spdx_licence(original: str) -> Licence:
    """The SPDX form of a recipe's licence field (see the module docstring)."""
    text = " ".join(original.split())
    if is_valid(text):
        canonical = canonicalize_license_expression(text)
        if canonical == text:
            return Licence(text)
        return Licence(canonical, f"license '{original}' written as SPDX '{canonical}'")
    mapped = _mapped(text)
    if mapped is not None:
        return Licence(mapped, f"license '{original}' is not SPDX: written as '{mapped}'")
    ref = "LicenseRef-" + (re.sub(r"[^A-Za-z0-9.]+", "-", text[:MAX_LICENCE]).strip("-.") or "unknown")
    return Licence(
        ref,
        f"license '{original}' is not SPDX and has no certain SPDX meaning: written as '{ref}'; "
        "replace it with the SPDX expression of the package's licence",
    )


def _mapped(text: str) -> str | None:
    """The whole field from the table, or each ``|``/``or`` term from the table or valid SPDX."""
    whole = _term(text)
    if whole is not None:
        return whole
    terms = _CRAN_OR.split(text)
    if len(terms) < 2:
        return None
    mapped = [_term(t) for t in terms]
    if any(m is None for m in mapped):
        return None
    result = " OR ".join(m if " " not in m else f"({m})" for m in mapped if m is not None)
    return result if is_valid(result) else None


def _term(text: str) -> str | None:
    for candidate in (text, _FILE_SUFFIX.sub("", text)):
        if not candidate:
            continue
        found = table().get(_key(candidate))
        if found is not None:
            return found
        if candidate != text and is_valid(candidate):
            return canonicalize_license_expression(candidate)
    return None
