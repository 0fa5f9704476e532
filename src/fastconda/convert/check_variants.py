"""What ``--check`` compares a recipe over: the variants its config has, without the build machine's
environment.

A recipe's meaning can change in one variant only (a ``{% set %}`` under ``{% if mpi != 'nompi' %}``) or
only where an environment variable is unset (``environ.get('X')``), so the check renders both sides for
every combination of the variant config's values for the keys the recipe uses (``zip_keys`` vary
together, as in conda-build), up to :data:`MAX_VARIANTS`, and with none of the variables the recipe
reads from the environment set: what a clean build machine sees.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import re
from collections.abc import Iterator, Mapping
from typing import Any

MAX_VARIANTS = 16
_NOT_VARIANTS = {"zip_keys", "pin_run_as_build", "extend_keys", "ignore_version", "ignore_build_only_deps"}
_TOOL_KEY = re.compile(r"^(?P<lang>\w+?)_(?:compiler|compiler_version|stdlib|stdlib_version)$")
_ENV_READ = re.compile(r"env\.(?:get|exists)\(\s*['\"]([^'\"]+)['\"]")


def _uses(text: str, key: str) -> bool:
    """Whether the recipe reads a variant key: by name, or through ``compiler('c')`` / ``stdlib('c')``."""
    if re.search(rf"(?<![\w.]){re.escape(key)}(?!\w)", text):
        return True
    tool = _TOOL_KEY.match(key)
    return bool(tool and re.search(rf"(?:compiler|stdlib)\(\s*['\"]{re.escape(tool['lang'])}['\"]", text))


def variant_sets(config: Any, text: str, base: Mapping[str, str]) -> list[dict[str, str]]:
    """The variants to check: *base*, the first value of every config key, then each combination of
    the values of the keys *text* uses (the first :data:`MAX_VARIANTS`, see :func:`variant_count`)."""
    first, dimensions = _dimensions(config, text, base)
    combos = []
    for parts in itertools.islice(itertools.product(*dimensions), MAX_VARIANTS):
        combo = dict(first)
        for part in parts:
            combo.update(part)
        combos.append(combo)
    return combos


def variant_count(config: Any, text: str, base: Mapping[str, str]) -> int:
    """How many variants the config gives the recipe, those beyond :data:`MAX_VARIANTS` included."""
    return math.prod(len(dimension) for dimension in _dimensions(config, text, base)[1])


def _dimensions(
    config: Any, text: str, base: Mapping[str, str]
) -> tuple[dict[str, str], list[list[dict[str, str]]]]:
    """The values every variant has, and the keys (a ``zip_keys`` group as one) whose values vary."""
    if not isinstance(config, dict):
        return dict(base), []
    values = {
        str(k): [str(v) for v in vs]
        for k, vs in config.items()
        if str(k) not in _NOT_VARIANTS and isinstance(vs, list) and vs
    }
    used = [key for key in values if _uses(text, key)]
    zips = config.get("zip_keys") or []
    if zips and all(isinstance(z, str) for z in zips):
        zips = [zips]  # a flat list is one group to conda-build
    dimensions: list[list[dict[str, str]]] = []
    zipped: set[str] = set()
    for group in zips if isinstance(zips, list) else []:
        keys = [str(k) for k in group if str(k) in values] if isinstance(group, list) else []
        if not set(keys) & set(used):
            continue
        count = min(len(values[k]) for k in keys)
        dimensions.append([{k: values[k][i] for k in keys} for i in range(count)])
        zipped.update(keys)
    dimensions.extend([{key: value} for value in values[key]] for key in used if key not in zipped)
    return {**base, **{key: vs[0] for key, vs in values.items()}}, dimensions


def label(combo: Mapping[str, str], combos: list[dict[str, str]]) -> str:
    """The keys that set *combo* apart from the other variants, as ``key=value`` text."""
    varying = [k for k in combo if len({c.get(k) for c in combos}) > 1]
    return ", ".join(f"{k}={combo[k]}" for k in varying)


def merge_differences(per_variant: list[tuple[str, list[str]]]) -> list[str]:
    """Each difference once: as it is where every variant has it, else prefixed with where it shows."""
    where: dict[str, list[str]] = {}
    for name, differences in per_variant:
        for difference in differences:
            where.setdefault(difference, []).append(name)
    out = []
    for difference, names in where.items():
        if len(names) == len(per_variant):
            out.append(difference)
        else:
            more = f" and {len(names) - 1} more" if len(names) > 1 else ""
            out.append(f"[{names[0]}{more}] {difference}")
    return out


@contextlib.contextmanager
def without_environment(recipe_text: str) -> Iterator[None]:
    """The variables the v1 recipe reads (``env.get``, ``env.exists``) unset while the engine renders
    it in this process, and set again after."""
    saved = {name: os.environ.pop(name) for name in set(_ENV_READ.findall(recipe_text)) if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)
