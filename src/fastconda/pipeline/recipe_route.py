"""The recipe route: a recipe (grayskull's for a Python project, the C++ template for a CMake server,
or the project's own) built and tested by the rattler-build engine in its worker process."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from fastconda._failure import last_error_line
from fastconda.cxx import ccache, server_check
from fastconda.cxx import recipe_route as cxxbuild
from fastconda.cxx.licence import project_licence
from fastconda.errors import (
    BuildFailed,
    EngineError,
    FastcondaError,
    ProjectError,
    RecipeError,
    Unsolvable,
)
from fastconda.pipeline import recipe_env
from fastconda.pipeline.options import BuildOptions, Built, Clock, parse_pins
from fastconda.pipeline.pkg_info import SdistMetadata, conda_requirements, read_sdist_metadata
from fastconda.pipeline.project import Kind, Project
from fastconda.pipeline.requirements import check_or_fill
from fastconda.pipeline.rules import apply_rules, refuse_scripts, write_recipe
from fastconda.pipeline.sdist_recipe import recipe_from_sdist
from fastconda.progress import Progress, null_progress
from fastconda.tools import pep517 as sdist
from fastconda.tools import rattler_build as engine
from fastconda.tools.grayskull import GrayskullError, prewarmed


def via_recipe(
    project: Project,
    options: BuildOptions,
    recipe_file: Path | None,
    work: Path,
    *,
    clock: Clock,
    notes: list[str],
) -> Built:
    with engine.worker() as worker:  # imports the engine while the recipe is made
        if options.test and project.kind is Kind.PYTHON and recipe_file is None:
            _prefill_ahead(project, options, worker)
        recipe_path = _recipe(project, recipe_file, work, options=options, clock=clock, notes=notes)
        recipe_text = recipe_path.read_text(encoding="utf-8")
        environ = {"CPU_COUNT": str(options.cpu_count)} if options.cpu_count else {}
        if project.kind is Kind.CMAKE and options.compiler_cache:
            environ |= ccache.environ(options.cache_dir, work)
        if recipe_file is not None:  # the project's own recipe may read its source from the environment
            environ |= _own_recipe_environment(project, recipe_file, recipe_text, work, options, clock, notes)
        check_or_fill(recipe_text, project, recipe_file, options, worker, clock=clock, notes=notes)
        if options.test and project.kind is Kind.PYTHON:
            with clock.phase("test", "warming the package cache for the test environment"):
                _prefill(recipe_text, options, worker)
        variants = cxxbuild.project_variant_config(project.root) if project.kind is Kind.CMAKE else None
        with clock.phase("build", f"rattler-build: build and test {_label(project)}"):
            try:
                outcome = _run_engine(
                    recipe_path, work / "out", options, clock.progress, variants, worker, environ=environ
                )
            except BuildFailed as exc:
                if exc.phase == "test" and project.kind is Kind.CMAKE and recipe_file is None:
                    raise _failed_server_test(exc, project, work / "out") from None
                raise
    if project.kind is Kind.CMAKE:  # what the start check noted (a Tango exception, a -nodb crash)
        notes += server_check.check_notes(t.output for t in outcome.tests)
    if (stats := ccache.read_stats(options.cache_dir, work)) is not None:
        notes.append(stats.note())
        clock.compiler_cache = stats.to_json()
    clock.engine_steps = dict(outcome.spans)
    split = _split_build_and_test(outcome, clock.phases.pop("build"))
    clock.phases["build"] = split["build"]
    clock.phases["test"] = clock.phases.get("test", 0.0) + split["test"]
    return [p.path for p in outcome.packages], outcome.tests, recipe_text


def _failed_server_test(exc: BuildFailed, project: Project, out: Path) -> BuildFailed:
    """A C++ server's failed package test, with the package that was built and how to go on."""
    server = cxxbuild.read_server(project.root)
    built = sorted(out.glob(f"**/{server.package}-{server.version}-*.conda"))
    hint = server_check.failed_start_hint(server.executable, project.root, built[0] if built else None)
    return exc.with_reason(f"{exc.reason}\n{hint}")


