"""Libraries a C++ Tango server needs besides Tango (the MySQL client library of TangoDatabase and
TangoAccessControl): how the migration recognises them and the build gets them.

Which libraries are known is data, ``cmake_templates/server/libraries.toml``: for each, the conda package
that provides it, its pkg-config modules, the ``#include``s and ``-l`` names that show a server needs it,
and its header folders on a build host. :func:`detect` finds them in a Pogo project (sources, flags, or
the project's ``host-requires`` setting); the generated CMakeLists.txt finds each with
``pkg_search_module`` and links its imported target. :func:`host_requirements` reads which of them a
CMakeLists.txt (generated or hand-written) looks up, so ``fastconda build`` adds their conda packages to
the host requirements (their ``run_exports`` then pin the package), as it does ``cpptango``.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path

from fastconda._files import read_text_head
from fastconda.errors import TemplateError
from fastconda.templates import read_template

TABLE = "server/libraries.toml"
MAX_SCANNED = 1 << 20  # bytes of a source file scanned for #include lines (they come first)
_INCLUDE = re.compile(r"^[ \t]*#[ \t]*include[ \t]*[<\"]([^>\"]+)[>\"]", re.MULTILINE)
_PKG_LOOKUP = re.compile(r"\bpkg_(?:check|search)_modules?\s*\(([^)]*)\)", re.IGNORECASE)
_LOOKUP_KEYWORDS = frozenset({"REQUIRED", "QUIET", "NO_CMAKE_PATH", "NO_CMAKE_ENVIRONMENT_PATH",
                              "IMPORTED_TARGET", "GLOBAL"})  # fmt: skip
#: the linker's own folders: a ``-L`` of one changes nothing, and in a conda build would mix in the host's
SYSTEM_LIB_DIRS = frozenset({"/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/local/lib"})


@dataclasses.dataclass(frozen=True)
class Library:
    name: str  # the table's key: "mysql"
    conda: str
    variable: str
    pkg_config: tuple[str, ...]
    headers: tuple[str, ...] = ()
    libraries: tuple[str, ...] = ()
    include_dirs: tuple[str, ...] = ()
    lib_dirs: tuple[str, ...] = ()
    summary: str = ""


def table() -> dict[str, Library]:
    """The bundled table of known libraries, by short name."""
    try:
        data = tomllib.loads(read_template("cmake", TABLE))
        return {
            name: Library(
                name=name,
                conda=entry["conda"],
                variable=entry["variable"],
                pkg_config=tuple(entry["pkg_config"]),
                headers=tuple(entry.get("headers", ())),
                libraries=tuple(entry.get("libraries", ())),
                include_dirs=tuple(entry.get("include_dirs", ())),
                lib_dirs=tuple(entry.get("lib_dirs", ())),
                summary=entry.get("summary", ""),
            )
            for name, entry in data.items()
        }
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        msg = f"cmake template {TABLE} is not a valid library table: {exc}"
        raise TemplateError(msg) from None


@dataclasses.dataclass(frozen=True)
class Found:
    library: Library
    evidence: str  # what showed it: "#include <mysql.h> in DataBase.h", "-lmysqlclient_r", "host-requires"


def detect(
    files: Iterable[Path],
    link_libraries: Iterable[str],
    include_dirs: Iterable[str],
    declared: Iterable[str] = (),
) -> list[Found]:
    """The known libraries *files* include, *link_libraries* (``-l`` names) link or *include_dirs* point
    at, or that *declared* (conda package or short names, the project's ``host-requires``) names."""
    known = table()
    links, folders, named = set(link_libraries), {d.rstrip("/") for d in include_dirs}, set(declared)
    found: dict[str, Found] = {}
    for library in known.values():
        if named & {library.name, library.conda}:
            found[library.name] = Found(library, "host-requires")
        elif hit := sorted(links & set(library.libraries)):
            found[library.name] = Found(library, f"-l{hit[0]}")
        elif hit := sorted(folders & set(library.include_dirs)):
            found[library.name] = Found(library, f"-I{hit[0]}")
    for file in files:
        pending = [lib for lib in known.values() if lib.name not in found]
        if not pending:
            break
        try:
            text, _ = read_text_head(file, MAX_SCANNED)
        except OSError:
            continue
        included = set(_INCLUDE.findall(text))
        for library in pending:
            if hit := sorted(included & set(library.headers)):
                found[library.name] = Found(library, f"#include <{hit[0]}> in {file.name}")
    return [found[name] for name in known if name in found]


def host_requirements(cmakelists: str) -> dict[str, str]:
    """The conda packages of the known libraries whose pkg-config modules *cmakelists* looks up
    (``pkg_check_modules`` / ``pkg_search_module``), each with the module that showed it."""
    modules: list[str] = []
    for match in _PKG_LOOKUP.finditer(re.sub(r"#[^\n]*", "", cmakelists)):
        words = match.group(1).split()
        modules += [w for w in words[1:] if w.upper() not in _LOOKUP_KEYWORDS]
    needed: dict[str, str] = {}
    for library in table().values():
        if hit := [m for m in modules if re.split(r"[<>=\s]", m, maxsplit=1)[0] in library.pkg_config]:
            needed[library.conda] = hit[0]
    return needed


_SYSTEM_LIB_DIR = re.compile(r"/(usr/)?(local/)?lib(64)?(/[a-z0-9_]+-linux-gnu\w*)?/?")


def take(
    spec_values: dict[str, list[str]], root: Path, search: Iterable[Path], notes: list[str]
) -> list[str]:
    """The known libraries the Pogo project in *root* needs (from its sources and headers in *search*,
    its flags in *spec_values*, its ``host-requires`` setting); their ``-l`` names and header folders
    leave *spec_values* (the pkg-config target replaces them), and so do the linker's own folders
    (``-L/usr/lib/x86_64-linux-gnu``). What was done goes to *notes*."""
    from fastconda.settings import load_settings  # the project's fastconda.toml: host-requires

    files = [root / source for source in spec_values["sources"]]
    files += [h for folder in dict.fromkeys(search) for h in sorted(folder.glob("*.h*")) if h.is_file()]
    declared = load_settings(root).host_requires
    found = detect(files, spec_values["link_libraries"], spec_values["include_dirs"], declared)
    for item in found:
        library = item.library
        gone = [f"-l{n}" for n in spec_values["link_libraries"] if n in library.libraries]
        gone += [f"-I{d}" for d in spec_values["include_dirs"] if d.rstrip("/") in library.include_dirs]
        gone += [f"-L{d}" for d in spec_values["link_dirs"] if d.rstrip("/") in library.lib_dirs]
        spec_values["link_dirs"] = [
            d for d in spec_values["link_dirs"] if d.rstrip("/") not in library.lib_dirs
        ]
        spec_values["link_libraries"] = [
            n for n in spec_values["link_libraries"] if n not in library.libraries
        ]
        spec_values["include_dirs"] = [
            d for d in spec_values["include_dirs"] if d.rstrip("/") not in library.include_dirs
        ]
        replaced = f" (instead of {' '.join(gone)})" if gone else ""
        notes.append(
            f"needs {library.summary} ({item.evidence}): found with pkg-config "
            f"{' or '.join(library.pkg_config)}{replaced}; conda package {library.conda}"
        )
    system = [d for d in spec_values["link_dirs"] if _SYSTEM_LIB_DIR.fullmatch(d)]
    if system:
        spec_values["link_dirs"] = [d for d in spec_values["link_dirs"] if d not in system]
        notes.append(
            f"-L{' -L'.join(system)}: the linker's own folder(s), left out (libraries come from the "
            "build environment)"
        )
    return [item.library.name for item in found]
