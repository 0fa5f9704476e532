"""C++ Tango servers (CMake projects): what ``fastconda build`` needs to know about one, and its recipe.

The recipe comes from ``recipe_templates/cxx/recipe.yaml`` with its context filled from the project's
``CMakeLists.txt`` (``project(NAME VERSION x.y.z)`` and the server's ``add_executable``). Its package test,
``tango_server_check.sh`` (``--help`` prints the usage, then the start check: see
:mod:`fastconda.cxx.server_check`), is shared with the ``--via wheel`` route, so both routes test the
same thing.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastconda._files import read_project_file
from fastconda.cxx import libraries, server_check
from fastconda.cxx.licence import project_licence
from fastconda.errors import ProjectError
from fastconda.templates import fill_recipe_template, read_template, template_path

TEMPLATE = "cxx/recipe.yaml"
VARIANTS = "cxx/variants.yaml"
CHECK_SCRIPT = server_check.CHECK_SCRIPT
# a project's own variant config, next to its recipe (conda-build's name is accepted too)
PROJECT_VARIANTS = ("recipe/variants.yaml", "recipe/conda_build_config.yaml", "variants.yaml")

MISSING_TOOLCHAIN_HINT = (
    "  hint: a C++ server builds against channels that provide the C++ toolchain and Tango: gxx_linux-64, "
    "sysroot_linux-64, cmake, ninja, pkg-config and cpptango. Offline, make one with "
    "`fastconda channel bootstrap DIR --profile cxx`; on a normal machine use conda-forge."
)
_COMMENT = re.compile(r"#[^\n]*")
_PROJECT = re.compile(r"\bproject\s*\(\s*([A-Za-z_][\w.+-]*)([^)]*)\)", re.IGNORECASE)
_VERSION = re.compile(r"\bVERSION\s+(\d+(?:\.\d+){0,3})", re.IGNORECASE)
# a relative path that leaves the project's folder: `../AbstractClasses/X.cpp`, `${PROJECT_SOURCE_DIR}/../X`
_OUTSIDE = re.compile(
    r"(?:\$\{(?:CMAKE_CURRENT_SOURCE_DIR|CMAKE_SOURCE_DIR|PROJECT_SOURCE_DIR)\}/|(?<=[\s(\"]))((?:\.\./)+[^\s)\"/]+)"
)
#: how far above the project a path it names may reach: a folder holding more is built from that folder
MAX_UP = 2
_EXECUTABLE = re.compile(r"\badd_executable\s*\(\s*(\$\{PROJECT_NAME\}|[A-Za-z_][\w.+-]*)", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class CMakeServer:
    root: Path
    project: str  # the CMake project name
    version: str
    executable: str  # the server executable the project installs
    #: (conda package, pkg-config module) of the known libraries the CMakeLists.txt looks up
    #: (:func:`fastconda.cxx.libraries.host_requirements`): MySQL's client library for TangoDatabase
    lookups: tuple[tuple[str, str], ...] = ()
    #: folders and files outside *root* it compiles (``../AbstractClasses``: the class a Pogo server inherits,
    #: kept beside it in its repository); the builds copy them with the project, in the same layout
    outside: tuple[str, ...] = ()

    @property
    def base(self) -> Path:
        """The folder that holds the project and what it names outside it (the project's, without those)."""
        up = max((p.count("../") for p in self.outside), default=0)
        return self.root.parents[up - 1] if up else self.root

    @property
    def subdir(self) -> str:
        """The project's folder inside :attr:`base` (``.`` without outside paths)."""
        return self.root.relative_to(self.base).as_posix() or "."

    def outside_folders(self) -> list[tuple[Path, str]]:
        """Each outside path, and the folder it goes into relative to :attr:`base` (a folder: its own
        place, ``AbstractClasses``; a file: the folder it is in, ``.`` for :attr:`base` itself)."""
        places = [(p, p if p.is_dir() else p.parent) for p in self.outside_paths()]
        return [(path, place.relative_to(self.base).as_posix() or ".") for path, place in places]

    def outside_paths(self) -> list[Path]:
        return [(self.root / p).resolve() for p in self.outside]

    def host_requirements(self, declared: Sequence[str] = ()) -> tuple[str, ...]:
        """What the server is built against besides cpptango: the libraries its CMakeLists.txt looks
        up, and *declared* (the project's ``host-requires``)."""
        return tuple(dict.fromkeys([*(package for package, _ in self.lookups), *declared]))

    def host_note(self, declared: Sequence[str] = ()) -> str:
        """The build's note on :meth:`host_requirements`; '' when there is none."""
        if not (host := self.host_requirements(declared)):
            return ""
        why = [f"{package} (pkg-config {module} in CMakeLists.txt)" for package, module in self.lookups]
        why += [f"{spec} (host-requires)" for spec in declared if spec not in dict(self.lookups)]
        return f"built against {', '.join(why)} besides cpptango" if host else ""

    @property
    def package(self) -> str:
        """The conda package name: the project name in lower case."""
        return re.sub(r"[^a-z0-9_.-]", "-", self.project.lower())

    def check_command(self, start: str = server_check.DEFAULT_START) -> str:
        """The package test command (run where the check script is), with the start check *start*."""
        return server_check.check_command(self.executable, start)


def read_server(root: Path) -> CMakeServer:
    """Name, version and executable of the CMake project in *root*, or what is missing and how to add it."""
    cmakelists = root / "CMakeLists.txt"
    try:
        text = _COMMENT.sub("", read_project_file(cmakelists, "a CMakeLists.txt"))
    except OSError as exc:
        msg = f"{cmakelists}: cannot read it: {exc}"
        raise ProjectError(msg) from None
    project = _PROJECT.search(text)
    if project is None:
        msg = f"{cmakelists}: no project(NAME VERSION x.y.z); add one (fastconda pogo-migrate writes it)"
        raise ProjectError(msg)
    version = _VERSION.search(project.group(2))
    if version is None:
        line = text.count("\n", 0, project.start()) + 1
        name = project.group(1)
        msg = f"{cmakelists}:{line}: project({name} ...) has no VERSION: write project({name} VERSION 1.0.0)"
        raise ProjectError(msg)
    executable = _EXECUTABLE.search(text)
    if executable is None:
        msg = f"{cmakelists}: no add_executable(...): a Tango device server is an executable"
        raise ProjectError(msg)
    target = executable.group(1)
    return CMakeServer(
        root=root,
        project=project.group(1),
        version=version.group(1),
        executable=project.group(1) if target == "${PROJECT_NAME}" else target,
        lookups=tuple(libraries.host_requirements(text).items()),
        outside=_outside(text, root, cmakelists),
    )


def _outside(text: str, root: Path, cmakelists: Path) -> tuple[str, ...]:
    """The paths outside *root* that *text* (its CMakeLists.txt) names, by their first folder outside."""
    found: dict[str, None] = {}
    for match in _OUTSIDE.finditer(text):
        path = match.group(1)
        line = text.count("\n", 0, match.start()) + 1
        if path.count("../") > MAX_UP:
            msg = (
                f"{cmakelists}:{line}: {path} is more than {MAX_UP} folders above the project: fastconda "
                "builds a project with what it names beside it, not a whole tree; move it closer"
            )
            raise ProjectError(msg)
        if not (root / path).exists():
            msg = f"{cmakelists}:{line}: names {path}, which does not exist ({(root / path).resolve()})"
            raise ProjectError(msg)
        found[path] = None
    return tuple(found)


def write_server_recipe(
    server: CMakeServer,
    folder: Path,
    *,
    start: str = server_check.DEFAULT_START,
    commands: tuple[str, ...] = (),
    host: Sequence[str] = (),
) -> Path:
    """``folder/recipe.yaml`` for *server* (plus its test script); returns the recipe's path.

    Its package test is the check script with the start check *start*, then *commands*; *host* is
    added to the host requirements (:meth:`CMakeServer.host_requirements`)."""
    context = {
        "name": server.package,
        "version": server.version,
        "server": server.executable,
        "source_dir": str(server.root),
        "cmake_source": server.subdir,
    }
    licence = project_licence(server.root)

    def edit(data: Any) -> None:  # the same licence metadata as the --via wheel route's
        data["requirements"]["host"].extend(h for h in host if h not in data["requirements"]["host"])
        if server.outside:  # the project in its folder under the work folder, what it names beside it
            source = data["source"]
            source.insert(1, "target_directory", server.subdir)
            extra = [
                {"path": str(path), **({"target_directory": where} if where != "." else {})}
                | ({"filter": {"exclude": list(source["filter"]["exclude"])}} if path.is_dir() else {})
                for path, where in server.outside_folders()
            ]
            data["source"] = [source, *extra]
        if licence.spdx is not None:
            data["about"]["license"] = licence.spdx
        if licence.files:
            data["about"]["license_file"] = list(licence.files)
        if start != server_check.DEFAULT_START or commands:
            script = data["tests"][0]["script"]
            script[0] = server.check_command(start)
            script.extend(commands)

    text = fill_recipe_template(TEMPLATE, context, edit)
    write_check_script(folder)
    recipe = folder / "recipe.yaml"
    recipe.write_text(text, encoding="utf-8")
    return recipe


def write_check_script(folder: Path) -> Path:
    """The package test script, into *folder* (where the test command runs)."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / CHECK_SCRIPT
    script.write_text(read_template("recipe", f"cxx/{CHECK_SCRIPT}"), encoding="utf-8")
    return script


def project_variant_config(root: Path) -> Path:
    """The project's own variant config, else fastconda's (the compiler and stdlib names of conda-forge)."""
    for name in PROJECT_VARIANTS:
        if (root / name).is_file():
            return root / name
    return template_path("recipe", VARIANTS)
