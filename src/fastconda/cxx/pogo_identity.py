"""Who a Pogo server is: its class and inherited classes (from the ``.xmi``), its version, and the name
its executable gets (Pogo's ``POST_PROCESSING`` may rename it: TangoDatabase's ``DataBase`` → ``DataBaseds``).

The version is never a silent guess. In order: ``--version`` (the command line wins, as everywhere in
fastconda), the Makefile's ``MAJOR_VERS``/``MINOR_VERS``, a version the ``.xmi`` records, the newest git
tag's (as a Python project's comes from its tag), else 0.1.0, and the report says which one was taken.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
import shlex
import subprocess
from pathlib import Path

from fastconda._files import read_text_head
from fastconda.cxx.pogo_xmi import parse_xmi
from fastconda.errors import SettingsError, TangoError

#: what CMake's ``project(... VERSION x)`` accepts: one to four numbers
VERSION = re.compile(r"\d+(\.\d+){0,3}")
DEFAULT_VERSION = "0.1.0"
MAX_MAKEFILE_AM = 1 << 20  # characters of a Makefile.am read


@dataclasses.dataclass(frozen=True)
class VersionChoice:
    version: str
    source: str  # "--version", "Makefile", the .xmi's file name, "git tag" or "default"
    note: str  # how it was chosen, for the report ("" when the Makefile gave it and nothing overrode it)


def choose_version(
    requested: str | None,
    makefile: str,
    xmi: Path | None,
    root: Path,
    *,
    missing: str,
    has_makefile: bool = True,
) -> VersionChoice:
    """The server's version: *requested* (``--version``), else *makefile* (``MAJOR_VERS.MINOR_VERS``, ""
    when it gives none), else the .xmi's, a git tag's or the default; *missing* says why the Makefile
    gave none ("no MAJOR_VERS/MINOR_VERS in the Makefile")."""
    if requested is not None:
        if not VERSION.fullmatch(requested):
            msg = f"--version {requested!r}: not a version CMake accepts (one to four numbers: 1.2.3)"
            raise SettingsError(msg)
        replaced = f": it replaces the Makefile's {makefile}" if makefile and makefile != requested else ""
        return VersionChoice(requested, "--version", f"version {requested} from --version{replaced}")
    if makefile:
        return VersionChoice(makefile, "Makefile", "")
    if xmi is not None and (found := xmi_version(xmi)):
        return VersionChoice(found, xmi.name, f"{missing}: version {found} from {xmi.name}")
    if found := git_tag_version(root):
        return VersionChoice(found, "git tag", f"{missing}: version {found} from git tag")
    hint = changelog_version(root)  # a hint for the user, never taken by itself
    shown = f"--version {hint[1]} ({hint[0]}'s newest entry)" if hint else "--version X.Y"
    where = ", or set MAJOR_VERS and MINOR_VERS in the Makefile" if has_makefile else ""
    note = f"none in the .xmi or a git tag: used {DEFAULT_VERSION}; pass {shown}{where}"  # why *missing*
    return VersionChoice(DEFAULT_VERSION, "default", note)


_CHANGELOGS = ("CHANGELOG.md", "CHANGELOG", "ChangeLog", "CHANGES.md", "CHANGES")
# the first heading that names a version: "#### Starter-7.5 (15/04/2020):", "## [2.1.0] - 2024-01-02",
# "Release 3.2"; not a list item ("- needs python 3.10")
_CHANGELOG_ENTRY = re.compile(
    r"^(?:#+[ \t]*)?(?:\[?v?|[A-Za-z][\w.]*[-_ ]v?|(?:Release|Version)[ \t]+v?)(\d+(?:\.\d+){1,3})\b",
    re.MULTILINE | re.IGNORECASE,
)


def changelog_version(root: Path) -> tuple[str, str] | None:
    """(file name, version) of the newest entry of the project's changelog (Starter's CHANGELOG.md starts
    with ``#### Starter-7.5 (15/04/2020):``), or None; only a hint, since a changelog may run ahead of a
    release or lag behind it."""
    for name in _CHANGELOGS:
        try:
            head, _ = read_text_head(root / name, 4000)
        except OSError:
            continue
        if match := _CHANGELOG_ENTRY.search(head):
            return name, match.group(1)
    return None


def renamed_executable(post_processing: str, name: str) -> str | None:
    """The executable's new name when *post_processing* (expanded) only renames the server's executable
    in its folder (``mv bin/X bin/Xds``), else None: any other command is not CMake's to guess."""
    try:
        words = shlex.split(post_processing)
    except ValueError:
        return None
    if len(words) != 3 or words[0] != "mv":  # mv SOURCE TARGET
        return None
    source, target = (posixpath.normpath(w) for w in words[1:])
    new = posixpath.basename(target)
    same_folder = posixpath.dirname(source) == posixpath.dirname(target)
    if same_folder and posixpath.basename(source) == name and re.fullmatch(r"[A-Za-z_]\w*", new):
        return new
    return None


