"""Write a ``.conda``: the ``info/`` files and the payload, deterministically, atomically, streamed.

The two components are written as tar files on disk (members sorted, fixed owner, mode and mtime),
compressed with zstd exactly as ``conda_package_streaming.create.conda_builder`` does, and put into the
outer zip with a fixed date, so the same wheel always gives the same bytes. ``conda_builder`` itself is
not used: it buffers the whole uncompressed payload in memory, and a wheel can be gigabytes. Everything
happens in a temporary folder inside the output directory; only the finished file is moved into place
with ``os.replace``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conda_package_streaming.create import CONDA_PACKAGE_FORMAT_VERSION

try:  # what conda_package_streaming compresses with
    from compression import zstd  # type: ignore[import-not-found, unused-ignore]
except ImportError:
    from backports import zstd  # type: ignore[no-redef, unused-ignore]

from fastconda._files import file_digests
from fastconda.errors import WheelError
from fastconda.wheel.layout import PLACEHOLDER, PackageFile

__all__ = ["InfoInputs", "info_files", "write_conda"]

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
#: zstd worker threads; zstd output does not depend on the number of workers (>= 1)
_THREADS = min(4, os.cpu_count() or 1)


@dataclass(frozen=True)
class InfoInputs:
    """What ``info/`` is made from, besides the payload files."""

    name: str
    version: str
    build: str
    build_number: int
    subdir: str
    noarch: str | None  # "python", "generic" or None
    depends: tuple[str, ...]
    constrains: tuple[str, ...]
    license: str | None
    about: dict[str, Any]
    entry_points: tuple[str, ...]
    timestamp: int  # seconds
    licenses: tuple[PackageFile, ...] = ()  # paths relative to info/licenses/


def _json(data: object) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _paths_json(files: Sequence[PackageFile]) -> bytes:
    paths: list[dict[str, Any]] = []
    for item in files:
        entry: dict[str, Any] = {
            "_path": item.path,
            "path_type": "hardlink",
            "sha256": item.sha256.hex(),
            "size_in_bytes": item.size,
        }
        if item.has_placeholder:
            entry["file_mode"] = "text"
            entry["prefix_placeholder"] = PLACEHOLDER
        paths.append(entry)
    return _json({"paths": paths, "paths_version": 1})


def info_files(inputs: InfoInputs, files: Sequence[PackageFile]) -> list[PackageFile]:
    """The ``info/`` members for a package with payload ``files``."""
    index: dict[str, Any] = {
        "build": inputs.build,
        "build_number": inputs.build_number,
        "depends": list(inputs.depends),
        "name": inputs.name,
        "subdir": inputs.subdir,
        "timestamp": inputs.timestamp * 1000,
        "version": inputs.version,
    }
    if inputs.constrains:
        index["constrains"] = list(inputs.constrains)
    if inputs.license:
        index["license"] = inputs.license
    if inputs.noarch:
        index["noarch"] = inputs.noarch
    if inputs.subdir != "noarch":
        platform, _, arch = inputs.subdir.partition("-")
        index["platform"] = platform
        index["arch"] = {"64": "x86_64", "32": "x86", "arm64": "arm64"}.get(arch, arch)
    info = [
        PackageFile("info/index.json", _json(index)),
        PackageFile("info/paths.json", _paths_json(files)),
        PackageFile("info/files", "".join(f"{f.path}\n" for f in files).encode("utf-8")),
        PackageFile("info/about.json", _json(inputs.about)),
    ]
    if inputs.noarch == "python":
        noarch = {"type": "python", "entry_points": list(inputs.entry_points)}
        link = {"noarch": noarch, "package_metadata_version": 1}
        info.append(PackageFile("info/link.json", _json(link)))
    prefixed = [f for f in files if f.has_placeholder]
    if prefixed:
        lines = "".join(f"{PLACEHOLDER} text {f.path}\n" for f in prefixed)
        info.append(PackageFile("info/has_prefix", lines.encode("utf-8")))
    info.extend(dataclasses.replace(lic, path=f"info/licenses/{lic.path}") for lic in inputs.licenses)
    return sorted(info, key=lambda f: f.path)


def _tarinfo(item: PackageFile, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(item.path)
    info.size = item.size
    info.mtime = mtime
    info.mode = 0o755 if item.executable else 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _tar(path: Path, items: Sequence[PackageFile], mtime: int) -> None:
    with tarfile.TarFile(path, mode="w", encoding="utf-8") as tar:
        for item in items:
            with item.open() as content:  # streamed: a big file is never read whole
                tar.addfile(_tarinfo(item, mtime), content)


def _compress(source: Path, target: Path, level: int) -> None:
    """zstd-compress *source* into *target* with conda_package_streaming's settings (pledged size)."""
    options = {
        zstd.CompressionParameter.compression_level: level,
        zstd.CompressionParameter.nb_workers: _THREADS,
    }
    compressor = zstd.ZstdCompressor(options=options)
    compressor.set_pledged_input_size(source.stat().st_size)
    with source.open("rb") as src, target.open("wb") as dst:
        for block in iter(lambda: src.read(1 << 20), b""):
            dst.write(compressor.compress(block))
        dst.write(compressor.flush())


def _zip(target: Path, components: Sequence[tuple[str, Path]]) -> None:
    """The outer (stored) zip: ``metadata.json`` and the components, every member with a fixed date."""

    def member(name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
        info.compress_type = zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        return info

    with zipfile.ZipFile(target, "x") as archive:
        metadata = json.dumps({"conda_pkg_format_version": CONDA_PACKAGE_FORMAT_VERSION}).encode()
        archive.writestr(member("metadata.json"), metadata)
        for name, path in components:
            big = path.stat().st_size > 2**31
            with path.open("rb") as reader, archive.open(member(name), "w", force_zip64=big) as writer:
                shutil.copyfileobj(reader, writer, 1 << 20)


def write_conda(
    output_dir: Path,
    stem: str,
    info: Sequence[PackageFile],
    files: Sequence[PackageFile],
    *,
    mtime: int,
    compression_level: int,
) -> tuple[Path, str]:
    """Write ``output_dir/<stem>.conda`` atomically; returns its path and sha256."""
    if not 1 <= compression_level <= 22:
        msg = f"zstd compression level must be 1-22, got {compression_level}"
        raise WheelError(msg)
    final = output_dir / f"{stem}.conda"
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix=f".{stem}.", suffix=".tmp", dir=output_dir))
    except OSError as exc:
        msg = f"cannot write {final}: {exc}"
        raise WheelError(msg) from None
    try:
        components: list[tuple[str, Path]] = []
        for component, items in (("pkg", files), ("info", info)):
            tar = workdir / f"{component}.tar"
            _tar(tar, items, mtime)
            compressed = workdir / f"{component}.tar.zst"
            _compress(tar, compressed, compression_level)
            tar.unlink()
            components.append((f"{component}-{stem}.tar.zst", compressed))
        staged = workdir / f"{stem}.fixed"
        _zip(staged, components)
        (sha256,) = file_digests(staged, "sha256")
        staged.chmod(0o644)
        staged.replace(final)
    except OSError as exc:
        msg = f"cannot write {final}: {exc}"
        raise WheelError(msg) from exc
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return final, sha256
