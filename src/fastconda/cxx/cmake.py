"""CMake for C++ Tango servers: render the Pogo-free CMakeLists.txt, and read cmake's failures.

This is the one module that knows how cmake and the compiler report failures: a failed configure
surfaces CMake's own error block (e.g. "Tango C++ development files not found ..."), a failed build
the compiler's ``error:`` lines with file and line.
"""

from __future__ import annotations

import dataclasses
import re

import jinja2

from fastconda.cxx import libraries
from fastconda.errors import TangoError
from fastconda.templates import read_template

SERVER_TEMPLATE = "server/CMakeLists.txt.in"
_BUILD_TYPES = ("Debug", "Release", "RelWithDebInfo", "MinSizeRel")


@dataclasses.dataclass(frozen=True)
class ServerSpec:
    """Everything the CMakeLists.txt of one device server executable needs."""

    name: str
    version: str
    sources: tuple[str, ...]
    include_dirs: tuple[str, ...] = ()
    definitions: tuple[str, ...] = ()
    compile_options: tuple[str, ...] = ()
    link_dirs: tuple[str, ...] = ()
    link_libraries: tuple[str, ...] = ()
    link_options: tuple[str, ...] = ()
    build_type: str = "Release"
    header: tuple[str, ...] = ()  # comment lines at the top of the file
    executable: str = ""  # the executable's name, when it is not the project's (TangoDatabase: DataBaseds)
    libraries: tuple[str, ...] = ()  # known libraries besides Tango, by their name in cxx.libraries' table


def render_cmakelists(spec: ServerSpec) -> str:
    """The CMakeLists.txt text for *spec*, from ``cmake_templates/server/CMakeLists.txt.in``."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", spec.name):
        msg = f"{spec.name!r} is not a valid server name (letters, digits and _, not starting with a digit)"
        raise TangoError(msg)
    if spec.executable and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", spec.executable):
        msg = f"{spec.executable!r} is not a valid executable name (letters, digits and _)"
        raise TangoError(msg)
    if not re.fullmatch(r"\d+(\.\d+){0,3}", spec.version):
        msg = f"{spec.version!r} is not a CMake project version (1 to 4 numbers separated by dots)"
        raise TangoError(msg)
    if spec.build_type not in _BUILD_TYPES:
        msg = f"build type {spec.build_type!r} is not one of {', '.join(_BUILD_TYPES)}"
        raise TangoError(msg)
    if not spec.sources:
        msg = f"server {spec.name} has no sources"
        raise TangoError(msg)
    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    try:
        template = environment.from_string(read_template("cmake", SERVER_TEMPLATE))
        values = {
            f.name: list(v) if isinstance(v, tuple) else v
            for f in dataclasses.fields(spec)
            for v in [getattr(spec, f.name)]
        }
        values["executable"] = spec.executable or spec.name
        values["sources"] = [_cmake_path(s, anchor=False) for s in spec.sources]
        values["include_dirs"] = [_cmake_path(s) for s in spec.include_dirs]
        values["link_dirs"] = [_cmake_path(s) for s in spec.link_dirs]
        known = libraries.table()
        unknown = [name for name in spec.libraries if name not in known]
        if unknown:
            msg = f"unknown libraries {', '.join(unknown)} (known: {', '.join(known)})"
            raise TangoError(msg)
        values["libraries"] = [known[name] for name in spec.libraries]
        return template.render(values)
    except jinja2.TemplateError as exc:
        msg = f"cmake template {SERVER_TEMPLATE} cannot be rendered: {exc}"
        raise TangoError(msg) from None


def _cmake_path(path: str, *, anchor: bool = True) -> str:
    """A path as a CMake argument: relative folders anchored at the source folder, spaces quoted."""
    if anchor and not path.startswith(("$", "/")):
        path = "${CMAKE_CURRENT_SOURCE_DIR}/" + path
    return f'"{path}"' if any(c in path for c in ' ;"()#') else path


def cmake_errors(output: str) -> str:
    """CMake's ``CMake Error`` blocks (they end at the first blank line after text), else the tail."""
    lines = output.splitlines()
    blocks: list[str] = []
    for index, line in enumerate(lines):
        if line.startswith("CMake Error"):
            block = [line]
            for follow in lines[index + 1 :]:
                if not follow.strip() and len(block) > 2:
                    break
                block.append(follow)
            blocks.append("\n".join(block).rstrip())
    return _indent("\n".join(blocks) if blocks else "\n".join(lines[-25:]))


_ERROR_LINE = re.compile(r"(error:|Error:|undefined reference|ld returned)")


def compiler_errors(output: str, limit: int = 20) -> str:
    """The compiler's and linker's error lines (with the line after each, the code shown), else the tail."""
    lines = output.splitlines()
    picked: list[str] = []
    for index, line in enumerate(lines):
        if _ERROR_LINE.search(line):
            picked.append(line)
            if index + 1 < len(lines) and not _ERROR_LINE.search(lines[index + 1]):
                picked.append(lines[index + 1])
        if len(picked) >= limit:
            break
    return _indent("\n".join(picked) if picked else "\n".join(lines[-25:]))


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())