def _label(project: Project) -> str:
    """What the progress lines call *project*: a C++ server by its executable (Pogo's class name), a
    Python project by its name, else by its folder."""
    if project.kind is Kind.CMAKE:
        # a project's own recipe may build a CMakeLists.txt that read_server cannot read: then the folder
        with contextlib.suppress(ProjectError):
            return f"the C++ server {cxxbuild.read_server(project.root).executable}"
    return project.name or project.root.name


def render(
    project: Project,
    options: BuildOptions,
    recipe_file: Path | None,
    work: Path,
    *,
    clock: Clock,
    notes: list[str],
) -> str:
    """The recipe :func:`via_recipe` would hand to the engine, made the same way (``build --render``)."""
    path = _recipe(project, recipe_file, work, options=options, clock=clock, notes=notes)
    return path.read_text(encoding="utf-8")


def _recipe(
    project: Project,
    recipe_file: Path | None,
    work: Path,
    *,
    options: BuildOptions,
    clock: Clock,
    notes: list[str],
) -> Path:
    if recipe_file is not None and recipe_file.name == "recipe.yaml":
        notes.append(f"using the project's recipe {recipe_file}")
        return recipe_file
    if recipe_file is not None:  # a meta.yaml: convert it next to a copy of its folder
        from fastconda.convert import convert  # the converter loads only when a recipe is converted

        with clock.phase("convert", f"converting {recipe_file}"):
            folder = work / "recipe"
            shutil.copytree(recipe_file.parent, folder)
            result = convert(recipe_file, project_root=project.root)
            notes += [f"convert: {w.format(str(recipe_file))}" for w in result.warnings]
            notes.append(f"converted the project's {recipe_file} on the fly")
            text = _anchor_source_paths(result.recipe_text, recipe_file.parent)
            return write_recipe(text, folder)
    if project.kind is Kind.CMAKE:
        server = cxxbuild.read_server(project.root)
        with clock.phase("recipe", f"recipe for the C++ server {server.executable}"):
            notes.append(f"C++ server {server.executable} {server.version}: recipe from the cxx template")
            licence = project_licence(server.root)
            if licence.note:
                notes.append(licence.note)
            if note := server.host_note(options.host_requires):
                notes.append(note)
            return cxxbuild.write_server_recipe(
                server,
                work / "recipe",
                start=options.start_check,
                commands=options.test_commands,
                host=server.host_requirements(options.host_requires),
            )
    refuse_scripts(project, options.rules)  # whatever grayskull and convert make of the project (static: µs)
    with prewarmed(options.caches) as grayskull:  # imports itself while the sdist is built
        with clock.phase("sdist", f"building the sdist of {project.root.name}"):
            try:
                tarball = sdist.build_sdist(
                    project.root, work / "sdist", caches=options.caches, channels=options.channels
                )
            except sdist.BackendError as exc:  # the message shows a tail: keep all of it with the work folder
                log = work / "sdist.log"
                with contextlib.suppress(OSError):
                    log.write_text(exc.output + "\n", encoding="utf-8")
                    msg = f"{exc}\n  full log: {log}"
                    raise sdist.BackendError(msg, exc.output) from None
                raise
        with clock.phase("recipe", f"grayskull on {tarball.name}"):
            try:
                meta: Path | None = grayskull.generate(tarball, work / "grayskull")
            except GrayskullError as exc:
                meta, failure = None, exc
    metadata = read_sdist_metadata(tarball)
    with clock.phase("convert", "meta.yaml → recipe.yaml, facility rules"):
        if meta is not None:
            from fastconda.convert import convert

            converted = convert(meta)
            notes += [f"convert: {w.format(f'grayskull {meta.name}')}" for w in converted.warnings]
            recipe_text = converted.recipe_text
        else:
            recipe_text = _without_grayskull(tarball, metadata, failure, notes)
        ruled = apply_rules(recipe_text, project, options.rules, metadata)
        notes += list(ruled.notes)
        return write_recipe(ruled.text, work / "recipe", ruled.files)


def _without_grayskull(
    tarball: Path, metadata: SdistMetadata | None, failure: GrayskullError, notes: list[str]
) -> str:
    """The recipe from the sdist's own metadata when grayskull failed (a note says why); when the
    sdist has no usable ``PKG-INFO`` either, grayskull's error stands, with its cause first."""
    cause = last_error_line(failure.output.splitlines()) if failure.output else ""
    if metadata is None or not metadata.version:
        first, _, rest = str(failure).partition("\n")
        msg = f"{first}: {cause}\n{rest}" if cause else str(failure)
        raise RecipeError(msg) from None
    notes.append(
        f"grayskull failed on {tarball.name} ({cause or str(failure).splitlines()[0]}): "
        "the recipe comes from the sdist's own metadata (PKG-INFO, entry points, build-system)"
    )
    text, more = recipe_from_sdist(tarball, metadata)
    notes += more
    return text


