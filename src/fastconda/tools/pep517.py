"""Build a project's sdist (or wheel) through its PEP 517 backend, fast and offline.

The backend runs in a *persistent* build environment kept in the cache, keyed by the project's
``build-system.requires``: made once (with rattler from the local channels the build uses when
they hold the requirements, else with pip from the wheel cache, only from it offline), reused by
every later build (~0.3 s instead of ~2 s for an isolated ``python -m build``). :func:`build` is the general
form (``fastconda.cxx.wheel_route`` builds C++ servers into wheels with scikit-build-core through it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Literal

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from fastconda import _proc
from fastconda._failure import last_error_line
from fastconda._files import build_into, file_lock, is_ready, write_bytes_atomic
from fastconda.errors import CommandError, EnvError, ProjectError
from fastconda.settings import Caches
from fastconda.tools import conda_backend

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


def backend_env(requires: Sequence[str], caches: Caches, *, channels: Sequence[str] = ()) -> Path:
    """The python of an environment holding *requires*, made on first use and reused after.

    Made from the local ones of *channels* with rattler when they hold the requirements
    (:mod:`fastconda.tools.conda_backend`: a solve and an install, no network), else as a venv
    with pip from the wheel cache (only from it, offline). Its folder's modification time is when
    it was last used (``fastconda cache clean --older-than`` goes by it). One process makes it
    while the others wait for it; a half-made environment (an error, Ctrl-C) is removed.
    """
    env = (
        caches.cache_dir.absolute() / "build-envs" / _env_key(requires)
    )  # the backend runs in another folder
    python = env / "bin" / "python"
    if is_ready(env):
        with contextlib.suppress(OSError):
            os.utime(env)
        return python
    with file_lock(env.parent / f"{env.name}.make.lock"):  # one maker; the others find it ready
        if is_ready(env):
            return python
        shutil.rmtree(env, ignore_errors=True)  # a killed maker's remains (nobody uses an unready one)
        local = conda_backend.local_channels(channels)
        lacking: EnvError | None = None
        if local:
            try:
                conda_backend.create(env, requires, local)
            except EnvError as exc:
                lacking = exc
            else:
                return python
        _venv_with_pip(env, requires, caches, lacking)
    return python


_NOT_FOUND = re.compile(r"No matching distribution found for (\S+)")


def _venv_with_pip(env: Path, requires: Sequence[str], caches: Caches, lacking: EnvError | None) -> None:
    """Make *env* a venv with *requires* from the wheel cache (and the index, online); *lacking*
    says why the channels could not make it, for the error when pip cannot either."""
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
        found = _NOT_FOUND.search(exc.output)
        if found:
            raise ProjectError(_missing(found.group(1), caches, lacking)) from None
        hint = " (offline: put the backend's wheels into the wheel cache)" if caches.offline else ""
        if lacking is not None:
            hint += f"; not from the channels either: {lacking}"
        msg = f"{exc}{hint}"
        raise ProjectError(msg) from None


def _missing(requirement: str, caches: Caches, lacking: EnvError | None) -> str:
    """One line: what neither source has, where it was looked for, and what to do."""
    wheels = f"the wheel cache {caches.wheel_cache}" + ("" if caches.offline else " or the package index")
    if lacking is None:
        return (
            f"the build backend needs {requirement}, which is not in {wheels}: add its wheel to the "
            "wheel cache, or name a local channel that has it (-c)"
        )
    if isinstance(lacking, conda_backend.ChannelsLack) and _same(lacking.requirement, requirement):
        return (
            f"the build backend needs {lacking.requirement}, which is in neither the channels "
            f"{' '.join(lacking.channels)} nor {wheels}: "
            "add its package to a channel (-c) or its wheel to the wheel cache"
        )
    return (
        f"cannot make the build backend's environment: {lacking}, and {wheels} has no {requirement}: "
        "add what is missing to a channel (-c) or to the wheel cache"
    )


def _same(one: str, other: str) -> bool:
    try:
        return canonicalize_name(Requirement(one).name) == canonicalize_name(Requirement(other).name)
    except InvalidRequirement:
        return one == other


def build_sdist(root: Path, out_dir: Path, *, caches: Caches, channels: Sequence[str] = ()) -> Path:
    """Build the sdist of *root* into *out_dir* and return its path (the backend's environment
    from the local ones of *channels* where they hold it, see :func:`backend_env`)."""
    return build(root, "sdist", out_dir, caches=caches, channels=channels)


def build(
    root: Path,
    distribution: Distribution,
    out_dir: Path,
    *,
    caches: Caches,
    extra_requires: Sequence[str] = (),
    config_settings: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    channels: Sequence[str] = (),
) -> Path:
    """Build the *distribution* of *root* into *out_dir* and return its path.

    The backend's environment holds ``build-system.requires`` plus *extra_requires* (tools the
    backend would otherwise ask for, like scikit-build-core's cmake and ninja); it runs with
    *config_settings* and *environ* added to this process's environment; the environment comes
    from the local ones of *channels* when they hold it (:func:`backend_env`). Raises
    :class:`BackendError` (with the backend's whole output) when the backend fails.
    """
    from build import BuildException, ProjectBuilder

    try:
        requires = sorted({*ProjectBuilder(root).build_system_requires, *extra_requires})
    except BuildException as exc:
        msg = f"{root}: cannot read the build system: {exc}"
        raise ProjectError(msg) from None
    with file_lock(env_lock(requires, caches.cache_dir), shared=True):  # `cache clean` waits for us
        python = backend_env(requires, caches, channels=channels)
        more = _dynamic_requires(python, root, distribution, requires, caches, config_settings, environ)
        if not more:
            return _build_with(
                python, root, distribution, out_dir, config_settings=config_settings, environ=environ
            )
    requires = sorted({*requires, *more})
    with file_lock(env_lock(requires, caches.cache_dir), shared=True):
        python = backend_env(requires, caches, channels=channels)
        return _build_with(
            python, root, distribution, out_dir, config_settings=config_settings, environ=environ
        )


_BUILD_FILES = ("pyproject.toml", "setup.py", "setup.cfg")  # what a backend's dynamic requirements come from


def _dynamic_requires(  # noqa: PLR0917
    python: Path,
    root: Path,
    distribution: Distribution,
    requires: Sequence[str],
    caches: Caches,
    config_settings: Mapping[str, str] | None,
    environ: Mapping[str, str] | None,
) -> list[str]:
    """What the backend asks for beyond *requires* to build *distribution* (PEP 517's
    ``get_requires_for_build_*``: setuptools answers with a ``setup.py``'s ``setup_requires``, such as
    katversion, without which tango-simlib's sdist silently became version 0.0.0).

    Asking costs a backend start (~0.2 s); the answer is kept in the cache, keyed by the files it
    comes from and the backend's environment, so a warm build does not pay it again. A backend that
    fails to answer is left to fail in the build itself, which reports its output.
    """
    from build import BuildBackendException, BuildException, ProjectBuilder

    digest = hashlib.sha256(f"{_env_key(requires)}\0{distribution}".encode())
    for name in _BUILD_FILES:
        with contextlib.suppress(OSError):
            digest.update(name.encode() + b"\0" + (root / name).read_bytes())
    for key, value in sorted((config_settings or {}).items()):
        digest.update(f"{key}={value}".encode())
    record = caches.cache_dir.absolute() / "build-requires" / f"{digest.hexdigest()[:24]}.json"
    with contextlib.suppress(OSError, ValueError):
        return [str(r) for r in json.loads(record.read_text(encoding="utf-8"))]

    builder = ProjectBuilder(root, python_executable=str(python), runner=_runner(environ, []))
    try:
        with _backend_warnings([]):
            asked = builder.get_requires_for_build(distribution, dict(config_settings or {}))
    except (BuildBackendException, BuildException, CommandError):
        return []
    have = set()
    for text in requires:
        with contextlib.suppress(InvalidRequirement):
            have.add(canonicalize_name(Requirement(text).name))
    more = []
    for text in sorted(asked):
        try:
            name = canonicalize_name(Requirement(text).name)
        except InvalidRequirement:
            continue  # the build reports what the backend cannot use
        if name not in have:
            more.append(text)
    with contextlib.suppress(OSError):
        write_bytes_atomic(record, json.dumps(more).encode())
    return more


def _runner(environ: Mapping[str, str] | None, output: list[str]) -> Callable[..., None]:
    """pypa/build's hook runner: our process runner (private TMPDIR, own session), *environ* added,
    everything the hook prints appended to *output*."""

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

    return runner


@contextlib.contextmanager
def _backend_warnings(output: list[str]) -> Iterator[None]:
    """pyproject-hooks (under pypa/build) re-emits what the backend warns (``BuildBackendWarning``: a
    setup.py's unknown ``tests_require``) as Python warnings in this process: they go to the backend's
    output, the build log, instead of the user's terminal, and a warnings filter set to "error" cannot
    fail the build."""
    from pyproject_hooks import BuildBackendWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", BuildBackendWarning)
        try:
            yield
        finally:
            output += [f"warning: {w.message}" for w in caught if issubclass(w.category, BuildBackendWarning)]
            for other in (w for w in caught if not issubclass(w.category, BuildBackendWarning)):
                warnings.warn_explicit(other.message, other.category, other.filename, other.lineno)


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

    builder = ProjectBuilder(root, python_executable=str(python), runner=_runner(environ, output))
    try:
        with _backend_warnings(output):
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
