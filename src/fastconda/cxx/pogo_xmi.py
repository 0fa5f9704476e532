"""A Pogo project without Pogo's Makefile: what it is built from, read from its ``.xmi`` alone.

Pogo writes a Makefile only when asked (the ``.xmi``'s ``filestogenerate``), and many projects build with
something else: cppTango ships its servers (TangoTest, Starter, DataBase, TangoAccessControl) with automake
files and hand-written CMake files, and keeps only the ``.xmi`` of Pogo's. The ``.xmi`` still names what
Pogo's Makefile template would compile: the class's three files (``X``, ``XClass``, ``XStateMachine``), each
``additionalFiles`` entry, ``ClassFactory`` and ``main``; the inherited classes come from its
``inheritances`` as for a project with a Makefile. When Pogo's own CMakeLists.txt is there (or was moved
aside to ``CMakeLists.txt.pogo`` by an earlier migration), its user settings are read too: ``USER_INCL_DIR``,
``USER_LIB_DIR``, ``USER_LIBS``, ``USER_SRC_FILES`` and ``CXXFLAGS_USER`` are Pogo's Makefile's
``INC_DIR_USER``, ``LIB_DIR_USER``, ``LFLAGS_USR``, extra objects and ``CXXFLAGS_USR`` (TangoAccessControl
links ``mysqlclient_r`` there). This module writes those Makefile variables into a parsed-Makefile value,
so the migration reads both kinds alike (and reports what does not map, under the CMakeLists' lines).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path, PureWindowsPath

from fastconda._files import read_project_file
from fastconda.cxx.makefile import Makefile
from fastconda.errors import TangoError


def parse_xmi(xmi: Path) -> ET.Element:
    """The root element of a Pogo .xmi (read whole, at most :data:`~fastconda._files.MAX_PROJECT_FILE`;
    expat expands no external entity and bounds entity expansion)."""
    try:
        return ET.fromstring(read_project_file(xmi, "a Pogo .xmi file"))
    except ET.ParseError as exc:
        msg = f"{xmi}: not a readable Pogo .xmi file: {exc}"
        raise TangoError(msg) from None


def additional_stems(xmi: Path) -> list[str]:
    """The file stems of the ``<additionalFiles name=... path=...>`` entries (``DataBaseUtils``)."""
    classes = parse_xmi(xmi).find("classes")
    stems: list[str] = []
    for element in classes.iter("additionalFiles") if classes is not None else ():
        path = element.get("path", "").strip()
        # the path is the build host's (absolute, maybe Windows'): only the file's stem says which file
        stem = PureWindowsPath(path).stem if path else element.get("name", "").strip()
        if stem and stem not in stems:
            stems.append(stem)
    return stems


#: Pogo's CMakeLists.txt user settings → the Pogo Makefile variable of the same role, and the flag prefix
_USER_SETTINGS = {"USER_INCL_DIR": ("INC_DIR_USER", "-I"), "USER_LIB_DIR": ("LIB_DIR_USER", "-L"),
                  "USER_LIBS": ("LFLAGS_USR", "-l"), "CXXFLAGS_USER": ("CXXFLAGS_USR", "")}  # fmt: skip
_SET = re.compile(r"^[ \t]*set\s*\(\s*(\w+)([^)]*)\)", re.MULTILINE | re.IGNORECASE)


def pogo_cmakelists(root: Path) -> Path | None:
    """Pogo's own CMakeLists.txt in *root* (it includes ``cmake_tango.opt``), or its copy moved aside."""
    for name in ("CMakeLists.txt", "CMakeLists.txt.pogo"):
        path = root / name
        if path.is_file() and "cmake_tango.opt" in read_project_file(path, "a Pogo CMakeLists.txt"):
            return path
    return None


def makefile_from_xmi(xmi: Path, class_name: str) -> Makefile:
    """The variables Pogo's Makefile template would set for *class_name* described by *xmi* (and by Pogo's
    CMakeLists.txt next to it, when there is one)."""
    objects = [f"{class_name}{part}.o" for part in ("", "Class", "StateMachine")]
    objects += [f"{stem}.o" for stem in additional_stems(xmi)]
    makefile = Makefile()
    if cmakelists := pogo_cmakelists(xmi.parent):
        text = read_project_file(cmakelists, "a Pogo CMakeLists.txt")
        for match in _SET.finditer(text):
            name, words = match.group(1), match.group(2).split()
            line = text.count("\n", 0, match.start()) + 1
            if name == "USER_SRC_FILES":
                objects += [f"{PureWindowsPath(w).stem}.o" for w in words]
            elif name in _USER_SETTINGS and words:
                variable, prefix = _USER_SETTINGS[name]
                makefile.values[variable] = " ".join(prefix + w for w in words)
                makefile.lines[variable] = line
    objects += ["ClassFactory.o", "main.o"]
    makefile.values.update(PACKAGE_NAME=class_name, SVC_OBJS=" ".join(dict.fromkeys(objects)))
    return makefile


#: how far the search for an inherited class's folder goes: levels above the project, folders read
PARENT_SEARCH_LEVELS = 2
PARENT_SEARCH_FOLDERS = 2000


def find_parent_folder(root: Path, parent: str, suffixes: tuple[str, ...]) -> list[Path]:
    """Folders near *root* holding the inherited class *parent* (``<parent>.h`` and a source), for an
    .xmi whose sourcePath does not exist here (a path on the author's machine, or a packager's new
    layout): the folders up to :data:`PARENT_SEARCH_LEVELS` levels above *root*, and two levels of
    their subfolders, at most :data:`PARENT_SEARCH_FOLDERS` folders read."""
    found: list[Path] = []
    seen: set[Path] = set()
    budget = PARENT_SEARCH_FOLDERS
    for base in list(root.parents)[:PARENT_SEARCH_LEVELS]:
        level = [base]
        for _depth in range(3):  # base, its subfolders, theirs
            below: list[Path] = []
            for folder in level:
                if folder in seen or budget <= 0 or folder == root or folder.name.startswith("."):
                    continue
                seen.add(folder)
                budget -= 1
                if (folder / f"{parent}.h").is_file() and any(
                    (folder / f"{parent}{s}").is_file() for s in suffixes
                ):
                    found.append(folder)
                try:
                    below += sorted(p for p in folder.iterdir() if p.is_dir() and not p.is_symlink())
                except OSError:
                    continue
            level = below
    return sorted(set(found))
