"""Decide what a wheel becomes: a ``noarch: python`` package or a package for one Python and one subdir.

A wheel with nothing for Python in it (only ``.data/data`` files, no requirements, no entry points, tagged
``py3-none-*``: e.g. a C++ program built by scikit-build-core) becomes a package *without* Python:
``noarch: generic`` for ``any``, else a package for its platform's subdir (see :func:`python_free`).

Also builds the environment that PEP 508 markers are evaluated in for that target.
"""

from __future__ import annotations

import platform as _platform
import re
import sys
from dataclasses import dataclass, replace

from packaging.tags import Tag

from fastconda.errors import WheelError
from fastconda.wheel.source import WheelContents

__all__ = ["Target", "host_subdir", "python_free", "resolve_target", "without_python"]

# conda subdir -> (sys_platform, platform_system, platform_machine)
_SUBDIRS: dict[str, tuple[str, str, str]] = {
    "linux-64": ("linux", "Linux", "x86_64"),
    "linux-aarch64": ("linux", "Linux", "aarch64"),
    "linux-ppc64le": ("linux", "Linux", "ppc64le"),
    "linux-s390x": ("linux", "Linux", "s390x"),
    "linux-32": ("linux", "Linux", "i686"),
    "linux-armv7l": ("linux", "Linux", "armv7l"),
    "osx-64": ("darwin", "Darwin", "x86_64"),
    "osx-arm64": ("darwin", "Darwin", "arm64"),
}
_LINUX_ARCH = {
    "x86_64": "linux-64",
    "aarch64": "linux-aarch64",
    "ppc64le": "linux-ppc64le",
    "s390x": "linux-s390x",
    "i686": "linux-32",
    "armv7l": "linux-armv7l",
}
_MANYLINUX = re.compile(r"^(?:manylinux_(\d+)_(\d+)|manylinux(1|2010|2014)|linux)_(\w+)$")
_LEGACY_GLIBC = {"1": (2, 5), "2010": (2, 12), "2014": (2, 17)}
_MACOS = re.compile(r"^macosx_(\d+)_(\d+)_(\w+)$")
_PY_VERSION = re.compile(r"^3\.\d+$")
_CPYTHON = re.compile(r"cp3\d+")


@dataclass(frozen=True)
class Target:
    """Where and for which interpreter the package will be installed."""

    python: str  # "X.Y"
    noarch: bool
    subdir: str  # "noarch" or e.g. "linux-64"
    #: oldest glibc the wheel needs (from its manylinux tag), for a ``__glibc`` constraint
    glibc: tuple[int, int] | None = None
    #: the package holds no Python code and needs no Python (``python`` is then meaningless)
    python_free: bool = False

    @property
    def noarch_kind(self) -> str | None:
        """``"python"``, ``"generic"`` (python-free, any platform) or None (one platform's subdir)."""
        if self.noarch:
            return "python"
        return "generic" if self.subdir == "noarch" else None

    @property
    def py_tag(self) -> str:
        return "py" + self.python.replace(".", "")

    @property
    def site_packages(self) -> str:
        return "site-packages" if self.noarch else f"lib/python{self.python}/site-packages"

    @property
    def scripts_dir(self) -> str:
        return "python-scripts" if self.noarch else "bin"

    def marker_environment(self, platform_subdir: str) -> dict[str, str]:
        """PEP 508 marker variables for this Python on ``platform_subdir`` (``self.subdir`` unless noarch)."""
        sys_platform, system, machine = _SUBDIRS.get(platform_subdir, _SUBDIRS["linux-64"])
        running = f"{sys.version_info.major}.{sys.version_info.minor}"
        full = _platform.python_version() if running == self.python else f"{self.python}.0"
        return {
            "implementation_name": "cpython",
            "implementation_version": full,
            "os_name": "posix",
            "platform_machine": machine,
            "platform_release": "",
            "platform_system": system,
            "platform_version": "",
            "python_full_version": full,
            "platform_python_implementation": "CPython",
            "python_version": self.python,
            "sys_platform": sys_platform,
        }


def host_subdir() -> str:
    """The conda subdir of this machine, e.g. ``linux-64``."""
    machine = _platform.machine()
    if sys.platform == "darwin":
        return "osx-arm64" if machine == "arm64" else "osx-64"
    return _LINUX_ARCH.get(machine, f"linux-{machine}")


