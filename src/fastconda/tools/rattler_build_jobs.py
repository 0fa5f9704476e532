"""The rattler-build engine's jobs, as they run inside the engine process, and that process's loop.

:mod:`fastconda.tools.rattler_build` is the parent's side: its :class:`Worker` starts a child that
runs :func:`serve`, which reads pickled jobs from stdin, runs them here (build a recipe, test a
package, prefill the package cache) and sends back their progress and results. This module is
separate because only the child imports it (and the engine): the parent never does, so the two
never import each other, and which code runs in which process shows in the module names. What the
engine's log says (test steps, the failed command) is read by :mod:`fastconda.tools.rattler_build_log`.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from fastconda.errors import EngineError
from fastconda.progress import Progress
from fastconda.tools.rattler import package_cache_path
from fastconda.tools.rattler_build import BuildOutcome, BuiltPackage, TestStep
from fastconda.tools.rattler_build_log import (
    COMPILER_ERROR,
    INDEXING,
    UNSOLVABLE,
    EngineEvents,
    engine_spans,
    test_steps,
    with_error,
    write_log,
)


def _test_package_here(package: Path, *, channels: Sequence[str], progress: Progress) -> tuple[TestStep, ...]:
    from rattler_build import Package, RattlerBuildError

    try:
        loaded = Package.from_file(package)
    except RattlerBuildError as exc:
        msg = f"{package}: the engine cannot read it: {exc}"
        raise EngineError(msg) from None
    if not loaded.test_count:
        return ()
    _forget_unpacked(package.name.removesuffix(".conda").removesuffix(".tar.bz2"))
    events = EngineEvents(progress, f"test {package.name}", tested=[loaded.name])
    started = time.perf_counter()
    try:
        results = loaded.run_tests(channel=list(channels), progress_callback=events)
    except RattlerBuildError as exc:  # the test environment could not be made, or a test failed
        steps = test_steps(events, time.perf_counter(), failed=True)
        if steps and (error := events.failure_cause()[1]):
            steps = with_error(steps, error)
        tail = tuple(f"{line}" for line in "\n".join(events.log).splitlines()[-30:])
        return steps or (TestStep("package tests", False, time.perf_counter() - started, (str(exc), *tail)),)
    passed = all(result.success for result in results)
    if not passed and (error := events.failure_cause()[1]):
        steps = test_steps(events, time.perf_counter(), failed=True)
        return with_error(steps, error) if steps else ()
    return test_steps(events, time.perf_counter(), failed=not passed) or tuple(
        TestStep(f"package test {r.test_index}", r.success, 0.0, tuple(r.output)) for r in results
    )


def _forget_unpacked(stem: str) -> None:
    """Drop an earlier build of the same name-version-build (*stem*) from the shared package cache.

    A rebuild keeps its file name (the build string hashes the variant, not the content), and the
    cache is keyed by that name: without this, the test environment would be linked from the
    *previous* build's unpacked files and test stale code.
    """
    shutil.rmtree(package_cache_path() / stem, ignore_errors=True)


@contextlib.contextmanager
def _environment(environ: Mapping[str, str]) -> Iterator[None]:
    """*environ* in this process's environment (where the engine's ``env.get()`` reads) for one job:
    the worker runs several jobs one after the other, and one job's variables never reach the next."""
    before = {name: os.environ.get(name) for name in environ}
    os.environ.update(environ)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _with_environ(job: Callable[..., BuildOutcome]) -> Callable[..., BuildOutcome]:
    """*job* run with the variables of its ``environ`` argument set, for that job only
    (:func:`_environment`)."""

    def run(*, environ: Mapping[str, str] | None = None, **arguments: Any) -> BuildOutcome:
        with _environment(environ or {}):
            return job(**arguments)

    return run


