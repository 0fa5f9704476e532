"""``fastconda build``: a source tree → a tested ``.conda`` in a channel.

Python projects: sdist → grayskull → convert → facility rules → rattler-build (build + test) →
atomic add to the output channel. CMake C++ Tango servers: the recipe comes from the C++ template
(:mod:`fastconda.cxx.recipe_route`) and builds with its variant config. A project's own ``recipe.yaml`` (or
``meta.yaml``, converted on the fly) replaces the recipe steps. Nothing reaches the channel unless
the package tests pass, and nothing does when the build is interrupted (Ctrl-C): the engine runs in
a child process that is ended with everything it started, and the work folder is removed. A failed
build keeps its work folder under ``<cache>/work/`` (the error says where) until the next successful
build of the same project or ``fastconda cache clean``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from fastconda import __version__
from fastconda._files import TEMP_PREFIX, file_lock
from fastconda.channel import local as channels
from fastconda.convert import convert
from fastconda.cxx import recipe_route as cxxbuild
from fastconda.errors import (
    BuildFailed,
    ChannelError,
    EngineError,
    FastcondaError,
    ProjectError,
    SettingsError,
)
from fastconda.pipeline.project import Kind, Project, detect
from fastconda.pipeline.rules import Rules, apply_rules, write_recipe
from fastconda.progress import Progress, ProgressEvent, null_progress
from fastconda.tools import grayskull as grayskull_
from fastconda.tools import pep517 as sdist
from fastconda.tools import rattler_build as engine

IGNORED = {".git", ".hg", ".venv", "venv", "build", "dist", "__pycache__", ".pytest_cache", ".mypy_cache",
           ".ruff_cache", ".tox", ".nox", ".cache", "output"}  # fmt: skip


Route = Literal["recipe", "wheel"]
WORK = "work"  # the cache area of build work folders (a failed build's stays there)
KEEP_FAILED = 3  # failed work folders kept per project
WORK_LOCK = ".fastconda-work.lock"  # held by the build that uses the folder


@dataclasses.dataclass(frozen=True)
class BuildOptions:
    channels: tuple[str, ...]
    output: Path
    cache_dir: Path
    wheel_cache: Path
    recipe: Path | None = None
    test: bool = True
    force: bool = False
    replace: bool = False  # a package of the same file name but other bytes may replace the published one
    offline: bool = False
    pins: tuple[str, ...] = ()  # "name=version": variant values for bare host/build dependencies
    rules: Rules = dataclasses.field(default_factory=Rules)
    via: Route = "recipe"  # "wheel": a CMake server through scikit-build-core and the wheel fast path


@dataclasses.dataclass(frozen=True)
class BuildResult:
    package: Path
    name: str
    version: str
    sha256: str
    skipped: bool
    phases: dict[str, float]
    recipe: str
    notes: tuple[str, ...] = ()
    tests: tuple[engine.TestStep, ...] = ()  # the package test commands that ran

    def to_json(self) -> dict[str, Any]:
        return {
            "package": str(self.package),
            "name": self.name,
            "version": self.version,
            "sha256": self.sha256,
            "skipped": self.skipped,
            "phases": {k: round(v, 3) for k, v in self.phases.items()},
            "seconds": round(sum(self.phases.values()), 3),
            "tests": [
                {"command": t.command, "passed": t.passed, "seconds": round(t.seconds, 3)} for t in self.tests
            ],
            "notes": list(self.notes),
        }


class _Clock:
    def __init__(self, progress: Progress) -> None:
        self.phases: dict[str, float] = {}
        self.progress = progress
        self.interrupted = False  # a Ctrl-C arrived while the package was being added (the commit)

    @contextmanager
    def phase(self, name: str, message: str) -> Iterator[None]:
        self.progress(ProgressEvent(name, message))
        start = time.perf_counter()
        try:
            with _interrupts_deferred(self) if name == "index" else contextlib.nullcontext():
                yield
        except FastcondaError as exc:
            if isinstance(exc, BuildFailed):
                raise
            raise BuildFailed(name, str(exc)) from None
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - start


def build_project(path: Path, options: BuildOptions, *, progress: Progress = null_progress) -> BuildResult:
    """Build *path* into ``options.output``; skipped when nothing that goes into it changed."""
    project = detect(path)
    if options.via == "wheel" and project.kind is not Kind.CMAKE:
        msg = (
            f"{project.root}: --via wheel builds CMake C++ servers; for a Python project run "
            "`python -m build --wheel` and `fastconda wheel` (the wheel fast path)"
        )
        raise ProjectError(msg)
    channels.check_channel_dir(options.output, create=True)
    _check_writable(options.output)  # not after the whole build
    parse_pins(options.pins)  # a bad pin is a usage error before any work
    if not options.channels:
        msg = "no channels to build against: pass -c CHANNEL (or set [tool.fastconda] channels)"
        raise ProjectError(msg)
    recipe_file = options.recipe or project.recipe
    key = _inputs_key(project, options, recipe_file)
    record_file = options.cache_dir / "builds" / f"{key}.json"
    if not options.force and (previous := _still_there(record_file, options.output)) is not None:
        return previous

    clock = _Clock(progress)
    try:
        result = _build(project, options, recipe_file, record_file, clock)
    except BuildFailed as exc:
        exc.phases = {**clock.phases, **exc.phases}  # how far it got, for CI reports
        raise
    if clock.interrupted:  # too late to stop: the package is in, and recorded, and now we stop
        raise KeyboardInterrupt
    return result


def _build(
    project: Project, options: BuildOptions, recipe_file: Path | None, record_file: Path, clock: _Clock
) -> BuildResult:
    notes: list[str] = []
    with _work_folder(options.cache_dir, project) as work:
        if options.via == "wheel":
            packages, tests, recipe_text = _via_wheel(project, options, work, clock=clock, notes=notes)
        else:
            built = _via_recipe(project, options, recipe_file, work, clock=clock, notes=notes)
            packages, tests, recipe_text = built
        with clock.phase("index", f"adding to {options.output}"):
            added = channels.add_packages(options.output, packages, replace=options.replace)
    info = (added.added + added.unchanged)[0]
    result = BuildResult(
        package=info.path,
        name=info.name,
        version=info.version,
        sha256=info.sha256,
        skipped=False,
        phases=clock.phases,
        recipe=recipe_text,
        notes=tuple(notes),
        tests=tests,
    )
    record_file.parent.mkdir(parents=True, exist_ok=True)
    record_file.write_text(json.dumps({**result.to_json(), "recipe": recipe_text}), encoding="utf-8")
    return result


_Built = tuple[list[Path], tuple[engine.TestStep, ...], str]  # packages, test steps, recipe text


def _via_recipe(
    project: Project,
    options: BuildOptions,
    recipe_file: Path | None,
    work: Path,
    *,
    clock: _Clock,
    notes: list[str],
) -> _Built:
    with engine.worker() as worker:  # imports the engine while the recipe is made
        recipe_path = _recipe(project, recipe_file, work, options=options, clock=clock, notes=notes)
        recipe_text = recipe_path.read_text(encoding="utf-8")
        if options.test and project.kind is Kind.PYTHON:
            with clock.phase("test", "warming the package cache for the test environment"):
                _prefill(recipe_text, options, worker)
        variants = cxxbuild.variant_config(project.root) if project.kind is Kind.CMAKE else None
        with clock.phase("build", f"rattler-build: build and test {project.name or project.root.name}"):
            outcome = _run_engine(recipe_path, work / "out", options, clock.progress, variants, worker)
    split = _split_build_and_test(outcome, clock.phases.pop("build"))
    clock.phases["build"] = split["build"]
    clock.phases["test"] = clock.phases.get("test", 0.0) + split["test"]
    return [p.path for p in outcome.packages], outcome.tests, recipe_text


def _via_wheel(
    project: Project, options: BuildOptions, work: Path, *, clock: _Clock, notes: list[str]
) -> _Built:
    """A CMake server through scikit-build-core and the wheel fast path, tested like the recipe route."""
    from fastconda.cxx import wheel_route as cxxwheel

    server = cxxbuild.read_server(project.root)
    route = cxxwheel.build_server_package(
        server, channels=options.channels, work=work / "wheel", cache_dir=options.cache_dir,
        wheel_cache=options.wheel_cache, offline=options.offline, progress=clock.progress,
    )  # fmt: skip
    clock.phases.update(route.phases)
    notes.append(f"C++ server {server.executable} {server.version} via the wheel {route.wheel.name}")
    tests: tuple[engine.TestStep, ...] = ()
    if options.test:
        with clock.phase("test", f"testing {route.package.name} in a fresh environment"):
            tests = _test_server(server, route.package, options, work / "test")
    return [route.package], tests, ""


def _test_server(
    server: cxxbuild.CMakeServer, package: Path, options: BuildOptions, folder: Path
) -> tuple[engine.TestStep, ...]:
    """The recipe route's package test (``tango_server_check.sh``) on a package made another way."""
    from fastconda.settings import PackageTestSettings
    from fastconda.testing.package import run_package_tests

    cxxbuild.write_check_script(folder)
    checks = PackageTestSettings(
        commands=(server.check_command(),), pip_check=False, entry_points=False, package_tests=False
    )
    result = run_package_tests(package, options.channels, checks, cwd=folder)
    steps = tuple(
        engine.TestStep(c.name, not c.failed, c.seconds, tuple(c.output.splitlines()))
        for c in result.checks
        if c.kind != "install" or c.failed
    )
    if not result.ok:
        failed = next(s for s in steps if not s.passed)
        output = "\n".join(f"    {line}" for line in failed.output[-40:])
        msg = f"{failed.command} failed on {package.name}:\n{output}"
        raise BuildFailed("test", msg, tests=steps)  # noqa: EM101 - the phase name, not a message
    return steps


