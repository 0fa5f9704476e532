"""``fastconda cxx new``: a new C++ Tango server (class, Class, ClassFactory, main, CMakeLists.txt).

The generated server builds and runs as generated: one read/write attribute ``value``, commands
``On``/``Off``, states ``OFF`` (at start) and ``ON``. Files come from ``cmake_templates/scaffold``.
"""

from __future__ import annotations

import dataclasses
import keyword
import re
from pathlib import Path

import jinja2

from fastconda._files import write_text_atomic
from fastconda.cxx.cmake import ServerSpec, render_cmakelists
from fastconda.errors import TangoError
from fastconda.templates import read_template

# template file → output file ({name} replaced)
FILES = {
    "Server.h.in": "{name}.h",
    "Server.cpp.in": "{name}.cpp",
    "ServerClass.h.in": "{name}Class.h",
    "ServerClass.cpp.in": "{name}Class.cpp",
    "ClassFactory.cpp.in": "ClassFactory.cpp",
    "main.cpp.in": "main.cpp",
}


@dataclasses.dataclass(frozen=True)
class Scaffold:
    name: str
    directory: Path
    files: tuple[Path, ...]


def new_server(name: str, directory: Path, *, version: str = "0.1.0") -> Scaffold:
    """Write a new server *name* into *directory* (which must not exist or be empty)."""
    if not re.fullmatch(r"[A-Z][A-Za-z0-9_]*", name) or keyword.iskeyword(name):
        msg = (
            f"{name!r} is not a usable Tango class name: start with an upper-case letter, "
            "then letters, digits or _ (it names the C++ class and the executable)"
        )
        raise TangoError(msg)
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        msg = f"{directory} exists and is not an empty folder; choose a new one"
        raise TangoError(msg)
    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    rendered: dict[Path, str] = {}
    for template, output in FILES.items():
        text = environment.from_string(read_template("cmake", f"scaffold/{template}")).render(name=name)
        rendered[directory / output.format(name=name)] = text
    sources = tuple(p.name for p in rendered if p.suffix == ".cpp")
    spec = ServerSpec(
        name=name,
        version=version,
        sources=sources,
        header=(f"{name}: a C++ Tango device server (scaffolded by fastconda cxx new).",),
    )
    rendered[directory / "CMakeLists.txt"] = render_cmakelists(spec)
    for path, text in rendered.items():
        write_text_atomic(path, text)
    return Scaffold(name, directory, tuple(rendered))
