"""``fastconda test``: install a package into a fresh prefix and check that it works.

The package (a local ``.conda`` file, put into a throw-away channel listed first unless the first
channel given holds it already, or a match spec) and its test requirements are solved and installed
with :mod:`fastconda.tools.rattler` from the given channels only. Then, concurrently: one Python
process imports every top-level module and checks what ``pip check`` checks (the recipes'
``fastconda_check.py``, without pip: the environment holds what the package needs and nothing
else), ``<entry point> --help`` for each console script (not for packages that use taurus: its
applications have no ``--help``), the user's commands, and optionally the project's pytest suite.
Each check becomes a :class:`CheckResult`; nothing here prints or exits.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from fastconda.channel import local as channels_
from fastconda.channel.index import PACKAGE_SUFFIXES
from fastconda.errors import EnvError, PackageTestError, Unsolvable
from fastconda.progress import Progress, ProgressEvent, null_progress
from fastconda.settings import PackageTestSettings
from fastconda.testing.checks import PYTEST, CheckResult, Runner, environ, write_checker
from fastconda.testing.installed import Installed, read_installed, top_level_modules
from fastconda.testing.junit import Outcome
from fastconda.tools.rattler import Environment, create_environment, local_channel_path
from fastconda.wheel.scripts import safe_script_name

_JOBS = max(1, min(4, os.cpu_count() or 1))

__all__ = [
    "CheckResult",
    "Outcome",
    "PackageTestError",
    "PackageTestResult",
    "run_package_tests",
]


@dataclasses.dataclass(frozen=True)
class PackageTestResult:
    name: str
    version: str
    build: str
    prefix: Path
    kept: bool
    checks: tuple[CheckResult, ...]
    solve_seconds: float
    install_seconds: float
    seconds: float
    packages: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not any(c.failed for c in self.checks)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if c.failed)

    def to_json(self) -> dict[str, Any]:
        return {
            "package": {"name": self.name, "version": self.version, "build": self.build},
            "ok": self.ok,
            "prefix": str(self.prefix),
            "kept": self.kept,
            "solve_seconds": round(self.solve_seconds, 3),
            "install_seconds": round(self.install_seconds, 3),
            "seconds": round(self.seconds, 3),
            "installed": list(self.packages),
            "checks": [
                {**dataclasses.asdict(c), "outcome": str(c.outcome), "seconds": round(c.seconds, 3)}
                for c in self.checks
            ],
        }


def _skipped(kind: str, name: str, why: str) -> CheckResult:
    return CheckResult(kind, name, Outcome.SKIPPED, 0.0, why)


def _plan(
    installed: Installed, env: Environment, settings: PackageTestSettings, runner: Runner, checker: Path
) -> list[Callable[[], list[CheckResult]]]:
    """The checks to run, in report order; each job returns its results. *checker*: the folder of
    :data:`CHECKER`, for the requirement check."""
    jobs: list[Callable[[], list[CheckResult]]] = []
    plain = {m.split(".")[0] for _, m, x in installed.scripts if not x}
    extras_only = {m for _, m, x in installed.scripts if x and "." not in m} - plain
    modules = list(settings.imports) or [
        m
        for m in top_level_modules(installed.files)
        if m not in settings.skip_imports and m not in extras_only
    ]
    skipped = [_skipped("import", m, "only used by an entry point that needs an extra") for m in extras_only]
    checking = checker if settings.pip_check else None
    if modules or checking:
        jobs.append(partial(runner.imports, env.python, modules, skipped, checking))
    elif skipped:
        jobs.append(partial(list, skipped))
    taurus = any(p.name == "taurus" for p in env.packages)
    for name, _module, extras in installed.scripts:
        script = env.prefix / "bin" / name
        why = ""
        if not safe_script_name(name):
            why = "its name is not a plain file name (a path?); it is not run"
        elif not settings.entry_points:
            why = "entry point checks are turned off"
        elif taurus:
            why = "the package uses taurus, whose applications do not support --help"
        elif name in settings.skip_entry_points:
            why = "skipped by the settings"
        elif extras:
            why = f"needs the extra(s) {', '.join(extras)}"
        elif not script.exists():
            why = f"bin/{name} is not installed"
        if why:
            jobs.append(partial(list, [_skipped("entry-point", f"{name} --help", why)]))
        else:
            jobs.append(partial(runner.check, "entry-point", f"{name} --help", (script, "--help")))
    shell = shutil.which("bash") or "/bin/sh"
    for command in settings.commands:
        jobs.append(partial(runner.check, "command", command, (shell, "-c", command)))
    if settings.pytest is not None:
        suite = settings.pytest
        argv: tuple[str | os.PathLike[str], ...] = (env.python, *PYTEST, *settings.pytest_args, suite)
        jobs.append(partial(runner.check, "pytest", f"pytest {suite}", argv))
    return jobs


@dataclasses.dataclass(frozen=True)
class _Target:
    name: str
    spec: str
    channel: str | None  # a local channel holding the package file, or None for a spec
    file: Path | None
    python: bool  # False for a package file that does not depend on python (a C++ server)
    depends: tuple[str, ...] = ()  # a package file's own requirements


def _target(package: str | Path, scratch: Path, channels: Sequence[str]) -> _Target:
    """What to install for a package file or a match spec. A package file is put into a throw-away
    channel, listed first, unless the first of *channels* is the local channel that holds it already
    (``fastconda wheel --channel CH`` then ``fastconda test CH/noarch/X.conda -c CH``)."""
    text = os.fspath(package)
    if text.endswith(PACKAGE_SUFFIXES):
        info = channels_.read_package(Path(text))
        python = any(d.split()[0] == "python" for d in info.depends if d.strip())
        spec = f"{info.name} =={info.version} {info.build}"
        depends = tuple(d for d in info.depends if d.strip())
        if channels and _indexed_in(info.path, channels[0]):
            return _Target(info.name, spec, None, info.path, python, depends)
        local = scratch / "channel"
        channels_.add_packages(local, [info.path])
        return _Target(info.name, spec, channels_.channel_url(local), info.path, python, depends)
    match = re.match(r"^\s*([A-Za-z0-9_][A-Za-z0-9_.\-]*)", text)
    if not match:
        msg = f"{text!r} is neither a .conda file nor a package name"
        raise PackageTestError(msg)
    return _Target(match.group(1).lower(), text.strip(), None, None, True)


def _indexed_in(package: Path, channel: str) -> bool:
    """Whether the local *channel* holds *package* itself: the file in one of its subdirs, listed
    in that subdir's index with this file's sha256 (the index of what the solver will install)."""
    folder = local_channel_path(channel)
    path = package.resolve()
    if folder is None or path.parent.parent != folder.resolve():
        return False
    try:
        index = json.loads((path.parent / "repodata.json").read_bytes())
    except (OSError, ValueError):
        return False
    records = [index.get(key) for key in ("packages.conda", "packages")]
    entry = next((r[path.name] for r in records if isinstance(r, dict) and path.name in r), None)
    return isinstance(entry, dict) and entry.get("sha256") == channels_.file_sha256(path)


def _carried_tests(package: Path, sources: Sequence[str]) -> list[CheckResult]:
    """The package's own tests (``info/tests``), one result per test command."""
    from fastconda.tools import rattler_build as engine

    steps = engine.test_package(package, channels=sources)
    return [
        CheckResult("package-test", s.command, Outcome.PASSED if s.passed else Outcome.FAILED, s.seconds,
                    "\n".join(s.output), s.error)
        for s in steps
    ]  # fmt: skip