def _recipe(
    project: Project,
    recipe_file: Path | None,
    work: Path,
    *,
    options: BuildOptions,
    clock: _Clock,
    notes: list[str],
) -> Path:
    if recipe_file is not None and recipe_file.name == "recipe.yaml":
        notes.append(f"using the project's recipe {recipe_file}")
        return recipe_file
    if recipe_file is not None:  # a meta.yaml: convert it next to a copy of its folder
        with clock.phase("convert", f"converting {recipe_file}"):
            folder = work / "recipe"
            shutil.copytree(recipe_file.parent, folder)
            result = convert(recipe_file, project_root=project.root)
            notes += [f"convert: {w}" for w in result.warnings]
            notes.append(f"converted the project's {recipe_file} on the fly")
            text = _anchor_source_paths(result.recipe_text, recipe_file.parent)
            return write_recipe(text, folder)
    if project.kind is Kind.CMAKE:
        with clock.phase("recipe", f"recipe for the C++ server {project.root.name}"):
            server = cxxbuild.read_server(project.root)
            notes.append(f"C++ server {server.executable} {server.version}: recipe from the cxx template")
            return cxxbuild.write_recipe(server, work / "recipe")
    with grayskull_.prewarmed() as grayskull:  # imports itself while the sdist is built
        with clock.phase("sdist", f"building the sdist of {project.root.name}"):
            tarball = sdist.build_sdist(
                project.root,
                work / "sdist",
                cache_dir=options.cache_dir,
                offline=options.offline,
                wheel_cache=options.wheel_cache,
            )
        with clock.phase("recipe", f"grayskull on {tarball.name}"):
            meta = grayskull.generate(tarball, work / "grayskull")
    with clock.phase("convert", "meta.yaml → recipe.yaml, facility rules"):
        converted = convert(meta)
        notes += [f"convert: {w}" for w in converted.warnings]
        ruled = apply_rules(converted.recipe_text, project, options.rules)
        notes += list(ruled.notes)
        return write_recipe(ruled.text, work / "recipe", ruled.files)


