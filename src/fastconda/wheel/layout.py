"""Where each file of the wheel goes in the conda package, plus generated files (scripts, RECORD, INSTALLER).

Noarch layout: ``site-packages/``, ``python-scripts/`` (moved to ``bin/`` by the installer) and data at the
prefix root. Binary layout: ``lib/pythonX.Y/site-packages/``, ``bin/`` and ``include/pythonX.Y/<dist>/``.
Python-free layout (a wheel of ``.data/data`` files only): those files at the prefix root and nothing else;
its ``.dist-info`` is pip's record of an installation into a Python, which there is none of.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from installer.scripts import Script

from fastconda.errors import WheelError
from fastconda.wheel.bytecode import cache_tag_for, compiled
from fastconda.wheel.metadata import EntryPoint
from fastconda.wheel.source import WheelContents, WheelEntry
from fastconda.wheel.target import Target

__all__ = ["PLACEHOLDER", "PackageFile", "package_files"]

#: the prefix placeholder conda and rattler replace with the environment's prefix at install time
PLACEHOLDER = "/opt/anaconda1anaconda2anaconda3"
_PYTHON = f"{PLACEHOLDER}/bin/python"
_SHEBANG = re.compile(rb"^#!python(?:w)?(?P<args>[^\r\n]*)(?P<eol>\r?\n|$)")
_DROPPED_DIST_INFO = ("RECORD", "INSTALLER", "direct_url.json", "REQUESTED")
_SCHEMES = ("purelib", "platlib", "scripts", "data", "headers")
#: a module bigger than this gets no byte code (it is read whole to compile it): no real module comes close
_LARGEST_COMPILED = 64 << 20


@dataclass(frozen=True)
class PackageFile:
    """A file of the conda package: path relative to the prefix, content, mode and placeholder use.

    The content is ``data`` or, for a big file of the wheel, the spool file ``spooled`` (streamed into
    the package, never read whole).
    """

    path: str
    data: bytes
    executable: bool = False
    has_placeholder: bool = False
    #: raw sha256 of data when already known (saves hashing large files twice)
    known_sha256: bytes | None = None
    spooled: Path | None = None
    spooled_size: int = 0

    @classmethod
    def of(cls, path: str, entry: WheelEntry, executable: bool | None = None) -> PackageFile:
        """The wheel's *entry* at *path*, without reading a spooled entry."""
        return cls(
            path,
            entry.content if entry.content is not None else b"",
            entry.executable if executable is None else executable,
            known_sha256=entry.sha256,
            spooled=entry.spooled,
            spooled_size=entry.size if entry.spooled is not None else 0,
        )

    @property
    def sha256(self) -> bytes:
        return self.known_sha256 if self.known_sha256 is not None else hashlib.sha256(self.data).digest()

    @property
    def size(self) -> int:
        return self.spooled_size if self.spooled is not None else len(self.data)

    def open(self) -> BinaryIO:
        return self.spooled.open("rb") if self.spooled is not None else io.BytesIO(self.data)


def _record_hash(item: PackageFile) -> str:
    digest = base64.urlsafe_b64encode(item.sha256).rstrip(b"=").decode("ascii")
    return f"sha256={digest}"


def _fix_shebang(data: bytes) -> tuple[bytes, bool]:
    """``#!python`` → the placeholder interpreter (as installers do for wheel scripts)."""
    match = _SHEBANG.match(data)
    if not match:
        return data, False
    line = b"#!" + _PYTHON.encode() + match.group("args") + (match.group("eol") or b"\n")
    return line + data[match.end() :], True


def _script(dest: str, entry: WheelEntry) -> PackageFile:
    """A script of the wheel: ``#!python`` rewritten; a big one (a native program) only when it has that."""
    if entry.spooled is not None:
        with entry.open() as handle:
            head = handle.read(len("#!python"))
        if head != b"#!python":
            return PackageFile.of(dest, entry, executable=True)
    data, placeholder = _fix_shebang(entry.data)
    return PackageFile(dest, data, executable=True, has_placeholder=placeholder)


def _destination(contents: WheelContents, target: Target, path: str) -> tuple[str, str]:
    """(scheme, destination path) of wheel member ``path``."""
    if not path.startswith(contents.data_dir + "/"):
        return "purelib", f"{target.site_packages}/{path}"
    _, scheme, *rest = path.split("/", 2)
    if not rest or not rest[0]:
        msg = f"{contents.filename}: unexpected file {path} directly in the .data directory"
        raise WheelError(msg)
    sub = rest[0]
    if scheme in ("purelib", "platlib"):
        return scheme, f"{target.site_packages}/{sub}"
    if scheme == "scripts":
        if "/" in sub:
            msg = f"{contents.filename}: script {path} must not be in a sub-directory"
            raise WheelError(msg)
        return scheme, f"{target.scripts_dir}/{sub}"
    if scheme == "data":
        return scheme, sub
    if scheme == "headers":
        if target.noarch:
            msg = (
                f"{contents.filename}: C headers ({path}) need a Python-specific include directory; "
                "a noarch: python package cannot hold them"
            )
            raise WheelError(msg)
        return scheme, f"include/python{target.python}/{contents.distribution}/{sub}"
    expected = ", ".join(_SCHEMES)
    msg = f"{contents.filename}: unknown .data scheme {scheme!r} in {path}; expected one of {expected}"
    raise WheelError(msg)