def _own_recipe_environment(  # noqa: PLR0917
    project: Project,
    recipe_file: Path,
    recipe_text: str,
    work: Path,
    options: BuildOptions,
    clock: Clock,
    notes: list[str],
) -> dict[str, str]:
    """The variables a facility CI sets for its own recipe (the sdist, its sha256, the version) that
    nobody set here: fastconda builds the sdist and gives the engine the same (a note says which).

    A variable the render needs and nobody can know is an error naming it, before the engine runs.
    """
    needs = recipe_env.needed_environment(
        recipe_text, recipe_file, os.environ, can_make_sdist=project.kind is Kind.PYTHON
    )
    if not needs.sdist:
        return {}
    with clock.phase("sdist", f"building the sdist of {project.root.name} for {recipe_file.name}"):
        tarball = sdist.build_sdist(
            project.root, work / "sdist", caches=options.caches, channels=options.channels
        )
    environ = needs.values(recipe_env.SdistFacts.of(tarball))
    told = ", ".join(f"{name}={value}" for name, value in environ.items())
    notes.append(f"{recipe_file.name} reads the environment: fastconda built the sdist and set {told}")
    return environ


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


def _run_engine(  # noqa: PLR0917
    recipe: Path,
    out: Path,
    options: BuildOptions,
    progress: Progress,
    variants: Path | None = None,
    worker: engine.Worker | None = None,
    *,
    environ: Mapping[str, str] | None = None,
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
            environ=environ,
        )
    except EngineError as exc:
        message = str(exc)
        if exc.unsolvable and variants is not None:
            message += "\n" + cxxbuild.MISSING_TOOLCHAIN_HINT
        phase = "test" if exc.in_tests else "build"
        raise BuildFailed(phase, message, tests=exc.tests, check=exc.check) from None


def _split_build_and_test(outcome: engine.BuildOutcome, total: float) -> dict[str, float]:
    test = outcome.test_seconds
    return {"build": max(total - test, 0.0), "test": test}


def _prefill_ahead(project: Project, options: BuildOptions, worker: engine.Worker) -> None:
    """Start unpacking the packages the test environment will need while the sdist and the recipe
    are made: on a fresh rattler cache, unpacking python, pytango and numpy is most of a cold
    build. The names come from ``[project] dependencies`` (the recipe's come from the same);
    :func:`_prefill` then finds them unpacked. Only an optimisation: any error is dropped."""
    import tomllib

    try:
        data = tomllib.loads((project.root / "pyproject.toml").read_text(encoding="utf-8"))
        dependencies = data.get("project", {}).get("dependencies") or []
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError):
        return
    # markers and names as the recipe's own requirements from PKG-INFO are read
    found, _ = conda_requirements([d for d in dependencies[:200] if isinstance(d, str)])
    names = {spec.split()[0] for spec in found}
    specs = ["python", "pip", *sorted(names - {"python", "pip"})]
    job = {"specs": specs, "channels": list(options.channels), "marker_dir": options.cache_dir / "prefilled"}
    worker.start("prefill", job)


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
    job = {"specs": specs, "channels": list(options.channels), "marker_dir": options.cache_dir / "prefilled"}
    try:
        worker.call("prefill", job, null_progress)
    except Unsolvable as exc:
        # the engine's test environment holds these and the package: it cannot be solved either, and
        # the engine would say only "Test failed" after the whole build
        missing = "; ".join(exc.reasons) or str(exc).splitlines()[-1]
        msg = (
            f"the test environment cannot be solved: {missing} (run requirements of the recipe, "
            f"from {', '.join(options.channels)}): add the missing packages to a channel (-c), "
            "e.g. `fastconda wheel` of their wheels, or fix the requirement"
        )
        phase = "test"
        raise BuildFailed(phase, msg) from None
    except FastcondaError:
        return  # only an optimisation otherwise: the engine reports its own problems