def _anchor_source_paths(recipe_text: str, recipe_dir: Path) -> str:
    """Relative ``source: path:`` entries point at the original recipe folder, not at the copy."""
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.width = 4096
    data = yaml.load(recipe_text)
    sources = data.get("source")
    entries = sources if isinstance(sources, list) else [sources]
    changed = False
    for entry in entries:
        path = entry.get("path") if isinstance(entry, dict) else None
        if isinstance(path, str) and "${{" not in path and not Path(path).is_absolute():
            entry["path"] = str((recipe_dir / path).resolve())
            changed = True
    if not changed:
        return recipe_text
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def parse_pins(pins: tuple[str, ...]) -> dict[str, list[str]]:
    """``("python=3.11", "pytango=9.4.2")`` → the engine's variant overrides."""
    overrides: dict[str, list[str]] = {}
    for pin in pins:
        name, sep, version = pin.partition("=")
        if not sep or not name.strip() or not version.strip():
            msg = f"invalid pin {pin!r}: write NAME=VERSION, e.g. pytango=9.4.2"
            raise SettingsError(msg)
        overrides[name.strip()] = [version.strip()]
    return overrides


def _run_engine(  # noqa: PLR0917
    recipe: Path,
    out: Path,
    options: BuildOptions,
    progress: Progress,
    variants: Path | None = None,
    worker: engine.Worker | None = None,
) -> engine.BuildOutcome:
    try:
        return engine.build_recipe(
            recipe,
            channels=options.channels,
            work_dir=out,
            variant_config=variants,
            test=options.test,
            variant_overrides=parse_pins(options.pins) or None,
            progress=progress,
            engine=worker,
        )
    except EngineError as exc:
        message = str(exc)
        if exc.unsolvable and variants is not None:
            message += "\n" + cxxbuild.MISSING_TOOLCHAIN_HINT
        raise BuildFailed("test" if exc.in_tests else "build", message, tests=exc.tests) from None