def _carries_tests(package: Path) -> bool:
    """Whether *package* has test files: rattler-build's ``info/tests/``, conda-build's ``info/test/``."""
    from conda_package_streaming.package_streaming import stream_conda_info

    try:
        return any(
            m.name.startswith(("info/tests/", "info/test/")) for _, m in stream_conda_info(str(package))
        )
    except Exception:  # unreadable here: the engine says what is wrong with it
        return True


def _named(error: EnvError, target: _Target, specs: Sequence[str], sources: Sequence[str]) -> EnvError:
    """For a package file that cannot be installed: its own requirements (run) and the test's that
    the channels cannot satisfy, named like the build names them; else *error* as it was."""
    from fastconda.tools.rattler_missing import find_missing, missing_error

    if not isinstance(error, Unsolvable) or not target.depends:
        return error
    sections = {"run": list(target.depends), "test": [s for s in specs if s != target.spec]}
    try:
        missing = find_missing(sections, sources)
    except EnvError:
        return error
    return missing_error(missing, sources) if missing else error


def run_package_tests(
    package: str | Path,
    channels: Sequence[str],
    settings: PackageTestSettings | None = None,
    *,
    python: str | None = None,
    keep: bool = False,
    cwd: Path | None = None,
    progress: Progress = null_progress,
) -> PackageTestResult:
    """Install ``package`` with its test requirements into a new prefix and run the checks.

    ``package`` is a ``.conda`` file or a match spec; ``channels`` are the only channels used. Commands
    and pytest run in ``cwd`` (default: the current folder). The prefix is removed unless ``keep``.
    """
    settings = settings or PackageTestSettings()
    if not channels:
        msg = "no channels given: name the channels the dependencies come from (-c)"
        raise PackageTestError(msg)
    if settings.pytest is not None and not settings.pytest.exists():
        msg = f"pytest suite {settings.pytest} does not exist"
        raise PackageTestError(msg)
    started = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="fastconda-test-"))
    prefix = scratch / "prefix"
    try:
        target = _target(package, scratch, channels)
        name, spec = target.name, target.spec
        sources = [target.channel, *channels] if target.channel else list(channels)
        specs = [spec, *settings.requires]
        if target.python or python or settings.pytest is not None:
            specs.append(f"python {python}.*" if python else "python")
        if settings.pytest is not None:
            specs.append("pytest")
        progress(ProgressEvent("install", f"{spec} from {len(sources)} channel(s)"))
        try:
            env = create_environment(prefix, specs, channels=sources, section="test")
        except EnvError as exc:
            why = str(_named(exc, target, specs, sources))
            seconds = time.perf_counter() - started
            failed = CheckResult("install", spec, Outcome.FAILED, seconds, why, why.partition("\n")[0])
            return PackageTestResult(name, "", "", prefix, False, (failed,), 0.0, 0.0, failed.seconds)
        installed = read_installed(prefix, name)
        install = CheckResult("install", spec, Outcome.PASSED, env.solve_seconds + env.install_seconds)
        runner = Runner(
            environ(prefix), cwd or Path.cwd(), float(settings.timeout), prefix, (installed.name,)
        )
        checked = dataclasses.replace(settings, pip_check=settings.pip_check and target.python)
        checker = scratch / "check"
        if checked.pip_check:
            write_checker(checker)
        jobs = _plan(installed, env, checked, runner, checker)
        # a package made from a wheel carries none: no engine process (~0.15 s of CPU) for nothing
        if settings.package_tests and target.file is not None and _carries_tests(target.file):
            jobs.append(partial(_carried_tests, target.file, sources))
        results: list[CheckResult] = [install]
        with ThreadPoolExecutor(max_workers=_JOBS) as pool:
            for number, found in enumerate(pool.map(lambda job: job(), jobs), 1):
                results.extend(found)
                progress(ProgressEvent("check", ", ".join(c.name for c in found), number, len(jobs)))
        return PackageTestResult(
            name=installed.name,
            version=installed.version,
            build=installed.build,
            prefix=prefix,
            kept=keep,
            checks=tuple(results),
            solve_seconds=env.solve_seconds,
            install_seconds=env.install_seconds,
            seconds=time.perf_counter() - started,
            packages=tuple(f"{p.name} {p.version} {p.build}" for p in env.packages),
        )
    finally:
        shutil.rmtree(scratch / "channel", ignore_errors=True)
        if not keep:
            shutil.rmtree(scratch, ignore_errors=True)
