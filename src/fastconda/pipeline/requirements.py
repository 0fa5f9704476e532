"""A recipe's requirements, checked against the channels before the engine runs: one environment per
section (build, host, run + tests), each requirement's origin (pyproject, grayskull, the project's
recipe) for the error, and with ``--fill`` what is missing filled from wheels and checked again."""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from fastconda.cxx import recipe_route as cxxbuild
from fastconda.errors import MissingRequirements
from fastconda.pipeline.options import BuildOptions, Clock
from fastconda.pipeline.project import Kind, Project
from fastconda.progress import null_progress
from fastconda.tools import rattler_build as engine
from fastconda.wheel.specs import conda_name

MAX_CHECKED = 200  # requirements per section read from a recipe


def _plain_specs(entries: object) -> list[str]:
    """The match specs of a recipe's requirement list that need no rendering (no ``${{ }}``, no
    ``if:`` block): the rest is left to the engine, which renders them with the variants."""
    if not isinstance(entries, list):
        return []
    return [e.strip() for e in entries[:MAX_CHECKED] if isinstance(e, str) and "${{" not in e and e.strip()]


def requirement_sections(recipe_text: str) -> dict[str, list[str]]:
    """One environment per section of the recipe: build, host, and run + the tests' requirements
    (what the engine's test environment holds besides the package itself). A recipe whose host
    names python (``python ${{ python_min }}.*``) gets plain ``python`` in host and run."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe").load(recipe_text) or {}
    except YAMLError:
        return {}  # the engine names the recipe's own syntax errors
    requirements = data.get("requirements") if isinstance(data, dict) else None
    if not isinstance(requirements, dict):
        requirements = {}
    build, host, run = (_plain_specs(requirements.get(k)) for k in ("build", "host", "run"))
    tested: list[str] = []
    tests = data.get("tests") if isinstance(data, dict) else None
    for test in tests if isinstance(tests, list) else []:
        if isinstance(test, dict) and isinstance(test.get("requirements"), dict):
            tested += _plain_specs(test["requirements"].get("run"))
        if (
            isinstance(test, dict)
            and isinstance(test.get("python"), dict)
            and test["python"].get("pip_check")
        ):
            tested.append("pip")
    raw_host = requirements.get("host")
    python = isinstance(raw_host, list) and any(
        isinstance(e, str) and e.split()[:1] == ["python"] for e in raw_host
    )
    if python:
        host = ["python", *[s for s in host if s.split()[0] != "python"]]
        run = ["python", *[s for s in run if s.split()[0] != "python"]]
    return {"build": build, "host": host, "run": run, "test": [*run, *tested] if tested else []}


def requirement_origins(project: Project, recipe_file: Path | None) -> dict[str, str]:
    """Where each requirement name came from, as far as fastconda knows: the project's recipe, the
    pyproject's dependencies or build-system, else grayskull (or the C++ template)."""
    import tomllib

    if recipe_file is not None:
        return {"*": "the project's recipe"}
    if project.kind is Kind.CMAKE:
        return {"*": "the C++ recipe template"}
    origins = {"*": "grayskull"}
    try:
        data = tomllib.loads((project.root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return origins
    for key, where in (("build-system", "pyproject build-system"), ("project", "pyproject dependency")):
        table = data.get(key)
        texts = (
            table.get("requires" if key == "build-system" else "dependencies")
            if isinstance(table, dict)
            else None
        ) or []
        for text in texts[:MAX_CHECKED] if isinstance(texts, list) else []:
            with contextlib.suppress(InvalidRequirement, TypeError):
                origins[conda_name(Requirement(text).name)] = where
    return origins


def check_or_fill(
    recipe_text: str,
    project: Project,
    recipe_file: Path | None,
    options: BuildOptions,
    worker: engine.Worker,
    *,
    clock: Clock,
    notes: list[str],
) -> None:
    """The requirement check; with ``--fill``, what it names is filled from wheels and checked again."""
    try:
        with clock.phase("recipe", "checking that the channels satisfy the requirements"):
            _check_requirements(recipe_text, project, recipe_file, options, worker)
    except MissingRequirements as exc:
        if options.fill is None:
            raise
        specs = [str(getattr(m, "spec", m)) for m in exc.missing]
        from fastconda.pipeline.fill import fill  # the wheel conversion: only when filling

        with clock.phase("fill", f"filling {', '.join(specs)} into {options.fill.channel} from wheels"):
            # an sdist-only requirement is built the way this project is
            result = fill(specs, dataclasses.replace(options.fill, build=options), progress=clock.progress)
        added = ", ".join(f.package.split("/")[-1] for f in result.added)
        notes.append(f"filled {options.fill.channel} with {len(result.added)} packages from wheels: {added}")
        with clock.phase("recipe", "checking the requirements again after the fill"):
            _check_requirements(recipe_text, project, recipe_file, options, worker)


def _check_requirements(
    recipe_text: str, project: Project, recipe_file: Path | None, options: BuildOptions, worker: engine.Worker
) -> None:
    """Every requirement the channels cannot satisfy, named before the engine runs (it would say
    only "Failed to resolve dependencies", or "Test failed" after the whole build): one solve per
    section, remembered while the channels do not change (see rattler_missing.check_requirements)."""
    sections = requirement_sections(recipe_text)
    if not options.test:
        sections.pop("test", None)
    job = {
        "sections": sections,
        "channels": list(options.channels),
        "origins": requirement_origins(project, recipe_file),
        "marker_dir": options.cache_dir / "checked",
    }
    try:
        worker.call("check", job, null_progress)
    except MissingRequirements as exc:
        if project.kind is not Kind.CMAKE:
            raise
        # a C++ server's channels usually lack the whole toolchain: say how to get one
        msg = f"{exc}\n{cxxbuild.MISSING_TOOLCHAIN_HINT}"
        raise MissingRequirements(msg, exc.missing) from None
