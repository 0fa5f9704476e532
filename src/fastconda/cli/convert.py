"""``fastconda convert``: meta.yaml → recipe.yaml (and conda_build_config.yaml → variants.yaml)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastconda.cli._ui import ExitCode, Ui
from fastconda.errors import ConvertError

if TYPE_CHECKING:  # the stage is imported when the command runs: the CLI starts fast
    from fastconda.convert import ConversionResult


def register(subparsers: Any, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "convert",
        parents=[common],
        help="convert a conda-build meta.yaml into a rattler-build recipe.yaml",
        description=(
            "Convert a conda-build meta.yaml (jinja, selectors and all) into a rattler-build v1 recipe.yaml "
            "that means the same, keeping comments. A folder converts FOLDER/meta.yaml and a sibling "
            "conda_build_config.yaml into variants.yaml. Exits 3 when the conversion has warnings. "
            "Several recipes, or a folder of recipe folders, convert in one call: -o is then a folder "
            "that keeps the layout, every recipe is attempted, and the exit code is 1 if any failed, "
            "else 3 if any warned."
        ),
    )
    parser.add_argument(
        "recipe",
        type=Path,
        nargs="+",
        help="a meta.yaml, a folder holding one, or a folder of recipe folders",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        help="write the v1 recipe here (default: stdout); with several recipes, the output folder",
    )
    parser.add_argument(
        "--variant-config", type=Path, help="conda_build_config.yaml to convert into variants.yaml next to -o"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="render both recipes (meta.yaml with its own jinja, recipe.yaml with rattler-build) and "
        "compare, for every variant of the variant config the recipe uses, with no build-machine "
        "environment variables",
    )
    parser.add_argument("--platform", default="linux-64", help="platform for --check (default: linux-64)")
    parser.set_defaults(handler=_handler)


def _handler(args: argparse.Namespace, ui: Ui) -> int:
    sources: list[Path] = args.recipe
    if len(sources) > 1 or (sources[0].is_dir() and not (sources[0] / "meta.yaml").is_file()):
        return _many(args, ui)
    source = sources[0]
    meta = source / "meta.yaml" if source.is_dir() else source
    variant_config: Path | None = args.variant_config
    if variant_config is None and source.is_dir() and (source / "conda_build_config.yaml").is_file():
        variant_config = source / "conda_build_config.yaml"
    from fastconda.convert import convert
    from fastconda.convert.check import check

    result = convert(meta, variant_config=variant_config)
    messages = [w.format(str(meta)) for w in result.warnings]
    differences: list[str] = []
    not_compared = 0
    if args.check:
        report = check(meta, result, platform=args.platform, variant_config=variant_config)
        differences, not_compared = list(report.differences), report.not_compared
        if not_compared:
            messages.append(_not_compared(meta, not_compared))
    if args.output is not None:
        _write_atomic(args.output, result.recipe_text)
        if result.variants_text is not None:
            _write_atomic(args.output.parent / "variants.yaml", result.variants_text)
    for message in messages:
        ui.warn(message)
    for difference in differences:
        ui.error(f"--check: {difference}")
    data = _data(result, meta, args, differences)
    data["check"]["not_compared"] = not_compared
    ui.result(data, "" if args.output else result.recipe_text.rstrip("\n"))
    if differences:
        return ExitCode.FAILURE
    return ExitCode.WARNINGS if messages else ExitCode.OK


def _not_compared(meta: Path, count: int) -> str:
    from fastconda.convert.check_variants import MAX_VARIANTS

    return (
        f"{meta}: --check compared the first {MAX_VARIANTS} variants of the config only: "
        f"{count} more not compared"
    )


def _many(args: argparse.Namespace, ui: Ui) -> int:
    """Many recipes: one line (or one JSON result) per recipe, every one attempted."""
    import time

    from fastconda.convert.batch import plan, run
    from fastconda.convert.check import check

    start = time.perf_counter()
    jobs = plan(args.recipe, args.output, args.variant_config)
    results: list[dict[str, Any]] = []
    failed = warned = 0
    for outcome in run(jobs):
        meta, result = outcome.job.meta, outcome.result
        differences: list[str] = []
        not_compared = 0
        if result is not None and args.check:
            try:
                report = check(
                    meta, result, platform=args.platform, variant_config=outcome.job.variant_config
                )
                differences, not_compared = list(report.differences), report.not_compared
            except ConvertError as exc:
                differences = [str(exc)]
        warnings = [] if result is None else [w.format(str(meta)) for w in result.warnings]
        if not_compared:
            warnings.append(_not_compared(meta, not_compared))
        status = "failed" if result is None or differences else "warnings" if warnings else "ok"
        failed += status == "failed"
        warned += status == "warnings"
        if outcome.error is not None:
            ui.error(outcome.error)
        for message in warnings:
            ui.warn(message)
        for difference in differences:
            ui.error(f"--check: {meta}: {difference}")
        results.append({
            "recipe": str(meta),
            "status": status,
            "output": str(outcome.job.output) if outcome.job.output and result is not None else None,
            "recipe_text": result.recipe_text if result is not None and args.output is None else None,
            "error": outcome.error,
            "warnings": [{"line": w.line, "message": w.message} for w in (result.warnings if result else ())],
            "check": {"run": bool(args.check), "differences": differences, "not_compared": not_compared},
            "seconds": round(outcome.seconds, 6),
        })  # fmt: skip
    seconds = time.perf_counter() - start
    rate = len(results) / seconds if seconds > 0 else 0.0
    summary = (
        f"{len(results)} recipes: {len(results) - failed - warned} ok, {warned} with warnings, "
        f"{failed} failed in {seconds:.2f} s ({rate:.0f} recipes/s)"
    )
    ui.info(summary)
    totals = {"recipes": len(results), "failed": failed, "warnings": warned, "seconds": round(seconds, 3)}
    ui.result({"results": results, "summary": totals}, "")
    if failed:
        return ExitCode.FAILURE
    return ExitCode.WARNINGS if warned else ExitCode.OK


def _data(
    result: ConversionResult, meta: Path, args: argparse.Namespace, differences: list[str]
) -> dict[str, Any]:
    return {
        "recipe": str(meta),
        "output": str(args.output) if args.output else None,
        "recipe_text": None if args.output else result.recipe_text,
        "variants_text": result.variants_text,
        "warnings": [{"line": w.line, "message": w.message} for w in result.warnings],
        "check": {"run": bool(args.check), "differences": differences},
    }


def _write_atomic(path: Path, text: str) -> None:
    from fastconda._files import write_text_atomic

    try:
        write_text_atomic(path, text)
    except OSError as exc:
        msg = f"{path}: cannot write the recipe: {exc}"
        raise ConvertError(msg) from None
