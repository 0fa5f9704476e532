"""What kind of project a source tree is, and the facts about it the build needs."""

from __future__ import annotations

import dataclasses
import enum
import re
import tomllib
from pathlib import Path
from typing import Any

from fastconda._files import MAX_PROJECT_FILE, read_project_file, read_text_head
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
            text = read_project_file(pyproject, "a pyproject.toml", errors="strict")
            table = tomllib.loads(text).get("project", {})
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            msg = f"{pyproject}: invalid TOML: {exc}"
            raise ProjectError(msg) from None
    if pyproject.is_file() or (root / "setup.py").is_file() or (root / "setup.cfg").is_file():
        kind = Kind.PYTHON
    elif (root / "CMakeLists.txt").is_file():
        kind = Kind.CMAKE
        if pogo_cmake := _pogo_cmakelists(root / "CMakeLists.txt"):
            msg = (
                f"{root / 'CMakeLists.txt'} is Pogo's own ({pogo_cmake}): it builds only inside a Pogo "
                f"installation; `fastconda pogo-migrate {root}` moves it aside and writes a Pogo-free one"
            )
            raise ProjectError(msg)
    elif evidence := pogo_evidence(root):
        msg = (
            f"{root} is a Pogo C++ project ({evidence}) that has no CMakeLists.txt yet: "
            f"`fastconda pogo-migrate {root}` writes one that builds without Pogo; then run fastconda "
            "build again"
        )
        raise ProjectError(msg)
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


# ``include $(MAKE_ENV)/tango.opt`` (Pogo-7) and ``include ${MAKE_ENV}/cmake_tango.opt`` (Pogo's CMakeLists)
_POGO_INCLUDE = re.compile(r"^[ \t]*-?include\b[^\n#]*?([\w.]*tango\.opt|common_target\.opt)", re.MULTILINE)
_POGO_CMAKE = re.compile(r"^[ \t]*include\s*\([^)\n]*cmake_tango\.opt", re.MULTILINE | re.IGNORECASE)


def _read(path: Path) -> str:
    try:
        return read_text_head(path, MAX_PROJECT_FILE)[0]  # what says it is Pogo's comes first
    except OSError:
        return ""


def pogo_evidence(root: Path) -> str | None:
    """What shows that *root* is a Pogo C++ project that was not migrated, or None: a Makefile that
    includes Pogo's ``tango.opt``/``common_target.opt`` (Pogo-7), or a Makefile listing ``SVC_OBJS``
    next to a Pogo ``.xmi`` (Pogo-6 Makefiles include nothing of Pogo's)."""
    makefile = root / "Makefile"
    if not makefile.is_file():
        return None
    text = _read(makefile)
    xmi = sorted(root.glob("*.xmi"))
    shown = f", {xmi[0].name}" if xmi else ""
    if match := _POGO_INCLUDE.search(text):
        return f"its Makefile includes Pogo's {match.group(1).rsplit('/', 1)[-1]}{shown}"
    if xmi and re.search(r"^[ \t]*SVC_OBJS\s*[:+?]?=", text, re.MULTILINE):
        return f"{xmi[0].name} and a Makefile that lists SVC_OBJS"
    return None


def _pogo_cmakelists(path: Path) -> str | None:
    """Why *path* is the CMakeLists.txt Pogo generates (it includes ``cmake_tango.opt`` from the Pogo
    installation), or None."""
    return "it includes ${MAKE_ENV}/cmake_tango.opt" if _POGO_CMAKE.search(_read(path)) else None
