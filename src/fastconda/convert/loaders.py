"""conda-build's ``load_file_regex`` and ``load_file_data``, evaluated at conversion time.

v1 recipes cannot read files while rendering (``load_from_file`` is experimental in rattler-build),
so when the file is at hand next to the meta.yaml the value is read now and written into the v1
recipe as a constant; the caller warns that the recipe no longer follows the file. When the file is
missing the functions raise :class:`FileMissing` and the expression is kept, with a warning.

Which files a recipe may read (the recipe is untrusted: a merge request can change it, and what it
reads is copied into the written recipe.yaml). Every path is resolved, symlinks included, before
it is checked, and a refusal is an error (:class:`OutsideRecipe`) that names the path and the rule:

- ``fastconda convert`` (no project root): files inside the recipe folder; and, for the usual
  ``recipe/meta.yaml`` that reads ``setup.py`` or ``pyproject.toml`` at the top of its project, a
  *plain relative* name (no ``..``, not absolute) looked up in the folder above the recipe folder,
  resolving inside that folder.
- ``fastconda build`` passes the project root: any file inside the project, by any spelling (and
  the recipe folder's own files, should the recipe live outside the project).

Absolute paths and ``..`` that leave the allowed folder are refused, whether the file exists or not.
Files are read up to :data:`MAX_FILE` bytes; a ``load_file_regex`` pattern that backtracks for
longer than :data:`REGEX_SECONDS` is refused (see :func:`_search`).
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path, PurePath
from typing import Any

from ruamel.yaml.error import YAMLError

from fastconda._proc import run
from fastconda.convert.limits import LimitExceeded, Refused
from fastconda.convert.yamlio import load_plain
from fastconda.errors import CommandError

MAX_FILE = 4 * 1024 * 1024  # bytes: a setup.py or pyproject.toml is a few kB
MAX_PATTERN = 10_000  # characters of a load_file_regex pattern
REGEX_SECONDS = 2.0  # a real pattern on a real setup.py takes microseconds
_SEARCH = "import re, sys; re.search(sys.argv[1], open(sys.argv[2], encoding='utf-8', newline='').read())"


_RULE = "files of its folder, and plain names such as setup.py in the folder above"


class FileMissing(ValueError):
    """The file a recipe reads is not in the recipe folder (nor its parent, for the source tree)."""


class OutsideRecipe(Refused):
    """A recipe asks for a file outside the folders it may read; the caller adds file and line."""


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _find(recipe_dir: Path, name: str, from_recipe_dir: bool, project_root: Path | None) -> Path:
    """The file ``name`` names, by the rules of the module docstring."""
    recipe_dir = recipe_dir.resolve()
    project = project_root.resolve() if project_root is not None else None
    plain = not PurePath(name).is_absolute() and ".." not in PurePath(name).parts
    # (candidate, the folders it may resolve into): the recipe folder always, the project if named
    extra = [project] if project is not None else []
    candidates = [(recipe_dir / name, [recipe_dir, *extra])]
    if not from_recipe_dir and (plain or extra):
        above = [recipe_dir.parent] if plain else []
        candidates.append((recipe_dir.parent / name, [*above, *extra]))
    for candidate, allowed in candidates:
        path = candidate.resolve()
        if not any(_inside(path, root) for root in allowed):
            where = f"the project {project}" if project is not None else f"the recipe folder {recipe_dir}"
            rule = "files of its project" if project is not None else _RULE
            msg = f"refused to read '{name}': it resolves to {path}, outside {where}; a recipe reads {rule}"
            raise OutsideRecipe(msg)
        if path.is_file():
            return path
    msg = f"{name} is not in {recipe_dir}"
    raise FileMissing(msg)


def _read(path: Path) -> str:
    with path.open("rb") as stream:
        data = stream.read(MAX_FILE + 1)
    if len(data) > MAX_FILE:
        msg = f"refused to read {path}: larger than {MAX_FILE // (1024 * 1024)} MiB"
        raise OutsideRecipe(msg)
    return data.decode("utf-8")


def _search(pattern: str, path: Path, text: str) -> re.Match[str] | None:
    """``re.search`` of a recipe's pattern, which may backtrack for hours (``(a+)+$``): Python's
    ``re`` has no timeout, so the same search runs first in a child interpreter that is stopped
    after :data:`REGEX_SECONDS`; when it finished there, it finishes here in the same time."""
    if len(pattern) > MAX_PATTERN:
        msg = f"load_file_regex: a pattern of {len(pattern):,} characters; refused"
        raise LimitExceeded(msg)
    compiled = re.compile(pattern)  # a broken pattern is an error of the recipe, raised here
    try:
        run([sys.executable, "-I", "-S", "-c", _SEARCH, pattern, str(path)], timeout=REGEX_SECONDS)
    except CommandError as exc:
        took = (
            f"takes more than {REGEX_SECONDS:.0f} s" if exc.returncode == -1 else f"fails ({exc.returncode})"
        )
        msg = f"load_file_regex: searching '{pattern[:60]}' in {path.name} {took}; refused"
        raise LimitExceeded(msg) from None
    return compiled.search(text)


def file_functions(
    recipe_dir: Path, read: list[Path], project_root: Path | None = None
) -> dict[str, Callable[..., Any]]:
    """The two functions, bound to a recipe folder; every file they read is appended to ``read``.

    ``project_root`` (given by ``fastconda build``) widens what they may read to the whole project.
    """

    def load_file_regex(
        load_file: str, regex_pattern: str, from_recipe_dir: bool = False, **_ignored: Any
    ) -> re.Match[str] | None:
        path = _find(recipe_dir, str(load_file), from_recipe_dir, project_root)
        read.append(path)
        return _search(str(regex_pattern), path, _read(path))

    def load_file_data(
        filename: str, fmt: str | None = None, from_recipe_dir: bool = False, **_ignored: Any
    ) -> Any:
        path = _find(recipe_dir, str(filename), from_recipe_dir, project_root)
        read.append(path)
        kind = fmt or path.suffix.lstrip(".")
        text = _read(path)
        readers: dict[str, Callable[[str], Any]] = {
            "toml": tomllib.loads,
            "json": json.loads,
            "yaml": load_plain,
            "yml": load_plain,
        }
        if kind in readers:
            try:
                return readers[kind](text)
            except (ValueError, RecursionError, YAMLError) as exc:  # TOML and JSON errors are ValueErrors
                msg = f"{path.name} is not valid {kind}: {str(exc).splitlines()[0] if str(exc) else exc!r}"
                raise FileMissing(msg) from None
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
