"""Byte code for a package's modules, compiled by the running interpreter.

rattler installs packages without compiling byte code, and every build or test environment is new:
without ``.pyc`` files each Python process there recompiles every module it imports (pip alone: ~2 s
per build). A package made for the running interpreter can carry its byte code. The files are
hash-based and *unchecked* (PEP 552): valid whatever the file times after extraction, and never
written again; their ``cpython-XY`` tag makes other interpreters ignore them.
"""

from __future__ import annotations

import importlib.util
import marshal
import posixpath
import sys
from collections.abc import Iterable

from fastconda.errors import WheelError

_UNCHECKED_HASH = (0b01).to_bytes(4, "little")
#: bump when what gets byte code changes: it is part of the build string (a new file, a new name)
BYTECODE_FORMAT = 2  # PEP 552 flags: hash-based, do not check the source


def cache_tag_for(python: str) -> str:
    """The ``cpython-XY`` tag of the running interpreter; an error when it is not Python *python*."""
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    tag = sys.implementation.cache_tag
    if python != running or tag is None:
        msg = f"byte code can only be compiled for the running Python {running}, not for Python {python}"
        raise WheelError(msg)
    return tag


def compile_module(source: bytes, path: str) -> bytes | None:
    """The .pyc bytes of *source*, or None when it does not compile (as compileall skips such files)."""
    try:
        code = compile(source, path, "exec", dont_inherit=True, optimize=0)
    except (SyntaxError, ValueError, UnicodeDecodeError, RecursionError, MemoryError):
        return None
    header = importlib.util.MAGIC_NUMBER + _UNCHECKED_HASH + importlib.util.source_hash(source)
    return header + marshal.dumps(code)


def pyc_path(path: str, tag: str) -> str:
    """``pkg/mod.py`` → ``pkg/__pycache__/mod.<tag>.pyc``."""
    folder, name = posixpath.split(path)
    return posixpath.join(folder, "__pycache__", f"{name[:-3]}.{tag}.pyc")


def compiled(paths_and_sources: Iterable[tuple[str, bytes]], tag: str) -> list[tuple[str, bytes]]:
    """(pyc path, pyc bytes) for every module that compiles."""
    out: list[tuple[str, bytes]] = []
    for path, source in paths_and_sources:
        data = compile_module(source, path)
        if data is not None:
            out.append((pyc_path(path, tag), data))
    return out
