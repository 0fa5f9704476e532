"""Shared test helpers: small real packages for channel tests (written with conda-package-streaming), build
options, and the layout of the seed's python (the running interpreter, whatever its version)."""

from __future__ import annotations

import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING

from conda_package_streaming.create import conda_builder

if TYPE_CHECKING:
    from fastconda.build import BuildOptions

# The seed channel repackages the interpreter that runs the tests: its stdlib folder and byte-code tag.
PYTHON_LIB = f"lib/python{sys.version_info.major}.{sys.version_info.minor}"
SITE_PACKAGES = f"{PYTHON_LIB}/site-packages"
CACHE_TAG = sys.implementation.cache_tag


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def make_conda(
    folder: Path,
    name: str,
    version: str = "1.0",
    build: str = "0",
    *,
    subdir: str = "noarch",
    depends: tuple[str, ...] = (),
    payload: str = "hello",
) -> Path:
    """A minimal but valid .conda: one file under share/, index.json, paths.json."""
    folder.mkdir(parents=True, exist_ok=True)
    content = payload.encode()
    index = {
        "name": name,
        "version": version,
        "build": build,
        "build_number": 0,
        "depends": list(depends),
        "subdir": subdir,
        "timestamp": 1700000000000,
    }
    if subdir == "noarch":
        index["noarch"] = "generic"
    paths = {
        "paths": [
            {
                "_path": f"share/{name}/data.txt",
                "path_type": "hardlink",
                "sha256": hashlib.sha256(content).hexdigest(),
                "size_in_bytes": len(content),
            }
        ],
        "paths_version": 1,
    }
    stem = f"{name}-{version}-{build}"
    with conda_builder(stem, folder, compression_level=1) as tar:
        _add(tar, f"share/{name}/data.txt", content)
        _add(tar, "info/index.json", json.dumps(index).encode())
        _add(tar, "info/paths.json", json.dumps(paths).encode())
        _add(tar, "info/files", f"share/{name}/data.txt\n".encode())
    return folder / f"{stem}.conda"


def build_options(channels: tuple[str, ...], output: Path, **extra: object) -> BuildOptions:
    """Offline build options with a cache next to *output* (each test's builds are its own)."""
    from fastconda.build import BuildOptions
    from fastconda.settings import load_settings

    settings = load_settings(overrides={"offline": True})
    return BuildOptions(
        channels=channels,
        output=output,
        cache_dir=output.parent / "build-cache",
        wheel_cache=settings.wheel_cache_dir,
        offline=True,
        **extra,  # type: ignore[arg-type]
    )
