"""Fetch real Pogo C++ servers for the tests (Debian's ``tango`` source package) before going offline.

    python -m tests.fetch_pogo

cppTango 9.3.4's source (Debian bookworm's ``tango``) holds real Pogo servers with their ``.xmi`` files
under ``cppserver/``: TangoTest, Starter, TangoAccessControl (with the AccessControl class it inherits)
and DataBase. Nothing of theirs is committed: this script gets the source package with ``apt-get source
--download-only`` through a private apt configuration kept in the test cache (its own ``sources.list``
with one ``deb-src`` line, its own package lists and apt cache: no file of the machine's apt setup is
read for sources or written), checks the ``.dsc`` against the pinned sha256 and every file against the
``.dsc``'s ``Checksums-Sha256``, and unpacks ``cppserver/`` of the upstream tarball into
``.cache/debian-tango/<version>/``. Once there, a second run does nothing and needs no network.

When it cannot be had, the reason is written to ``.cache/debian-tango.unavailable``; the real-server tests
skip with that reason, or fail under ``FASTCONDA_REQUIRE_ALL=1``, where this script exits 1 too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from fastconda.channel.local import file_sha256
from tests.fetch_status import conclude

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("FASTCONDA_TEST_CACHE", REPO / ".cache"))

PACKAGE = "tango"
VERSION = "9.3.4+dfsg1-2+deb12u1"  # bookworm's; a point release replaces it: pin the new one and its .dsc
DSC_SHA256 = "1291a33c56afa2d6a321a5ee689f9320a8ec4d1dc62f5a70df65183318141b8d"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
SOURCES_LINE = f"deb-src [signed-by={KEYRING}] http://deb.debian.org/debian bookworm main"

ROOT = CACHE / "debian-tango"
SERVERS = ROOT / VERSION / "cppserver"  # what the tests read
UNAVAILABLE = CACHE / "debian-tango.unavailable"
STAMP = ROOT / VERSION / ".fastconda-verified"  # holds DSC_SHA256 once unpacked from verified files
DSC = f"{PACKAGE}_{VERSION}.dsc"


def is_ready() -> bool:
    return SERVERS.is_dir() and STAMP.is_file() and STAMP.read_text().strip() == DSC_SHA256


def dsc_files(dsc: Path) -> list[tuple[str, int, str]]:
    """(name, size, sha256) of each file the .dsc lists under Checksums-Sha256."""
    text = dsc.read_text(encoding="utf-8", errors="replace")
    block = re.search(r"^Checksums-Sha256:\n((?:[ \t].*\n)+)", text, re.MULTILINE)
    if block is None:
        return []
    files = []
    for line in block.group(1).splitlines():
        digest, size, name = line.split()
        files.append((name, int(size), digest))
    return files


def verify(downloads: Path) -> str:
    """'' when the .dsc is the pinned one and every file it lists is there with its size and sha256."""
    dsc = downloads / DSC
    if not dsc.is_file():
        return f"{dsc} is missing"
    if (found := file_sha256(dsc)) != DSC_SHA256:
        return f"{dsc} has sha256 {found}, not the pinned {DSC_SHA256}"
    listed = dsc_files(dsc)
    if not listed:
        return f"{dsc} lists no Checksums-Sha256"
    for name, size, digest in listed:
        path = downloads / name
        if not path.is_file():
            return f"{path} (listed in {DSC}) is missing"
        if path.stat().st_size != size or file_sha256(path) != digest:
            return f"{path} does not match the size and sha256 in {DSC}"
    return ""


def _apt(apt_dir: Path, *args: str, cwd: Path) -> str:
    """Run apt-get with the private configuration in *apt_dir*; '' or what went wrong."""
    options = {
        "Dir::Etc::SourceList": apt_dir / "sources.list",
        "Dir::Etc::SourceParts": apt_dir / "sources.list.d",  # empty: the machine's lists are not read
        "Dir::State::Lists": apt_dir / "lists",
        "Dir::Cache": apt_dir / "cache",
    }
    command = ["apt-get", "-q", *(f"-o{k}={v}" for k, v in options.items()), *args]
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=900, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`{' '.join(command)}` did not run: {exc}"
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-10:])
        return f"`{' '.join(command)}` exited with {done.returncode}:\n{tail}"
    return ""


def download(downloads: Path) -> str:
    """``apt-get source --download-only tango=VERSION`` into *downloads*; '' or the reason it failed."""
    if shutil.which("apt-get") is None:
        return "no apt-get on this machine (Debian's tango source package is fetched with it)"
    apt_dir = ROOT / "apt"
    for folder in ("sources.list.d", "lists/partial", "cache/archives/partial"):
        (apt_dir / folder).mkdir(parents=True, exist_ok=True)
    (apt_dir / "sources.list").write_text(SOURCES_LINE + "\n", encoding="utf-8")
    if problem := _apt(apt_dir, "update", "--error-on=any", cwd=ROOT):  # a failed fetch is an error
        return problem
    downloads.mkdir(parents=True, exist_ok=True)
    return _apt(apt_dir, "source", "--download-only", f"{PACKAGE}={VERSION}", cwd=downloads)


def unpack(downloads: Path) -> None:
    """``cppserver/`` of the upstream tarball into SERVERS (a temporary folder renamed into place)."""
    orig = next(downloads / name for name, _, _ in dsc_files(downloads / DSC) if ".orig.tar." in name)
    target = SERVERS.parent
    with tempfile.TemporaryDirectory(dir=ROOT) as scratch, tarfile.open(orig) as archive:
        members = [m for m in archive if "/cppserver/" in f"{m.name}/" and _plain(m)]
        if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4
            archive.extractall(scratch, members=members, filter="data")
        else:
            archive.extractall(scratch, members=members)
        (top,) = Path(scratch).iterdir()  # tango-9.3.4/
        unpacked = Path(scratch) / "unpacked"
        unpacked.mkdir()
        (top / "cppserver").rename(unpacked / "cppserver")
        (unpacked / STAMP.name).write_text(DSC_SHA256 + "\n")
        shutil.rmtree(target, ignore_errors=True)
        unpacked.rename(target)


def _plain(member: tarfile.TarInfo) -> bool:
    """A file or folder inside the archive's top folder (no link, device, absolute path or ``..``)."""
    parts = Path(member.name).parts
    return (member.isfile() or member.isdir()) and not member.name.startswith("/") and ".." not in parts


def fetch() -> str | None:
    """Make SERVERS ready; the reason it cannot be, or None."""
    if is_ready():
        return None
    ROOT.mkdir(parents=True, exist_ok=True)
    downloads = ROOT / "downloads"
    if verify(downloads) and (problem := download(downloads)):
        return f"cannot download Debian's {PACKAGE} {VERSION} source package: {problem}"
    if problem := verify(downloads):
        return f"Debian's {PACKAGE} source package does not verify: {problem}"
    try:
        unpack(downloads)
    except (OSError, tarfile.TarError, StopIteration, ValueError) as exc:
        return f"cannot unpack cppserver/ from Debian's {PACKAGE} source package: {exc}"
    return None


def main() -> int:
    CACHE.mkdir(parents=True, exist_ok=True)
    ready = f"real Pogo servers ready in {SERVERS}"
    return conclude(fetch(), UNAVAILABLE, ready=ready, what="real Pogo servers")


if __name__ == "__main__":
    sys.exit(main())
