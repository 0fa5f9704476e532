"""The compiler and linker flags of a Pogo Makefile, sorted into the CMake template's lists.

Pogo-7's ``INC_DIR_USER``, ``CXXFLAGS_USR``, ``LIB_DIR_USER`` and ``LFLAGS_USR`` map flag by flag
(``-I`` → include folders, ``-D`` → definitions, ``-l`` → libraries, ...); Pogo-6's own ``INCLUDE_DIRS``,
``CXXFLAGS``, ``LIB_DIRS`` and ``LFLAGS`` (which Pogo-7's tango.opt also reads) are read as the Pogo-7
variable of the same role, without what the template brings itself (the Tango stack's ``-l``) and without
the folders of the original build host. A flag with no CMake meaning is reported, never dropped.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable
from pathlib import Path

from fastconda.cxx.make_expand import PLACEHOLDER, Expander
from fastconda.cxx.makefile import Unmapped

# Pogo-6 Makefiles' own flag variables (Pogo-7's tango.opt uses them too), read as the *_USR variable of
# the same role.
POGO6_FLAGS = {"INCLUDE_DIRS": "INC_DIR_USER", "CXXFLAGS": "CXXFLAGS_USR", "LIB_DIRS": "LIB_DIR_USER",
               "LFLAGS": "LFLAGS_USR"}  # fmt: skip
# What a Pogo-6 Makefile links by hand and the CMake template links through cpptango.
TANGO_STACK = frozenset({"tango", "log4tango", "omniORB4", "omniDynamic4", "omnithread", "COS4", "pthread",
                         "dl", "zmq", "rt", "stdc++"})  # fmt: skip
LINK_OPTIONS = frozenset({"-pthread", "-rdynamic", "-pie", "-no-pie", "-static-libstdc++", "-static-libgcc"})
Miss = Callable[[str, str, str], None]  # (variable, text, reason)


def pogo6_user_flags(expander: Expander, variable: str, sink: list[Unmapped], notes: list[str]) -> str:
    """A Pogo-6 flag variable without what the CMake template brings (the Tango stack's ``-l``) and
    without folders of the Pogo-6 build host that do not exist here (``-I/segfs/tango/include``); what
    cannot be expanded goes to *sink* only where a kept flag holds it."""
    pending: list[Unmapped] = []
    text = expander.expand(expander.values.get(variable, ""), variable, pending, 0, True)
    try:
        tokens = shlex.split(text)
    except ValueError:
        tokens = text.split()
    kept: list[str] = []
    dropped: list[str] = []
    iterator = iter(tokens)
    for token in iterator:
        flag = token + next(iterator, "") if token in {"-I", "-L"} else token
        if flag[:2] == "-l" and flag[2:] in TANGO_STACK:
            continue
        if flag[:2] in {"-I", "-L"} and Path(flag[2:]).is_absolute() and not Path(flag[2:]).is_dir():
            dropped.append(flag)
            continue
        kept.append(flag)
    used = {int(m.group(1)) for flag in kept for m in PLACEHOLDER.finditer(flag)}
    sink.extend(item for index, item in enumerate(pending) if index in used)
    if dropped:
        shown = " ".join(PLACEHOLDER.sub("?", d) for d in dropped)
        notes.append(f"{variable}: {shown}: folders of the original build host, not here")
    return shlex.join(PLACEHOLDER.sub("", flag) for flag in kept)


def map_flags(  # noqa: PLR0917
    value: str,
    variable: str,
    out: dict[str, list[str]],
    miss: Miss,
    root: Path,
    search: list[Path],
    kind: str = "",
) -> None:
    """Sort the flags of *variable* into the CMake lists; *kind* is the Pogo-7 variable whose rules
    apply (a Pogo-6 ``LFLAGS`` is read as ``LFLAGS_USR``)."""
    kind = kind or variable
    try:
        tokens = shlex.split(value)
    except ValueError as exc:
        miss(variable, f"{variable} = {value}", f"cannot split: {exc}")
        return
    iterator = iter(tokens)
    for token in iterator:
        flag, argument = token[:2], token[2:]
        if token in {"-I", "-L", "-isystem", "-D"}:
            argument = next(iterator, "")
            flag = "-I" if token == "-isystem" else token
        if flag == "-I":
            folder = (root / argument).resolve()
            if folder != root:
                out["include_dirs"].append(
                    relative(folder, root) if not Path(argument).is_absolute() else argument
                )
                search.append(folder)
        elif flag == "-L":
            out["link_dirs"].append(argument)
        elif flag == "-D":
            out["definitions"].append(argument)
        elif flag == "-l":
            out["link_libraries"].append(argument)
        elif token.startswith("-std="):
            if re.search(r"(2[0-9]|2a|2b|2c)$", token):
                miss(
                    variable,
                    token,
                    "needs a newer standard than the template's C++17: raise CMAKE_CXX_STANDARD",
                )
            # older standards: the template's C++17 replaces them
        elif token == "-g" or token.startswith("-O"):
            continue  # the build type (RELEASE_TYPE) decides
        elif kind == "LFLAGS_USR" and (token.startswith("-Wl,") or token in LINK_OPTIONS):
            out["link_options"].append(token)
        elif kind == "LFLAGS_USR" and re.search(r"\.(a|so(\.\d+)*)$", token):
            out["link_libraries"].append(token)
        elif kind == "CXXFLAGS_USR" and token.startswith(("-W", "-f", "-m", "-U", "-pthread")):
            out["compile_options"].append(token)
        else:
            miss(variable, token, f"flag with no CMake mapping in {variable}")


def relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix() or "."
    except ValueError:
        return Path(os.path.relpath(path.resolve(), root)).as_posix()
