"""``fastconda build``: a source tree → a tested ``.conda`` in a channel; this module dispatches.

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

import dataclasses
import json
import tempfile
from pathlib import Path

from fastconda.channel import local as channels
from fastconda.errors import BuildFailed, ProjectError, SettingsError
from fastconda.pipeline.options import BuildOptions, BuildResult, Clock, parse_pins
from fastconda.pipeline.project import Kind, Project, detect
from fastconda.pipeline.recipe_route import render, via_recipe
from fastconda.pipeline.record import inputs_key, still_there
from fastconda.pipeline.workdir import check_writable, work_folder
from fastconda.progress import Progress, null_progress
from fastconda.tools.rattler import local_channel_path


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
    check_writable(options.output)  # not after the whole build
    parse_pins(options.pins)  # a bad pin is a usage error before any work
    if not options.channels:
        msg = "no channels to build against: pass -c CHANNEL (or set [tool.fastconda] channels)"
        raise ProjectError(msg)
    if options.offline and (remote := _remote(options.channels)):
        msg = (
            f"channel {remote[0]} cannot be reached offline: name a local channel with -c DIR "
            "(or [tool.fastconda] channels in pyproject.toml)"
        )
        raise SettingsError(msg)
    if options.fill is not None:  # the fill channel first, so that what it holds is seen (fill.py)
        channels.create_channel(options.fill.channel)
        options = dataclasses.replace(options, channels=options.fill.search_channels)
    recipe_file = options.recipe or project.recipe
    key = inputs_key(project, options, recipe_file)
    record_file = options.cache_dir / "builds" / f"{key}.json"
    if not options.force and (previous := still_there(record_file, options.output)) is not None:
        return previous

    clock = Clock(progress)
    try:
        result = _build(project, options, recipe_file, record_file, clock)
    except BuildFailed as exc:
        raise exc.with_phases(clock.phases) from None  # how far it got, for CI reports
    if clock.interrupted:  # too late to stop: the package is in, and recorded, and now we stop
        raise KeyboardInterrupt
    return result


@dataclasses.dataclass(frozen=True)
class RenderedRecipe:
    """The final recipe of a project, and what the steps that made it noted."""

    text: str
    notes: tuple[str, ...]
    phases: dict[str, float]


def render_project(
    path: Path, options: BuildOptions, *, progress: Progress = null_progress
) -> RenderedRecipe:
    """The recipe ``fastconda build`` would hand to the engine for *path*: the same steps (sdist →
    grayskull → convert → facility rules, the project's own recipe converted, or the C++ template),
    without the engine and without touching the output channel or the build records.

    Its scratch folder is a temporary one, not a build's work folder: rendering must not remove a
    failed build's work folder that someone may be looking at.
    """
    project = detect(path)
    if options.via == "wheel":
        msg = f"{project.root}: --via wheel builds without a recipe; --render shows the recipe route's"
        raise SettingsError(msg)
    parse_pins(options.pins)
    clock = Clock(progress)
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="fastconda-render-") as scratch:
        text = render(
            project, options, options.recipe or project.recipe, Path(scratch), clock=clock, notes=notes
        )
        if scratch in text:
            notes.append(
                f"the recipe's source is the sdist made in {scratch}, removed now (a build makes it again)"
            )
    return RenderedRecipe(text, tuple(notes), dict(clock.phases))


def _build(
    project: Project, options: BuildOptions, recipe_file: Path | None, record_file: Path, clock: Clock
) -> BuildResult:
    notes: list[str] = []
    with work_folder(options.cache_dir, project) as work:
        if options.via == "wheel":
            from fastconda.cxx.wheel_route import via_wheel  # the C++ wheel route's modules load only here

            packages, tests, recipe_text = via_wheel(project, options, work, clock=clock, notes=notes)
        else:
            built = via_recipe(project, options, recipe_file, work, clock=clock, notes=notes)
            packages, tests, recipe_text = built
        with clock.phase("index", f"adding to {options.output}"):
            keep = options.keep_published and not options.replace
            added = channels.add_packages(
                options.output, packages, replace=options.replace, keep_existing=keep
            )
    info = (added.added + added.unchanged)[0]
    if keep and info in added.unchanged and (published := channels.file_sha256(info.path)) != info.sha256:
        notes.append(
            f"{info.path.name} is already in {options.output} with other content: the published one is "
            "kept (this build was tested against the packages it needs, just rebuilt); bump its build "
            "number to publish a new one"
        )
        info = dataclasses.replace(info, sha256=published)
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
        compiler_cache=clock.compiler_cache,
        engine_steps=clock.engine_steps,
    )
    record_file.parent.mkdir(parents=True, exist_ok=True)
    record_file.write_text(json.dumps({**result.to_json(), "recipe": recipe_text}), encoding="utf-8")
    return result


def _remote(names: tuple[str, ...]) -> list[str]:
    """The channels that are not local folders (a URL other than ``file://``, or a name such as
    ``conda-forge``): an offline build cannot reach them, and never falls back to another."""
    return [c for c in names if local_channel_path(channels.as_channel_url(c)) is None]
