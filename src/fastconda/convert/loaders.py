"""conda-build's ``load_file_regex`` and ``load_file_data``, evaluated at conversion time.

v1 recipes cannot read files while rendering (``load_from_file`` is experimental in rattler-build),
so when the file is at hand next to the meta.yaml the value is read now and written into the v1
recipe as a constant; the caller warns that the recipe no longer follows the file. When the file is
missing the functions raise :class:`FileMissing` and the expression is kept, with a warning.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML


class FileMissing(ValueError):
    """The file a recipe reads is not in the recipe folder (nor its parent, for the source tree)."""


def _find(recipe_dir: Path, name: str, from_recipe_dir: bool) -> Path:
    candidates = [recipe_dir / name] if from_recipe_dir else [recipe_dir / name, recipe_dir.parent / name]
    for path in candidates:
        if path.is_file():
            return path
    msg = f"{name} is not in {recipe_dir}"
    raise FileMissing(msg)


def file_functions(recipe_dir: Path, read: list[Path]) -> dict[str, Callable[..., Any]]:
    """The two functions, bound to a recipe folder; every file they read is appended to ``read``."""

    def load_file_regex(
        load_file: str, regex_pattern: str, from_recipe_dir: bool = False, **_ignored: Any
    ) -> re.Match[str] | None:
        path = _find(recipe_dir, load_file, from_recipe_dir)
        read.append(path)
        return re.search(regex_pattern, path.read_text(encoding="utf-8"))

    def load_file_data(
        filename: str, fmt: str | None = None, from_recipe_dir: bool = False, **_ignored: Any
    ) -> Any:
        path = _find(recipe_dir, filename, from_recipe_dir)
        read.append(path)
        kind = fmt or path.suffix.lstrip(".")
        text = path.read_text(encoding="utf-8")
        if kind == "toml":
            return tomllib.loads(text)
        if kind == "json":
            return json.loads(text)
        if kind in {"yaml", "yml"}:
            return YAML(typ="safe", pure=True).load(text)
        msg = f"load_file_data cannot read {path.name}: use .toml, .json or .yaml"
        raise FileMissing(msg)

    return {"load_file_regex": load_file_regex, "load_file_data": load_file_data}


def is_plain(value: object) -> bool:
    """A value a v1 ``context:`` can hold as it is (text, numbers, flat lists)."""
    if value is None or isinstance(value, str | int | float | bool):
        return True
    return isinstance(value, list | tuple) and all(
        v is None or isinstance(v, str | int | float | bool) for v in value
    )