def _split_build_and_test(outcome: engine.BuildOutcome, total: float) -> dict[str, float]:
    test = outcome.test_seconds
    return {"build": max(total - test, 0.0), "test": test}


def _prefill(recipe_text: str, options: BuildOptions, worker: engine.Worker) -> None:
    """Unpack the test environment's packages into rattler's cache once (see env.prefill_package_cache).

    In the engine's process: an install interrupted in native code cannot be stopped in this one.
    """
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load(recipe_text) or {}
    requirements = data.get("requirements") or {}
    specs = ["python", "pip"]
    for spec in requirements.get("run") or []:
        if isinstance(spec, str) and "${{" not in spec and not spec.startswith("python"):
            specs.append(spec)
    # only an optimisation: the engine reports unsolvable test environments itself
    with contextlib.suppress(FastcondaError):
        job = {
            "specs": specs,
            "channels": list(options.channels),
            "marker_dir": options.cache_dir / "prefilled",
        }
        worker.call("prefill", job, null_progress)


def _inputs_key(project: Project, options: BuildOptions, recipe: Path | None) -> str:
    digest = hashlib.sha256()
    parts = [__version__, repr(options.channels), repr(options.rules), str(options.test), str(recipe)]
    parts += [repr(options.pins), options.via]
    for part in parts:
        digest.update(part.encode() + b"\0")
    for file in _source_files(project.root):
        digest.update(str(file.relative_to(project.root)).encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    head = _git_head(project.root)  # versions from git tags change with the commit
    digest.update(head.encode())
    return digest.hexdigest()[:24]


def _source_files(root: Path) -> list[Path]:
    files: list[Path] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED and not d.endswith(".egg-info"))
        files += [Path(folder) / n for n in sorted(names) if not n.endswith((".pyc", ".conda"))]
    return files


