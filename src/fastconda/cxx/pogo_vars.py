"""The variables Pogo-6 and Pogo-7 Makefiles set, and what the migration does with each: mapped onto the
CMake template, read through the lists that use them, or replaced by the template (said in a note)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from fastconda.cxx.make_expand import referenced
from fastconda.cxx.makefile import REFERENCE

# Pogo Makefile variables that the CMake template replaces: nothing to carry over.
DROPPED = {
    "MAKE_ENV": "Pogo's environment folder: replaced by find_package(Tango) / pkg-config",
    "RELEASE": "Pogo's release tag",
    "OUTPUT_DIR": "replaced by CMake's build folder and install rules",
    "SVC_INCL": "headers need no listing in CMake",
    "TANGO_REQUIRED": "a device server always links Tango",
    "OBJDIR": "replaced by CMake's build folder",
}
# Pogo-7's object lists and per-class folders (``SVC_INHERITANCE_OBJ``, ``SERIAL_HOME``...): read through
# SVC_OBJS when it uses them; an optional one that is not set (``ADDITIONAL_OBJS`` of a class with no
# additional file) is empty, as make has it.
POGO_LISTS = frozenset({"SVC_INHERITANCE_OBJ", "SVC_INHERITANCE_INCL", "ADDITIONAL_OBJS", "LIB_OBJS",
                        "ADDITIONAL_INCL", "SVC_INCL"})  # fmt: skip
_POGO_LIST_PATTERN = re.compile(r"^(SVC_[A-Z0-9_]+_OBJS?|[A-Z0-9_]+_(CLASS|HOME|INCLUDES|INCL))$")
# Pogo-6 Makefiles carry the compiler and Tango settings themselves; the CMake template replaces them.
POGO6 = frozenset({"TANGO_HOME", "CPP_SERVERS", "OMNI_BASE", "LOG4TANGO_BASE", "ZMQ_BASE", "CC", "CXX",
                   "CC_SHLIB", "AR", "AR_SL", "VERS_OPT", "SL_EXT", "DEBUG", "INCLUDE_DIRS", "OBJS_DIR",
                   "LIB_DIRS", "CXXFLAGS", "LFLAGS", "LIBS", "LINKER", "SVC_LIB", "SVC_DEVICE", "SVC_INC",
                   "LIB_TANGO", "TANGO_LIBS", "OMNI_LIBS", "BIN_DIR", "OBJDIR"})  # fmt: skip
BUILD_TYPES = {"DEBUG": "Debug", "OPTIMIZED": "Release"}
# Rules every Pogo Makefile may carry that do not change what is built.
HOUSEKEEPING = frozenset({"all", "clean", "clean_all", "depend", "help", "dirs", "make_obj_dir",
                          "make_bin_dir", "tag", "show_tag", "cleanall", "distclean"})  # fmt: skip
# Mapped onto the CMake template one by one.
HANDLED = frozenset({"PACKAGE_NAME", "CLASS", "MAJOR_VERS", "MINOR_VERS", "RELEASE_TYPE", "OUTPUT_TYPE",
                     "INC_DIR_USER", "LIB_DIR_USER", "LFLAGS_USR", "CXXFLAGS_USR", "SVC_OBJS",
                     "POST_PROCESSING"})  # fmt: skip


def is_pogo_list(variable: str) -> bool:
    return variable in POGO_LISTS or bool(_POGO_LIST_PATTERN.match(variable))


def unread_variables(values: Mapping[str, str], build: set[str], rule_references: set[str]) -> dict[str, str]:
    """The variables of *values* that the build cannot read, each with why: read only by make rules
    (``SVN_TCS`` through ``SVN_PATH``, read by ``tag:``), by nothing (Starter's ``WWW_HOST``; Pogo's
    tango.opt reads only Pogo's own variables), or only by such variables and by settings the CMake
    template replaces (``OUTPUT_DIR = $(HOME)/bin/$(ARCH)``). *build* are the variables the build reads."""
    by_rules = set(rule_references) | referenced(values, frozenset(rule_references))
    refs = {w: set(REFERENCE.findall(text)) for w, text in values.items()}
    readers = {v: {w for w in values if w != v and v in refs[w]} for v in values}
    ignored = (set(DROPPED) | POGO6) - build
    why: dict[str, str] = {}
    for variable in values:
        if variable in by_rules and variable not in build:
            why[variable] = "variable used only by make rules"
        elif not readers[variable] and variable not in build:
            why[variable] = "variable that nothing in the Makefile uses"
    changed = True
    while changed:  # read only by what the build does not read, down the chain
        changed = False
        for variable, read_by in readers.items():
            if variable in why or variable in build or variable in ignored or not read_by:
                continue
            if read_by <= ignored | set(why):
                names = ", ".join(sorted(read_by))
                why[variable] = f"variable read only by {names}, which the build does not use"
                changed = True
    return why