def automake_program(root: Path) -> str | None:
    """The one program ``Makefile.am`` in *root* builds (``bin_PROGRAMS = DataBaseds``): cppTango's own
    servers have no Pogo Makefile, and automake's name is the one their users run. None without one."""
    try:
        text, _ = read_text_head(root / "Makefile.am", MAX_MAKEFILE_AM)
    except OSError:
        return None
    found = re.findall(r"^[ \t]*bin_PROGRAMS[ \t]*\+?=[ \t]*([^\n#]*)", text, re.MULTILINE)
    programs: list[str] = [word for line in found for word in str(line).split()]
    if len(programs) == 1 and re.fullmatch(r"[A-Za-z_]\w*", programs[0]):
        return programs[0]
    return None


def find_xmi(root: Path, name: str | None) -> Path | None:
    candidates = sorted(root.glob("*.xmi"))
    if name and (root / f"{name}.xmi").is_file():
        return root / f"{name}.xmi"
    return candidates[0] if len(candidates) == 1 else None


def read_xmi(path: Path) -> tuple[str, list[tuple[str, str]]]:
    """The class name and the inherited classes (name, sourcePath) of a Pogo .xmi."""
    root = parse_xmi(path)
    classes = root.find("classes")
    if classes is None or not classes.get("name"):
        kind = root.tag.rsplit("}", 1)[-1]
        msg = f"{path}: no <classes name=...> element (a {kind}; only single-class Pogo projects migrate)"
        raise TangoError(msg)
    parents = [
        (element.get("classname", ""), element.get("sourcePath", ""))
        for element in classes.iter("inheritances")
        if element.get("classname") not in {None, "", "Device_Impl", "Device_4Impl", "Device_5Impl"}
    ]
    return str(classes.get("name")), parents


def xmi_version(path: Path) -> str:
    """A version the .xmi records for the class (a ``version`` attribute on the class, its description or
    identification); ``pogoRevision`` is Pogo's own version and is not used."""
    try:
        classes = parse_xmi(path).find("classes")
    except TangoError:
        return ""
    if classes is None:
        return ""
    for element in (classes, classes.find("description"), classes.find("description/identification")):
        value = element.get("version", "").strip() if element is not None else ""
        if VERSION.fullmatch(value):
            return value
    return ""


# A tag that ends with a version after a separator: v1.4, Serial-1_4, TangoAccessControl-Release_2_1 (not
# 9.3.4-rc1: a pre-release is no version to guess from).
TAG_VERSION = re.compile(r"^(?:.*?[-_/v])?(\d+(?:[._]\d+){0,3})$")


def git_tag_version(root: Path) -> str:
    """``git describe --tags`` of *root* when it is a git work tree (no network): the newest tag's
    version (``Serial-1_4`` → ``1.4``), or "" when it has none."""
    try:
        done = subprocess.run(
            ["git", "describe", "--tags", "--abbrev=0"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    match = TAG_VERSION.match(done.stdout.strip()) if done.returncode == 0 else None
    return match.group(1).replace("_", ".") if match else ""
