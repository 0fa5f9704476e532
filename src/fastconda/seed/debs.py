"""Debian .debs as the raw material of the ``cxx`` seed profile: fetch, cache, unpack as a conda prefix.

No conda channel is reachable on an air-gapped machine, but Debian's apt is: its Tango C++ stack
(libtango, omniORB, ZeroMQ, cppzmq) and pkgconf are fetched with ``apt-get download`` (no root
needed) into the deb cache once, then used offline. :func:`unpack` turns a set of .debs into the
tree of one conda package: ``usr/lib/<triplet>`` → ``lib``, ``usr/include`` → ``include``, and
relocatable ``.pc`` files. Which debs make which package is data: ``recipe_templates/seed/cxx/debs.toml``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import tempfile
import tomllib
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote

from fastconda import _proc
from fastconda.errors import CommandError, SeedError
from fastconda.progress import Progress, ProgressEvent, null_progress
from fastconda.templates import read_template

TABLE = "seed/cxx/debs.toml"
NO_APT = (
    "the cxx seed profile repackages Debian's Tango C++ packages and needs Debian's apt "
    "(apt-get and dpkg-deb), which this machine does not have ({missing} not found). "
    "On a machine that can reach conda-forge, build C++ servers against conda-forge's compilers "
    "and cpptango instead (-c conda-forge); the cxx profile is for air-gapped Debian hosts."
)
# what of a .deb goes where in the conda prefix; everything else (docs, man pages, /etc) is left out
_LAYOUT = {
    "usr/include": "include",
    "usr/bin": "bin",
    "usr/share/cmake": "share/cmake",
    "usr/share/pkgconfig": "share/pkgconfig",
    "usr/share/aclocal": "share/aclocal",
}
_DROP = ("*.a", "*.la", "share/pkgconfig/personality.d")  # static libraries are not shipped
_UNKNOWN = re.compile(r"Unable to locate package (\S+)")


@dataclasses.dataclass(frozen=True)
class DebPackage:
    """One conda package of the table: the debs it is made of and how it depends on the others."""

    name: str
    debs: tuple[str, ...]
    pin: str | None = None
    run: tuple[str, ...] = ()
    license: str = ""
    summary: str = ""
    #: the pkg-config module whose ``Version`` is the package's, when Debian's version is another
    #: product's (libmariadb3 1:10.11.19 is MariaDB Connector/C 3.3.20, conda-forge's version scheme)
    version_pc: str = ""
    #: files of the debs left out (globs in the conda prefix), beside static libraries and docs
    drop: tuple[str, ...] = ()

    def run_export(self, version: str) -> str | None:
        """``name >=9.3.4,<9.4`` for pin ``x.x``; None without a pin."""
        if not self.pin:
            return None
        parts = version.split(".")[: self.pin.count("x")]
        parts[-1] = str(int(parts[-1]) + 1)
        return f"{self.name} >={version},<{'.'.join(parts)}"


def table() -> dict[str, DebPackage]:
    """The bundled table of deb-based packages, by conda name."""
    data = tomllib.loads(read_template("recipe", TABLE))
    packages: dict[str, DebPackage] = {}
    for name, entry in data.items():
        packages[name] = DebPackage(
            name=name,
            debs=tuple(entry["debs"]),
            pin=entry.get("pin"),
            run=tuple(entry.get("run", ())),
            license=entry.get("license", ""),
            summary=entry.get("summary", ""),
            version_pc=entry.get("version_pc", ""),
            drop=tuple(entry.get("drop", ())),
        )
    for package in packages.values():
        unknown = [r for r in package.run if r not in packages]
        if unknown:
            msg = f"{TABLE}: {package.name} needs {', '.join(unknown)}, which the table does not define"
            raise SeedError(msg)
    return packages


def upstream_version(deb_version: str) -> str:
    """The upstream part of a Debian version: ``1:9.3.4+dfsg1-2+deb12u1`` → ``9.3.4``."""
    match = re.match(r"(?:\d+:)?(\d+(?:\.\d+)*)", deb_version)
    if not match:
        msg = f"cannot read an upstream version from the Debian version {deb_version!r}"
        raise SeedError(msg)
    return match.group(1)


def deb_version(deb: Path) -> str:
    """The Debian version in an ``apt-get download`` file name (``name_version_arch.deb``)."""
    return unquote(deb.name.split("_")[1])


def _unpack(deb: Path, dest: Path) -> None:
    try:
        _proc.run(["dpkg-deb", "-x", deb, dest], timeout=600)
    except CommandError as exc:
        msg = f"{deb}: cannot unpack this .deb (delete it from the deb cache and retry):\n{exc}"
        raise SeedError(msg) from None


def pc_version(debs: Sequence[Path], module: str) -> str:
    """The ``Version:`` of the pkg-config module *module* that one of *debs* holds."""
    require_tools("dpkg-deb")
    with tempfile.TemporaryDirectory(prefix="fastconda-deb-") as scratch:
        for deb in debs:
            _unpack(deb, Path(scratch))
        for pc in Path(scratch).glob(f"usr/*/**/pkgconfig/{module}.pc"):
            text = pc.resolve().read_text(encoding="utf-8", errors="replace")
            if match := re.search(r"^Version:\s*(\d+(?:\.\d+)*)", text, re.MULTILINE):
                return match.group(1)
    names = ", ".join(d.name for d in debs)
    msg = f"{TABLE}: version_pc = {module!r}, but none of {names} holds a {module}.pc with a Version"
    raise SeedError(msg)


def require_tools(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        raise SeedError(NO_APT.format(missing=" and ".join(missing)))


def resolve_debs(
    names: Sequence[str],
    cache: Path,
    *,
    offline: bool,
    refresh: bool = False,
    progress: Progress = null_progress,
) -> dict[str, Path]:
    """The .deb file of each package in *names*, from (and into) the deb cache *cache*."""
    found = {} if refresh else {name: deb for name in names if (deb := _cached(name, cache)) is not None}
    missing = [name for name in names if name not in found]
    if missing:
        require_tools("apt-get", "dpkg-deb")  # without Debian's apt, fetching them is no advice
    if missing and offline:
        msg = (
            f"offline, and the deb cache {cache} lacks {', '.join(missing)}.\n"
            f"  Fetch them on this Debian release with apt (no root needed): "
            f"`mkdir -p {cache} && cd {cache} && apt-get download {' '.join(missing)}`\n"
            f"  (or run `fastconda channel bootstrap DIR --profile cxx` once without --offline)"
        )
        raise SeedError(msg)
    if missing:
        progress(ProgressEvent("debs", f"apt-get download {' '.join(missing)} into {cache}"))
        _download(missing, cache)
        for name in missing:
            deb = _cached(name, cache)
            if deb is None:
                msg = f"apt-get download {name} succeeded but left no {name}_*.deb in {cache}"
                raise SeedError(msg)
            found[name] = deb
    return {name: found[name] for name in names}


def _cached(name: str, cache: Path) -> Path | None:
    candidates = sorted(cache.glob(f"{name}_*.deb"), key=lambda p: p.stat().st_mtime_ns)
    return candidates[-1] if candidates else None


def _download(names: Sequence[str], cache: Path) -> None:
    require_tools("apt-get", "dpkg-deb")
    cache.mkdir(parents=True, exist_ok=True)
    command = ["apt-get", "download", "-q"]
    if os.geteuid() == 0:  # apt's download user cannot write into the caller's folder
        command += ["-o", "APT::Sandbox::User=root"]
    with tempfile.TemporaryDirectory(prefix=".download-", dir=cache) as scratch:
        try:
            _proc.run([*command, *names], cwd=Path(scratch), timeout=1800)
        except CommandError as exc:
            unknown = _UNKNOWN.findall(exc.output)
            if unknown:
                msg = (
                    f"apt-get cannot find {', '.join(unknown)}: the package lists are missing or stale. "
                    f"Run `apt-get update` (as root) and retry; the cxx profile needs Debian 12's packages."
                )
            else:
                msg = f"apt-get download {' '.join(names)} failed (is a Debian mirror reachable?)"
            tail = "\n".join(f"    {line}" for line in exc.output.strip().splitlines()[-8:])
            msg += f"\n  apt-get said:\n{tail}"
            raise SeedError(msg) from None
        for deb in Path(scratch).glob("*.deb"):  # complete files only, renamed into place
            os.replace(deb, cache / deb.name)


def unpack(debs: Sequence[Path], tree: Path, licenses: Path, drop: Sequence[str] = ()) -> None:
    """Lay the files of *debs* out as a conda prefix in *tree*; their copyright files go to *licenses*;
    files matching the globs *drop* are left out."""
    require_tools("dpkg-deb")
    licenses.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fastconda-deb-") as scratch:
        raw = Path(scratch)
        for deb in debs:
            _unpack(deb, raw)
            package = deb.name.split("_")[0]
            copyright_file = raw / "usr" / "share" / "doc" / package / "copyright"
            if copyright_file.is_file():
                shutil.copyfile(copyright_file, licenses / f"{package}.copyright")
        layout = dict(_LAYOUT)
        layout.update({f"usr/lib/{d.name}": "lib" for d in (raw / "usr" / "lib").glob("*-linux-gnu*")})
        tree.mkdir(parents=True, exist_ok=True)
        for source, target in layout.items():
            if (raw / source).is_dir():
                shutil.copytree(raw / source, tree / target, symlinks=True, dirs_exist_ok=True)
    for pattern in (*_DROP, *drop):
        for path in list(tree.rglob(pattern) if "/" not in pattern else tree.glob(pattern)):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    dangling = [str(p.relative_to(tree)) for p in tree.rglob("*") if p.is_symlink() and not p.exists()]
    if dangling:
        names = ", ".join(d.name for d in debs)
        msg = (
            f"{', '.join(dangling)}: symlinks to files that none of {names} holds (add the .deb to the table)"
        )
        raise SeedError(msg)
    for pc in [*tree.glob("lib/pkgconfig/*.pc"), *tree.glob("share/pkgconfig/*.pc")]:
        pc.write_text(relocatable_pc(pc.read_text(encoding="utf-8")), encoding="utf-8")


def relocatable_pc(text: str) -> str:
    """A Debian ``.pc`` file made relocatable: ``prefix=${pcfiledir}/../..``, ``libdir=${prefix}/lib``.

    ``Requires.private`` goes: it names the -dev packages of libraries linked privately (krb5-gssapi,
    libsodium, ...), needed only for static linking, which the seed packages do not support; pkgconf
    would refuse ``--cflags`` without them.
    """
    lines: list[str] = []
    for line in text.splitlines():
        if line.startswith("Requires.private"):
            continue
        if re.match(r"prefix\s*=", line):
            quote = '"' if '"' in line else ""
            lines.append(f"prefix={quote}${{pcfiledir}}/../..{quote}")
            continue
        flat = re.sub(r"/lib/[a-z0-9_]+-linux-gnu[a-z0-9_]*", "/lib", line)
        lines.append(re.sub(r"(?<![\w}])/usr(?=/)", "${prefix}", flat))
    return "\n".join(lines) + "\n"
