"""Shared test helpers: small real packages for channel tests (written with conda-package-streaming), build
options, and the layout of the seed's python (the running interpreter, whatever its version)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING

from conda_package_streaming.create import conda_builder

from tests.conftest import REPO

if TYPE_CHECKING:
    from fastconda.pipeline.options import BuildOptions

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
    from fastconda.pipeline.options import BuildOptions
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


def expand_vars(value: str, env: dict[str, str]) -> str:
    """*value* with ``$NAME`` and ``${NAME}`` replaced from *env*, as a CI runner expands variables."""
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        return os.path.expandvars(value)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def python_project(
    folder: Path, name: str, *, version: str = "0.3.0", needs: tuple[str, ...] = (), script: str = ""
) -> Path:
    """A small hatchling project: module ``<name with _>``, its ``[project] dependencies`` *needs*,
    and a console script ``<Name>`` whose ``--help`` runs *script* (default: prints a usage line)."""
    module = name.replace("-", "_")
    (folder / module).mkdir(parents=True)
    (folder / module / "__init__.py").write_text(f'__version__ = "{version}"\n')
    body = script or "print('usage: server')"
    (folder / module / "cli.py").write_text(f"def main():\n    {body}\n")
    dependencies = ", ".join(json.dumps(n) for n in needs)
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
        f'[project]\nname = "{name}"\nversion = "{version}"\nlicense = "MIT"\n'
        f"dependencies = [{dependencies}]\n\n"
        f'[project.scripts]\n{module.title().replace("_", "")} = "{module}.cli:main"\n\n'
        f'[tool.hatch.build.targets.wheel]\npackages = ["{module}"]\n'
    )
    return folder


PURE = [
    "pip==26.3",
    "setuptools==84.2.1",
    "wheel==0.48.0",
    "hatchling==1.33.0",
    "setuptools-scm==10.3.4",
    "flit-core==4.2.0",
    "packaging==26.4",
    "typing-extensions==4.16.0",
    "pathspec==1.1.1",
    "pluggy==1.7.0",
    "trove-classifiers==2026.9.21.13",
    "click==8.5.1",
    "requests==2.34.2",
    "rich==15.0.0",
]

BINARY = ["psutil==7.2.2", "numpy==2.4.6", "pytango==10.3.1", "black==26.10.1"]


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def assert_consistent(channel: Path) -> list[str]:
    """Every record in every repodata.json names a file that exists with that sha256."""
    names = []
    for repodata in channel.glob("*/repodata.json"):
        data = json.loads(repodata.read_text())
        for key in ("packages", "packages.conda"):
            for filename, record in data.get(key, {}).items():
                path = repodata.parent / filename
                assert path.is_file(), f"{filename} is indexed but missing"
                assert hashlib.sha256(path.read_bytes()).hexdigest() == record["sha256"]
                names.append(record["name"])
    return sorted(names)


EXAMPLE = REPO / "examples" / "pytango-powersupply"


# The real wheels the fast-path tests convert, install and test (fetched by ``python -m tests.fetch``).
#
# Together with PURE and BINARY above they form a closed set: every
# dependency of every wheel is either in this set or in the seed channel, so all of them install offline.

#: dependencies of requests, rich, black and pytest, plus more wheels with console scripts
EXTRA_PURE = [
    "certifi==2026.10.19.post1",
    "idna==3.20",
    "urllib3==2.8.0",
    "markdown-it-py==4.3.0",
    "mdurl==0.1.2",
    "pygments==2.21.0",
    "mypy-extensions==1.2.0",
    "platformdirs==4.14.8",
    "pytest==9.2.0",
    "iniconfig==2.3.1",
    "tomlkit==0.15.2",
    "vcs-versioning==2.6.0",
    "docstring-parser==0.18.0",
    "katversion==1.3",  # a setup_requires plugin of real SKA projects (tests/pipeline/test_legacy.py)
]

#: charset-normalizer: a compiled (mypyc) extension with a console script; pytokens: black's dependency
EXTRA_BINARY = ["charset-normalizer==3.5.3", "pytokens==0.4.1"]

ALL = [*PURE, *EXTRA_PURE, *BINARY, *EXTRA_BINARY]

#: wheels only the fill tests take from a wheelhouse: an older setuptools than the seed's, for a
#: requirement (``setuptools <81``) that the seed has only in versions that do not satisfy it
FILL_ONLY = ["setuptools==80.9.0"]
#: sdists the fill tests offer without a wheel: the fill builds them with fastconda build (six: setuptools,
#: no dependencies, its sdist file name normalised as ``six-1.17.0.tar.gz``)
FILL_SDISTS = ["six==1.17.0"]

#: installed and tested one by one: console scripts, markers, extras, C extensions
TESTED_PURE = [
    "pip==26.3",
    "setuptools==84.2.1",
    "wheel==0.48.0",
    "hatchling==1.33.0",
    "setuptools-scm==10.3.4",
    "flit-core==4.2.0",
    "click==8.5.1",
    "requests==2.34.2",
    "rich==15.0.0",
    "idna==3.20",
    "markdown-it-py==4.3.0",
    "pygments==2.21.0",
    "pytest==9.2.0",
    "vcs-versioning==2.6.0",
]

TESTED_BINARY = [
    "numpy==2.4.6",
    "pytango==10.3.1",
    "psutil==7.2.2",
    "black==26.10.1",
    "charset-normalizer==3.5.3",
]

# the MIT licence as projects ship it (fastconda.cxx.licence recognises it)
MIT_LICENCE = """MIT License

Copyright (c) 2026 Example Lab

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT.
"""