def _git_head(root: Path) -> str:
    try:
        done = subprocess.run(
            ["git", "describe", "--tags", "--always", "--dirty"], cwd=root, capture_output=True, text=True,
            timeout=30, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip()


def _still_there(record_file: Path, output: Path) -> BuildResult | None:
    try:
        record = json.loads(record_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    package = Path(record["package"])
    if package.parent.parent.resolve() != output.resolve() or not package.is_file():
        return None
    if channels.file_sha256(package) != record["sha256"]:
        return None
    if channels.listed_sha256(package) != record["sha256"]:
        # the file is there but the index does not list it (a writer was killed): list it now
        try:
            channels.add_packages(output, [package])
        except FastcondaError:  # listed with other content: rebuild, and let the add say why it refuses
            return None
    return BuildResult(
        package=package,
        name=record["name"],
        version=record["version"],
        sha256=record["sha256"],
        skipped=True,
        phases={},
        recipe=record.get("recipe", ""),
        notes=("nothing changed since the last successful build (use --force to rebuild)",),
    )


@contextmanager
def _interrupts_deferred(clock: _Clock) -> Iterator[None]:
    """Adding to the channel is the commit: a Ctrl-C (or SIGTERM) arriving meanwhile must not cut it
    in half. It is noted in *clock*; the build stops once the package is added and recorded.

    Only the main thread can change signal handlers; elsewhere the block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def note(number: int, frame: object) -> None:
        clock.interrupted = True

    previous = {sig: signal.signal(sig, note) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _check_writable(output: Path) -> None:
    """The output channel and its subfolders must take new files: say so before building, not after."""
    folders = [output, *(p for p in sorted(output.iterdir()) if p.is_dir())] if output.is_dir() else []
    if not folders:
        folder = output.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        folders = [folder]
    for folder in folders:
        try:
            fd, probe = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=folder)
        except OSError as exc:
            msg = (
                f"cannot write into {folder}: {exc.strerror}; fix its permissions "
                "or choose another output channel with -o"
            )
            raise ChannelError(msg) from None
        os.close(fd)
        os.unlink(probe)


@contextmanager
def _work_folder(cache_dir: Path, project: Project) -> Iterator[Path]:
    """A work folder under ``<cache>/work/`` for one build: removed after success or interruption,
    kept after a failure (the error says where; rattler-build's "run the script manually" hints point
    into it). A success also removes this project's earlier failed folders; only the last
    :data:`KEEP_FAILED` failures are kept."""
    name = _project_label(project)
    base = cache_dir.absolute() / WORK
    base.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-", dir=base))
    try:
        with file_lock(work / WORK_LOCK):  # `cache clean` and other builds leave it alone meanwhile
            yield work
    except BuildFailed as exc:
        _prune_work(base, name, keep=KEEP_FAILED)
        kept = BuildFailed(
            exc.phase,
            f"{exc.reason}\n  work folder kept: {work} (removed by the next successful build of "
            "this project or `fastconda cache clean`)",
            tests=exc.tests,
        )
        kept.phases = exc.phases
        raise kept from None
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    shutil.rmtree(work, ignore_errors=True)
    _prune_work(base, name, keep=0)


def _project_label(project: Project) -> str:
    label = re.sub(r"[^A-Za-z0-9._+-]+", "_", project.name or project.root.name).strip("._") or "project"
    return label[:64]


def _prune_work(base: Path, name: str, *, keep: int) -> None:
    """Remove this project's work folders but the newest *keep*, never one a running build holds."""
    pattern = re.compile(rf"{re.escape(name)}-\d{{8}}-\d{{6}}-[^/]+")
    folders = sorted(
        (p for p in base.iterdir() if pattern.fullmatch(p.name) and p.is_dir()),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for folder in folders[keep:]:
        try:
            with file_lock(folder / WORK_LOCK, blocking=False):
                shutil.rmtree(folder, ignore_errors=True)
        except (BlockingIOError, FileNotFoundError):
            continue  # in use by a build running now, or already gone
