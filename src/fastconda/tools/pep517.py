"""Build a project's sdist (or wheel) through its PEP 517 backend, fast and offline.

The backend runs in a *persistent* build environment kept in the cache, keyed by the project's
``build-system.requires``: made once (from the wheel cache when offline), reused by every later
build (~0.3 s instead of ~2 s for an isolated ``python -m build``). :func:`build` is the general
form (``fastconda.cxx.wheel_route`` builds C++ servers into wheels with scikit-build-core through it).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from fastconda import _proc
from fastconda._failure import last_error_line
from fastconda._files import build_into, file_lock, is_ready
from fastconda.errors import CommandError, ProjectError
from fastconda.settings import Caches

Distribution = Literal["sdist", "wheel"]


class BackendError(ProjectError):
    """The build backend failed; ``output`` holds everything it printed (a compiler's errors, say)."""

    def __init__(self, message: str, output: str) -> None:
        self.output = output
        super().__init__(message)


def _env_key(requires: Sequence[str]) -> str:
    return hashlib.sha256("\0".join([sys.version, *sorted(requires)]).encode()).hexdigest()[:16]


def env_lock(requires: Sequence[str], cache_dir: Path) -> Path:
    """The lock a user of the environment for *requires* holds (shared) while it builds with it."""
    return cache_dir.absolute() / "build-envs" / f"{_env_key(requires)}.lock"


def backend_env(requires: Sequence[str], caches: Caches) -> Path:
    """The python of a venv holding *requires*, created on first use (from the wheel cache only, offline).

    Its folder's modification time is when it was last used (``fastconda cache clean
    --older-than`` goes by it). A half-made environment (an error, Ctrl-C) is removed
    (:func:`fastconda._files.build_into`).
    """
    env = (
        caches.cache_dir.absolute() / "build-envs" / _env_key(requires)
    )  # the backend runs in another folder
    python = env / "bin" / "python"
    if is_ready(env):
        with contextlib.suppress(OSError):
            os.utime(env)
        return python
    try:
        # its scratch folder is named after the key: `cache clean` leaves it alone while a build
        # holds the key's lock; a venv survives being renamed (its python finds pyvenv.cfg next to itself)
        with build_into(env, note=" ".join(requires)) as scratch:
            _proc.run(
                [sys.executable, "-m", "venv", "--without-pip", str(scratch)],
                what="creating a build environment",
            )
            command = [
                sys.executable, "-m", "pip", "--python", str(scratch / "bin" / "python"), "install",
                "--quiet", "--disable-pip-version-check", "--only-binary=:all:",
                "--find-links", str(caches.wheel_cache),
            ]  # fmt: skip
            if caches.offline:
                command.append("--no-index")
            what = f"installing the build backend ({' '.join(requires)})"
            _proc.run([*command, *requires], timeout=900, what=what)
    except CommandError as exc:
        hint = " (offline: put the backend's wheels into the wheel cache)" if caches.offline else ""
        msg = f"{exc}{hint}"
        raise ProjectError(msg) from None
    return python


def build_sdist(root: Path, out_dir: Path, *, caches: Caches) -> Path:
    """Build the sdist of *root* into *out_dir* and return its path."""
    return build(root, "sdist", out_dir, caches=caches)


def build(
    root: Path,
    distribution: Distribution,
    out_dir: Path,
    *,
    caches: Caches,
    extra_requires: Sequence[str] = (),
    config_settings: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Path:
    """Build the *distribution* of *root* into *out_dir* and return its path.

    The backend's environment holds ``build-system.requires`` plus *extra_requires* (tools the
    backend would otherwise ask for, like scikit-build-core's cmake and ninja); it runs with
    *config_settings* and *environ* added to this process's environment. Raises
    :class:`BackendError` (with the backend's whole output) when the backend fails.
    """
    from build import BuildException, ProjectBuilder

    try:
        requires = sorted({*ProjectBuilder(root).build_system_requires, *extra_requires})
    except BuildException as exc:
        msg = f"{root}: cannot read the build system: {exc}"
        raise ProjectError(msg) from None
    with file_lock(env_lock(requires, caches.cache_dir), shared=True):  # `cache clean` waits for us
        python = backend_env(requires, caches)
        return _build_with(
            python, root, distribution, out_dir, config_settings=config_settings, environ=environ
        )


def _build_with(
    python: Path,
    root: Path,
    distribution: Distribution,
    out_dir: Path,
    *,
    config_settings: Mapping[str, str] | None,
    environ: Mapping[str, str] | None,
) -> Path:
    from build import BuildBackendException, BuildException, ProjectBuilder

    out_dir.mkdir(parents=True, exist_ok=True)
    output: list[str] = []

    def runner(
        cmd: Sequence[str], cwd: str | None = None, extra_environ: Mapping[str, str] | None = None
    ) -> None:
        done = _proc.run(
            cmd,
            cwd=Path(cwd) if cwd else None,
            env={**os.environ, **(environ or {}), **(extra_environ or {})},
            check=False,
            timeout=900,
        )
        output.append(done.stdout)
        if done.returncode:
            raise CommandError(cmd, done.returncode, done.stdout)

    builder = ProjectBuilder(root, python_executable=str(python), runner=runner)
    try:
        return Path(builder.build(distribution, out_dir, config_settings=dict(config_settings or {})))
    except (BuildBackendException, BuildException, CommandError) as exc:
        everything = "\n".join(output).strip()
        lines = everything.splitlines()
        tail = "\n".join(lines[-25:])
        # the cause first (the backend's last error line); the hook's own exception only says it failed
        cause = last_error_line(lines) or str(exc).splitlines()[0]
        msg = (
            f"{cause}\n  (the build backend building the {distribution} of {root})\n"
            f"  backend output (last lines):\n{tail}"
        )
        raise BackendError(msg, everything) from None
