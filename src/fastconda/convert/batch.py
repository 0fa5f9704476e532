"""Many recipes in one call: which meta.yaml files the arguments name, and where each result goes.

Converting thousands of recipes one CLI call each pays the start-up for every recipe; one call
pays it once. Each argument is a meta.yaml, a recipe folder (holding a meta.yaml) or a collection
folder (recipes anywhere below it). With an output folder the layout below the argument is kept:
``fastconda convert recipes/ -o out/`` writes ``out/<rel>/recipe.yaml`` for ``recipes/<rel>/meta.yaml``.
Every recipe is attempted: a bad one is a failed :class:`Outcome`, never the end of the run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from fastconda.convert.core import convert
from fastconda.convert.model import ConversionResult
from fastconda.errors import FastcondaError

MAX_RECIPES = 1_000_000  # meta.yaml files found below one call's arguments


@dataclass(frozen=True)
class Job:
    """One meta.yaml to convert, its variant config and (with an output folder) its recipe.yaml."""

    meta: Path
    variant_config: Path | None
    output: Path | None


@dataclass(frozen=True)
class Outcome:
    """What became of one job: a result, or the one-line error that stopped it."""

    job: Job
    result: ConversionResult | None
    error: str | None
    seconds: float


def plan(arguments: Sequence[Path], output_dir: Path | None, variant_config: Path | None = None) -> list[Job]:
    """The jobs the arguments name, in argument order, each collection folder sorted."""
    jobs: list[Job] = []
    for argument in arguments:
        for meta, relative in _recipes(argument):
            config = variant_config
            if config is None and (meta.parent / "conda_build_config.yaml").is_file():
                config = meta.parent / "conda_build_config.yaml"
            output = output_dir / relative / "recipe.yaml" if output_dir is not None else None
            jobs.append(Job(meta, config, output))
            if len(jobs) > MAX_RECIPES:
                msg = f"{argument}: more than {MAX_RECIPES:,} recipes in one call; split the run"
                raise FastcondaError(msg)
    return jobs


def _recipes(argument: Path) -> Iterator[tuple[Path, Path]]:
    if argument.is_dir() and not (argument / "meta.yaml").is_file():
        found = sorted(p for p in argument.rglob("meta.yaml") if p.is_file())
        if not found:
            yield argument / "meta.yaml", Path(argument.name)  # fails with "no such file": reported
        for meta in found:
            yield meta, meta.parent.relative_to(argument)
        return
    meta = argument / "meta.yaml" if argument.is_dir() else argument
    yield meta, Path(meta.resolve().parent.name)


def run(jobs: Sequence[Job]) -> Iterator[Outcome]:
    """Convert each job; a recipe that fails (or two jobs writing one file) is an outcome too."""
    from fastconda._files import write_text_atomic

    written: set[Path] = set()
    for job in jobs:
        start = time.perf_counter()
        try:
            if job.output is not None and job.output in written:
                msg = f"{job.meta}: another recipe of this call already writes {job.output}; convert it apart"
                raise FastcondaError(msg)
            result = convert(job.meta, variant_config=job.variant_config)
            if job.output is not None:
                written.add(job.output)
                write_text_atomic(job.output, result.recipe_text)
                if result.variants_text is not None:
                    write_text_atomic(job.output.parent / "variants.yaml", result.variants_text)
        except FastcondaError as exc:
            yield Outcome(job, None, str(exc), time.perf_counter() - start)
        except OSError as exc:
            yield Outcome(
                job, None, f"{job.output}: cannot write the recipe: {exc}", time.perf_counter() - start
            )
        except Exception as exc:  # one recipe's bug (a traceback) must not stop thousands of others
            message = (
                f"{job.meta}: internal error while converting ({type(exc).__name__}: {exc}); please report it"
            )
            yield Outcome(job, None, message.splitlines()[0], time.perf_counter() - start)
        else:
            yield Outcome(job, result, None, time.perf_counter() - start)