def _entry_point_scripts(target: Target, entry_points: Iterable[EntryPoint]) -> list[PackageFile]:
    """Real launcher files for a binary package (noarch packages list entry points in link.json instead)."""
    files: list[PackageFile] = []
    for point in entry_points:
        script = Script(point.name, point.module, point.attr, section="gui" if point.gui else "console")
        name, data = script.generate(_PYTHON, kind="posix")
        files.append(PackageFile(f"bin/{name}", data, executable=True, has_placeholder=True))
    return files


def _record(target: Target, dist_info: str, files: Iterable[PackageFile]) -> PackageFile:
    """RECORD for the installed layout: paths relative to site-packages, no hash where install rewrites."""
    rows: list[tuple[str, str, str]] = []
    base = target.site_packages
    record_path = f"{base}/{dist_info}/RECORD"
    for item in files:
        if item.path.startswith(base + "/"):
            rel = item.path[len(base) + 1 :]
        else:
            installed = item.path
            if installed.startswith("python-scripts/"):
                installed = "bin/" + installed.split("/", 1)[1]
            rel = "../../../" + installed
        if item.has_placeholder:
            rows.append((rel, "", ""))
        else:
            rows.append((rel, _record_hash(item), str(item.size)))
    rows.append((f"{dist_info}/RECORD", "", ""))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=",", quotechar='"', lineterminator="\n")
    writer.writerows(sorted(rows))
    return PackageFile(record_path, buffer.getvalue().encode("utf-8"))


def _compiled_module(path: str) -> bool:
    """A module that gets byte code: not those of a package's own test suite (``pkg/tests/...``),
    rarely imported and half of numpy's modules."""
    return path.endswith(".py") and "/tests/" not in path


def package_files(
    contents: WheelContents, target: Target, entry_points: Iterable[EntryPoint], *, bytecode: bool = False
) -> tuple[PackageFile, ...]:
    """Every file of the package payload (everything outside ``info/``), sorted by path.

    With ``bytecode``, also the ``.pyc`` of every module in site-packages but those of test suites
    (see :mod:`.bytecode`).
    """
    files: dict[str, PackageFile] = {}

    def add(item: PackageFile, origin: str) -> None:
        if item.path == "info" or item.path.startswith("info/"):
            msg = f"{contents.filename}: {origin} would land in the package's info/ folder"
            raise WheelError(msg)
        if item.path in files:
            msg = f"{contents.filename}: {origin} would overwrite {item.path} in the package"
            raise WheelError(msg)
        files[item.path] = item

    dist_info_prefix = contents.dist_info_dir + "/"
    for entry in contents.entries:
        parent, base = posixpath.split(entry.path)
        if parent == contents.dist_info_dir and base in _DROPPED_DIST_INFO:
            continue
        if target.python_free and entry.path.startswith(dist_info_prefix):
            continue  # its license files go to info/licenses (convert.py)
        if target.noarch and (base.endswith((".pyc", ".pyo")) or "/__pycache__/" in f"/{entry.path}"):
            continue  # byte code is version-specific; the installer compiles it
        scheme, dest = _destination(contents, target, entry.path)
        item = PackageFile.of(dest, entry)
        if scheme == "scripts":
            item = _script(dest, entry)
        add(item, entry.path)
    if bytecode:
        tag = cache_tag_for(target.python)
        site = target.site_packages + "/"
        modules = [
            (p, f.data)
            for p, f in files.items()
            if p.startswith(site) and _compiled_module(p) and f.size <= _LARGEST_COMPILED
        ]
        for path, data in compiled(modules, tag):
            if path not in files:  # a wheel's own byte code for this interpreter is kept
                add(PackageFile(path, data), f"byte code {path}")
    if target.python_free:
        return tuple(files[p] for p in sorted(files))
    if not target.noarch:
        for script in _entry_point_scripts(target, entry_points):
            add(script, f"entry point {posixpath.basename(script.path)}")
    dist_info = f"{target.site_packages}/{contents.dist_info_dir}"
    add(PackageFile(f"{dist_info}/INSTALLER", b"conda\n"), "INSTALLER")
    add(_record(target, contents.dist_info_dir, files.values()), "RECORD")
    return tuple(files[p] for p in sorted(files))