def _build_recipe_here(
    recipe: Path,
    *,
    channels: Sequence[str],
    work_dir: Path,
    variant_config: Path | None,
    variant_overrides: Mapping[str, Sequence[str]] | None,
    test: bool,
    package_format: str,
    progress: Progress,
) -> BuildOutcome:
    from rattler_build import RattlerBuildError, Stage0Recipe, ToolConfiguration, VariantConfig

    names: list[str] = []  # the packages being built: a test failure's hint tells them from others
    events = EngineEvents(progress, f"build {recipe.parent.name or recipe.name}", tested=names)
    started = time.perf_counter()
    try:
        stage0 = Stage0Recipe.from_file(recipe)
        variants = VariantConfig.from_file(variant_config) if variant_config else None
        if variant_overrides:
            overrides = {k: list(v) for k, v in variant_overrides.items()}
            base = variants.to_dict() if variants is not None else {}
            base.update(overrides)
            variants = VariantConfig(base)
        rendered = stage0.render(variants)
        for variant in rendered:
            package = variant.recipe.package
            names.append(package.name)
            _forget_unpacked(f"{package.name}-{package.version}-{variant.recipe.build.string}")
        results = [
            variant.run_build(
                tool_config=ToolConfiguration(test_strategy="native" if test else "skip"),
                output_dir=work_dir,
                channels=list(channels),
                progress_callback=events,
                package_format=package_format,
            )
            for variant in rendered
        ]
    except RattlerBuildError as exc:
        # the tail ends with the failure, not with the engine indexing its scratch channel (full log kept)
        lines = [line for line in "\n".join(events.log).splitlines() if not INDEXING.match(line)]
        tail = "\n".join(f"    {line}" for line in lines[-30:])
        in_tests = test and events.test_started() is not None
        check, error = events.failure_cause()
        if check:  # the log shows the prefix as $PREFIX, not the recipe's folder as $RECIPE_DIR
            check = check.replace(f"{Path(recipe).parent}/", "$RECIPE_DIR/")
        # the cause first: the failed command's error line; then the engine's own words and the log
        msg = f"rattler-build failed on {recipe}: {exc}"
        if check:
            msg = f"{error}\n  {msg}"
        errors = [line for line in lines[:-30] if COMPILER_ERROR.search(line)][:10]
        if errors:  # a compiler's or CMake's own error scrolled out of the tail
            msg += "\n  errors in the build log:\n" + "\n".join(f"    {line}" for line in errors)
        if tail:
            msg += f"\n  build log (last lines):\n{tail}"
        if (log_file := write_log(work_dir, events.log)) is not None:
            msg += f"\n  full log: {log_file}"
        steps = test_steps(events, time.perf_counter(), failed=True) if in_tests else ()
        if in_tests and not steps:  # failed before any command ran (e.g. the test env did not solve)
            steps = (TestStep("package tests", False, 0.0, tuple(tail.splitlines())),)
        steps = with_error(steps, error) if error else steps
        raise EngineError(msg, tests=steps, unsolvable=UNSOLVABLE in str(exc), check=check) from None
    packages = tuple(
        BuiltPackage(
            path=Path(path),
            name=result.name,
            version=result.version,
            build=result.build_string,
            subdir=result.platform,
        )
        for result in results
        for path in result.packages
    )
    finished = time.perf_counter()
    test_start = events.test_started()
    return BuildOutcome(
        packages=packages,
        log=tuple(events.log),
        seconds=finished - started,
        test_seconds=finished - test_start if test_start is not None else 0.0,
        tests=test_steps(events, finished, failed=False) if test else (),
        spans=engine_spans(events, started, finished),
    )


_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_JOBS: dict[str, Callable[..., Any]] = {
    "build": _with_environ(_build_recipe_here),
    "test": _test_package_here,
}


def serve() -> None:
    """The child's side of :class:`~fastconda.tools.rattler_build.Worker`: jobs from stdin, one after
    the other, until it closes."""
    with contextlib.suppress(OSError, AttributeError):  # end with fastconda even if it is SIGKILLed
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    answers: BinaryIO = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever the engine prints goes to stderr, never into the answers
    import rattler_build  # noqa: F401 - importing early is what a worker started ahead saves

    def send(kind: str, value: Any) -> None:
        answers.write(pickle.dumps((kind, value)))  # whole or not at all: never half an answer
        answers.flush()

    while True:
        try:
            job, arguments = pickle.load(sys.stdin.buffer)
        except EOFError:
            break
        try:
            value = _JOBS[job](**arguments, progress=lambda event: send("progress", event))
        except Exception as exc:  # ours, or an OSError: raised again in the parent, same type
            try:
                send("error", exc)
            except (pickle.PicklingError, TypeError, AttributeError):
                send("crash", traceback.format_exc())
        except BaseException:  # a panic in the native code
            send("crash", traceback.format_exc())
        else:
            send("done", value)
    answers.close()
    os._exit(0)  # rattler's native threads may still be winding down (see fastconda.cli.run)


def _prefill_here(
    specs: Sequence[str], *, channels: Sequence[str], marker_dir: Path, progress: Progress
) -> bool:
    from fastconda.tools.rattler import prefill_package_cache

    return prefill_package_cache(specs, channels=channels, marker_dir=marker_dir)


_JOBS["prefill"] = _prefill_here


def _check_here(
    sections: dict[str, list[str]],
    *,
    channels: Sequence[str],
    origins: dict[str, str],
    marker_dir: Path,
    progress: Progress,
) -> None:
    from fastconda.tools.rattler_missing import check_requirements

    check_requirements(sections, channels, origins=origins, marker_dir=marker_dir)


_JOBS["check"] = _check_here
