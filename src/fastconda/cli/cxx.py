"""``fastconda cxx``: C++ Tango servers (``cxx new NAME [DIR]`` scaffolds one)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from fastconda.cli._ui import ExitCode, Ui


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "cxx", parents=[common], help="C++ Tango servers", description="C++ Tango device servers."
    )
    sub = parser.add_subparsers(dest="cxx_command", metavar="ACTION", required=True)
    new = sub.add_parser(
        "new",
        parents=[common],
        help="scaffold a new C++ Tango server (CMake, no Pogo)",
        description=(
            "Write a new C++ Tango device server NAME into DIR (default: ./NAME): NAME.cpp/.h, "
            "NAMEClass.cpp/.h, ClassFactory.cpp, main.cpp and a Pogo-free CMakeLists.txt. It builds and "
            "runs as generated: attribute `value`, commands On/Off."
        ),
    )
    new.add_argument("name", help="the Tango class name, also the executable's name (e.g. PowerMeter)")
    new.add_argument("directory", type=Path, nargs="?", help="where to write it (default: ./NAME)")
    new.add_argument(
        "--version", dest="project_version", default="0.1.0", help="project version (default 0.1.0)"
    )
    new.set_defaults(handler=_new)


def _new(args: argparse.Namespace, ui: Ui) -> int:
    directory: Path = args.directory or Path(args.name)
    from fastconda.cxx.scaffold import new_server  # jinja2 is loaded when the command runs

    scaffold = new_server(args.name, directory, version=args.project_version)
    ui.result(
        {
            "name": scaffold.name,
            "directory": str(scaffold.directory),
            "files": [str(p) for p in scaffold.files],
        },
        f"{scaffold.directory}: new server {scaffold.name} ({len(scaffold.files)} files); build it with\n"
        f"  cmake -S {scaffold.directory} -B {scaffold.directory}/build"
        f" && cmake --build {scaffold.directory}/build",
    )
    return ExitCode.OK