def _platform_subdirs(tag: str) -> tuple[set[str], tuple[int, int] | None]:
    """conda subdirs a wheel platform tag can run on, and the glibc it needs (None when not linux)."""
    match = _MANYLINUX.match(tag)
    if match:
        major, minor, legacy, arch = match.groups()
        glibc = (int(major), int(minor)) if major else _LEGACY_GLIBC.get(legacy or "")
        sub = _LINUX_ARCH.get(arch)
        return ({sub} if sub else set()), glibc
    match = _MACOS.match(tag)
    if match:
        arch = match.group(3)
        subs = {
            "x86_64": {"osx-64"},
            "arm64": {"osx-arm64"},
            "universal2": {"osx-64", "osx-arm64"},
            "intel": {"osx-64"},
        }
        return subs.get(arch, set()), None
    return set(), None


def _python_ok(tag: Tag, python: str) -> bool:
    """Whether the interpreter/abi part of ``tag`` runs on CPython ``python``."""
    minor = int(python.split(".")[1])
    interp = tag.interpreter
    if tag.abi == "abi3":
        m = re.fullmatch(r"cp3(\d+)", interp)
        return bool(m) and int(m.group(1)) <= minor if m else False
    if interp in (f"cp3{minor}", f"py3{minor}", "py3", "cp3"):
        return tag.abi in ("none", f"cp3{minor}")
    return False


def resolve_target(filename: str, tags: frozenset[Tag], python: str | None, platform: str | None) -> Target:
    """Pick the target for a wheel with ``tags``, or explain why it cannot be converted."""
    if python is not None and not _PY_VERSION.match(python):
        msg = f"{filename}: target python must look like '3.11', got {python!r}"
        raise WheelError(msg)
    if all(t.platform == "any" and t.abi == "none" and t.interpreter.startswith("py") for t in tags):
        if not any(t.interpreter in ("py3", "py30") or t.interpreter.startswith("py3") for t in tags):
            msg = f"{filename}: the wheel is for Python 2 only"
            raise WheelError(msg)
        chosen = python or f"{sys.version_info.major}.{sys.version_info.minor}"
        return Target(python=chosen, noarch=True, subdir="noarch")
    if python is None:
        own = {
            t.interpreter for t in tags if t.abi not in ("abi3", "none") and _CPYTHON.fullmatch(t.interpreter)
        }
        running = f"{sys.version_info.major}.{sys.version_info.minor}"
        python = f"3.{next(iter(own))[3:]}" if len(own) == 1 else running
    subdir = platform or host_subdir()
    if subdir not in _SUBDIRS:
        msg = f"{filename}: unsupported conda platform {subdir!r}; supported: {', '.join(sorted(_SUBDIRS))}"
        raise WheelError(msg)
    glibcs: list[tuple[int, int]] = []
    platform_ok = python_ok = False
    for tag in tags:
        if tag.platform == "any":
            subs, glibc = {subdir}, None
        else:
            subs, glibc = _platform_subdirs(tag.platform)
        if subdir not in subs:
            continue
        platform_ok = True
        if _python_ok(tag, python):
            python_ok = True
            if glibc is not None:
                glibcs.append(glibc)
    if not platform_ok:
        shown = ", ".join(sorted({t.platform for t in tags}))
        msg = (
            f"{filename}: platform tag(s) {shown} do not run on conda platform {subdir} "
            "(musllinux and Windows wheels are not supported); pass the matching platform"
        )
        raise WheelError(msg)
    if not python_ok:
        shown = ", ".join(sorted({f"{t.interpreter}-{t.abi}" for t in tags}))
        msg = f"{filename}: built for {shown}, not for CPython {python}; pass the matching python version"
        raise WheelError(msg)
    return Target(python=python, noarch=False, subdir=subdir, glibc=min(glibcs) if glibcs else None)


def python_free(contents: WheelContents) -> bool:
    """Whether the wheel has nothing for Python: only ``.data/data`` files besides its ``.dist-info``, no
    ``Requires-Dist``, no entry points, and only ``py3-none-*`` tags (no interpreter ABI)."""
    if any(t.abi != "none" or not t.interpreter.startswith("py3") for t in contents.tags):
        return False
    if contents.metadata.get_all("Requires-Dist") or contents.dist_info("entry_points.txt") is not None:
        return False
    data = f"{contents.data_dir}/data/"
    dist_info = f"{contents.dist_info_dir}/"
    payload = [e.path for e in contents.entries if not e.path.startswith(dist_info)]
    return bool(payload) and all(path.startswith(data) for path in payload)


def without_python(target: Target) -> Target:
    """*target* for a :func:`python_free` wheel: the same subdir (``noarch`` means ``noarch: generic``)."""
    return replace(target, noarch=False, python_free=True)
