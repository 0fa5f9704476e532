"""What kind of project a source tree is, and the facts about it the build needs."""

from __future__ import annotations

import dataclasses
import enum
import tomllib
from pathlib import Path
from typing import Any

from fastconda.errors import ProjectError


class Kind(enum.Enum):
    PYTHON = "python"
    CMAKE = "cmake"


@dataclasses.dataclass(frozen=True)
class Project:
    root: Path
    kind: Kind
    name: str | None  # from [project] when static; None when only setup.py knows
    license: str | None  # SPDX expression or text from [project]
    recipe: Path | None  # the project's own recipe.yaml / meta.yaml, if it has one


def find_recipe(root: Path) -> Path | None:
    for candidate in (
        "recipe/recipe.yaml",
        "recipe.yaml",
        "recipe/meta.yaml",
        "conda/meta.yaml",
        "meta.yaml",
    ):
        if (root / candidate).is_file():
            return root / candidate
    return None


def detect(root: Path) -> Project:
    """Inspect *root*; a clear error when it is neither a Python nor a CMake project."""
    root = root.resolve()
    if not root.is_dir():
        msg = f"{root}: no such folder"
        raise ProjectError(msg)
    pyproject = root / "pyproject.toml"
    table: dict[str, Any] = {}
    if pyproject.is_file():
        try:
            table = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        except tomllib.TOMLDecodeError as exc:
            msg = f"{pyproject}: invalid TOML: {exc}"
            raise ProjectError(msg) from None
    if pyproject.is_file() or (root / "setup.py").is_file() or (root / "setup.cfg").is_file():
        kind = Kind.PYTHON
    elif (root / "CMakeLists.txt").is_file():
        kind = Kind.CMAKE
    else:
        msg = (
            f"{root} is not a Python project (no pyproject.toml, setup.cfg or setup.py) "
            "nor a CMake project (no CMakeLists.txt); run fastconda build in the project's folder"
        )
        raise ProjectError(msg)
    license_value = table.get("license")
    if isinstance(license_value, dict):
        license_value = license_value.get("text")
    return Project(
        root=root,
        kind=kind,
        name=table.get("name"),
        license=str(license_value) if license_value else None,
        recipe=find_recipe(root),
    )
