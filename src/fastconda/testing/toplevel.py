"""The importable top-level modules among a distribution's installed files (PEP 420 namespaces included).

One function for both places that must know what a package really installed:

- ``fastconda test`` (:func:`fastconda.testing.installed.top_level_modules`) reads the files of an
  installed conda package;
- ``fastconda build``'s package test copies this file next to ``fastconda_check.py`` (as
  ``fastconda_toplevel.py``), which runs in the test environment and feeds it the ``RECORD`` of the
  distribution pip installed there (``importlib.metadata``).

Why the installed files and not the source tree or grayskull: what is importable is decided by the
build backend (hatch ``packages``, setuptools ``find_packages``/``package_dir``, flit, ...), which a
look at the source tree can only guess, and grayskull guesses from the project's name (``tango_pyaml``
for a ``tango/pyaml`` package in the ``tango`` namespace). The ``RECORD`` in the test environment is
what was installed, so the imports tested are right by construction, whatever the backend.

Standard library only, no fastconda import and no ``packaging``: it runs in a test environment
where nothing but Python is certain.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_MODULE_FILE = re.compile(r"^(?P<name>[A-Za-z_]\w*)(?:\.py|\.[\w-]+\.so|\.so)$")
MAX_DEPTH = 32  # folders deeper than this are not looked at (a RECORD is data from the package)


def top_level_modules(paths: Iterable[str]) -> tuple[str, ...]:
    """The names to import for *paths* (relative to ``site-packages``, ``/``-separated).

    A regular package (a folder with ``__init__``) is imported by its top folder; a module file
    (``.py`` or extension ``.so``) at the top by its name. Folders without ``__init__`` are PEP 420
    namespace packages: importing one proves nothing, so the packages inside are imported instead
    (``tango/pyaml/__init__.py`` → ``tango.pyaml``), at any depth. Loose modules inside namespace
    folders count only when there is nothing else: such folders are as often tests, docs or scripts
    that a too-broad ``find_namespace_packages()`` installed as they are code. Anything whose folders
    are not identifiers (``*.dist-info``, ``*.data``, ``../../bin``, ``__pycache__``) is skipped.
    """
    files: list[tuple[tuple[str, ...], str]] = []
    for path in paths:
        parts = path.strip("/").split("/")
        if not 1 <= len(parts) <= MAX_DEPTH:
            continue
        folders, module = tuple(parts[:-1]), _module_name(parts[-1])
        if module is not None and all(f.isidentifier() and f != "__pycache__" for f in folders):
            files.append((folders, module))
    packages = {folders for folders, module in files if folders and module == "__init__"}
    found: set[str] = set()
    loose: set[str] = set()  # modules in namespace folders
    for folders, module in files:
        package = next((folders[:n] for n in range(1, len(folders) + 1) if folders[:n] in packages), None)
        if package is not None:
            found.add(".".join(package))
        elif not folders:
            found.add(module)
        elif module != "__init__":
            loose.add(".".join((*folders, module)))
    return tuple(sorted(found or loose))


def _module_name(filename: str) -> str | None:
    match = _MODULE_FILE.match(filename)
    return match.group("name") if match else None
