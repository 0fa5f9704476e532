"""Install a real Quetz server for the publish tests, before the test suite goes offline.

    python -m tests.fetch_quetz

quetz-server 0.10.4 (the last release, 2023) breaks with today's FastAPI/Starlette/typer/click, so it
gets its own venv (``.cache/quetz-venv``) with pins known to work, never fastconda's venv. Quetz is a
server the tests talk to over HTTP: the Python it runs on need not be the one the tests run under, so
its venv uses the first Python that these pins install on (3.11, then 3.12; its pydantic-core 2.14 has
no wheels for 3.13, and building one needs Rust and crates.io), whichever Python runs this script.
It imports ``distutils``, which Python 3.12 removed: setuptools, pinned too, provides it there (its
``distutils-precedence.pth`` shim). ``FASTCONDA_QUETZ_PYTHON`` names another interpreter.

Re-running with the same pins does nothing. When it cannot be installed, the reason is written to
``.cache/quetz-venv.unavailable``; the Quetz tests skip with that exact reason (loudly: pytest -ra),
or fail under ``FASTCONDA_REQUIRE_ALL=1``, where this script exits 1 too.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.fetch_status import conclude

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("FASTCONDA_TEST_CACHE", REPO / ".cache"))
QUETZ_VENV = CACHE / "quetz-venv"
UNAVAILABLE = CACHE / "quetz-venv.unavailable"
STAMP = QUETZ_VENV / ".fastconda-pins"

# quetz-server 0.10.4 imports `app.route` (gone in Starlette 1.x) and typer 0.9 needs click < 8.2
PINS = (
    "quetz-server==0.10.4",
    "fastapi==0.104.1",
    "starlette==0.27.0",
    "pydantic==2.5.3",
    "SQLAlchemy==2.0.58",
    "uvicorn==0.24.0.post1",
    "typer==0.9.4",
    "click==8.1.8",
    "httpx==0.25.2",
    "setuptools==80.9.0",  # distutils for Python >= 3.12 (3.11's venvs have setuptools 65 already)
)
#: the Pythons the pins are known to install on, best first
QUETZ_PYTHONS = ("3.11", "3.12")


def pins_hash() -> str:
    return hashlib.sha256("\n".join(PINS).encode()).hexdigest()[:16]


def quetz_executable() -> Path:
    return QUETZ_VENV / "bin" / "quetz"


def is_ready() -> bool:
    return quetz_executable().is_file() and STAMP.is_file() and STAMP.read_text().strip() == pins_hash()


def _runs(python: str, version: str | None) -> bool:
    """*python* starts (a pyenv shim of a version not selected does not), is *version*, and has venv."""
    probe = "import sys, venv, ensurepip; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"
    try:
        done = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=False, timeout=60)
    except OSError:
        return False
    return done.returncode == 0 and (version is None or done.stdout.strip() == version)


def quetz_python() -> str:
    """The interpreter for quetz's venv: ``FASTCONDA_QUETZ_PYTHON``, else the first of QUETZ_PYTHONS found
    (the running one, on PATH, or installed by pyenv), else the running one."""
    explicit = os.environ.get("FASTCONDA_QUETZ_PYTHON")
    if explicit:
        return explicit
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    for version in QUETZ_PYTHONS:
        if version == running:
            return sys.executable
        on_path = shutil.which(f"python{version}")
        installed = sorted(str(p) for p in pyenv.glob(f"versions/{version}.*/bin/python{version}"))
        for candidate in [*([on_path] if on_path else []), *reversed(installed)]:
            if _runs(candidate, version):
                return candidate
    return sys.executable


def install() -> str | None:
    """Install the pinned quetz-server into its venv; the reason it failed, or None."""
    if is_ready():
        return None
    shutil.rmtree(QUETZ_VENV, ignore_errors=True)
    steps = [
        [quetz_python(), "-m", "venv", str(QUETZ_VENV)],
        [str(QUETZ_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", *PINS],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False, timeout=900)
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
            return f"`{' '.join(step)}` exited with {done.returncode}:\n{tail}"
    check = subprocess.run(
        [str(quetz_executable()), "--help"],
        cwd=QUETZ_VENV,  # quetz opens a quetz.log in its working directory
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    if check.returncode != 0:
        tail = "\n".join((check.stdout + check.stderr).strip().splitlines()[-15:])
        return f"quetz-server installed but `quetz --help` exited with {check.returncode}:\n{tail}"
    STAMP.write_text(pins_hash() + "\n")
    return None


def main() -> int:
    CACHE.mkdir(parents=True, exist_ok=True)
    problem = install()
    problem = f"quetz-server cannot be installed:\n{problem}" if problem else None
    return conclude(problem, UNAVAILABLE, ready=f"quetz-server ready in {QUETZ_VENV}", what="Quetz")


if __name__ == "__main__":
    sys.exit(main())
