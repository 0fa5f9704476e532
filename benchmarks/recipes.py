"""Scenario ``recipes``: ``fastconda convert`` on a corpus of real meta.yaml files (issue 17).

Runs only with ``--recipes DIR``: a folder of real recipes brought in for local runs, one sub-folder per
source (``DIR/<source>/<recipe>/meta.yaml``, with what lies next to it: ``conda_build_config.yaml``,
scripts). A seeded random sample of ``--sample N`` recipes (default 1000, ``--quick`` 50) is copied into
the scratch folder; for each one, in this process and offline: the conversion (a failure that is not a
``FastcondaError`` is a traceback), the render of the result with the rattler-build engine for linux-64
and for noarch, and ``--check`` for linux-64 over the variants of the recipe's config.

A ``DIR/<source>/conda_build_config.yaml`` is that source's global pinning (conda-forge's, Anaconda's):
as conda-build's global config does, it gives each key the recipe's own config does not set (its first
value for linux-64) to the render and to ``--check``; without one, only python, numpy and c_stdlib are
given. Failures are counted by class: the error message without its file, line, quoted names and
numbers. A licence the engine refuses is counted apart (the goal is none). Then ``fastconda convert
--json -o OUT SAMPLE`` converts the whole sample in one command line call: recipes per second, the
CLI's start included.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import random
import re
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from benchmarks._core import Context, Row, Scenario, describe, fastconda

TITLE = "Conversion of real recipes: convert, render, --check rates on a corpus sample"
SEED = 17
QUICK_SAMPLE = 50
# What conda-forge's global pinning would provide to a render (a recipe does not define these).
BASE_VARIANTS = 'c_stdlib: [sysroot]\nc_stdlib_version: ["2.17"]\npython: ["3.11"]\nnumpy: ["1.26"]\n'
BASE_VARIANTS += 'python_min: ["3.9"]\n'
_LOCATION = re.compile(r"^(?:\S*?(?:meta\.yaml|\.yaml|\.sh|\.bat)(?::\d+)*:\s*)+")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`|‘[^’]*’")
_NUMBER = re.compile(r"\d+(?:\.\d+)*")
_ENGINE_MESSAGE = re.compile(r'message: "((?:[^"\\]|\\.)*)"')
_PACKAGE = re.compile(
    r"^(?:\[[^\]]*\] )?[\w.+-]+: (?=(?:about|requirements|test|build|run_exports|version)\b)"
)
_LICENCE = re.compile(r"licen[cs]e|spdx", re.IGNORECASE)


@dataclasses.dataclass
class Outcome:
    """One recipe of the sample: what each step gave (an empty string: it passed)."""

    source: str
    recipe: str
    convert: str = "not run"
    traceback: bool = False
    render_linux_64: str = "not run"
    render_noarch: str = "not run"
    check: str = "not run"
    warnings: int = 0
    seconds: float = 0.0

    @property
    def licence_refused(self) -> bool:
        return any(_LICENCE.search(e) for e in (self.render_linux_64, self.render_noarch) if e)


def failure_class(message: str) -> str:
    """The class of an error message: its first line without file, line, quoted names and numbers."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    text = _LOCATION.sub("", lines[0] if lines else "(no message)")
    text = _PACKAGE.sub("", text)  # '--check': 'r-cgp: about.summary: ...' is one class for all packages
    inner = _ENGINE_MESSAGE.search(text)  # the engine's jinja error inside its debug output
    if inner:
        text = text[: text.index(":") + 1] + " " + inner[1].replace('\\"', '"')
    text = _NUMBER.sub("N", _QUOTED.sub("…", text))
    return text[:100]


def sample(root: Path, size: int, seed: int = SEED) -> list[Path]:
    """*size* recipe folders of ``root/<source>/<recipe>/meta.yaml``, chosen at random with *seed*."""
    found = sorted(p.parent for p in root.glob("*/*/meta.yaml") if p.is_file())
    if len(found) <= size:
        return found
    return sorted(random.Random(seed).sample(found, size))


def pinning(source: Path) -> dict[str, str]:
    """The first linux-64 value of each key of *source*'s global pinning (none without one)."""
    from ruamel.yaml import YAML

    from fastconda.convert.check import DEFAULT_VARIANT
    from fastconda.convert.check_meta import render_meta
    from fastconda.convert.selectors import SelectorError

    path = source / "conda_build_config.yaml"
    if not path.is_file():
        return {}
    text, unset = path.read_text(encoding="utf-8"), dict[str, str]()
    for _ in range(
        500
    ):  # a selector name the config does not define (a build machine's environment variable): false
        try:
            data = YAML(typ="safe").load(
                render_meta(text, "linux-64", {**DEFAULT_VARIANT, **unset}, environ={})
            )
            break
        except SelectorError as exc:
            unknown = re.search(r"unknown selector name '(\w+)'", str(exc))
            if unknown is None:
                raise
            unset[unknown[1]] = ""
    else:
        return {}
    return {
        str(key): str(values[0])
        for key, values in (data or {}).items()
        if isinstance(values, list)
        and values
        and isinstance(values[0], str | int | float)
        and key != "zip_keys"
    }


def _render_error(result: Any, target: str, given: dict[str, str]) -> str:
    """The engine's error rendering *result* for *target* with the values *given*, or "" when it renders."""
    from rattler_build import PlatformConfig, RenderConfig, Stage0Recipe, VariantConfig

    from fastconda.convert.check_variants import without_environment

    config = VariantConfig.from_yaml(BASE_VARIANTS)
    with tempfile.TemporaryDirectory(prefix="fastconda-bench-") as tmp:
        try:
            if given:
                config = config.merge(VariantConfig({key: [value] for key, value in given.items()}))
            if result.variants_text:
                config = config.merge(VariantConfig.from_yaml(result.variants_text))
            recipe = Stage0Recipe.from_yaml(result.recipe_text, recipe_dir=tmp)
            with without_environment(result.recipe_text):
                recipe.render(config, RenderConfig(platform=PlatformConfig(target_platform=target)))
        except Exception as exc:  # the engine raises several unrelated types; each is a failure to count
            return f"{type(exc).__name__}: {exc}"
    return ""


def _one(folder: Path, pinned: dict[str, str]) -> Outcome:
    from fastconda.convert import convert
    from fastconda.convert.check import check
    from fastconda.convert.expressions import clear_caches
    from fastconda.convert.variants import read_variant_keys
    from fastconda.errors import FastcondaError

    row = Outcome(folder.parent.name, folder.name)
    variants = folder / "conda_build_config.yaml"
    config = variants if variants.is_file() else None
    clear_caches()
    start = time.perf_counter()
    try:
        result = convert(folder / "meta.yaml", variant_config=config)
    except FastcondaError as exc:
        row.convert = str(exc) or type(exc).__name__
        return row
    except Exception as exc:  # a traceback: the number the issue wants at zero
        row.convert, row.traceback = f"traceback {type(exc).__name__}: {exc}", True
        return row
    finally:
        row.seconds = time.perf_counter() - start
    row.convert, row.warnings = "", len(result.warnings)
    try:
        own = read_variant_keys(config) if config is not None else frozenset()
    except FastcondaError:
        own = frozenset()
    given = {key: value for key, value in pinned.items() if key not in own}
    row.render_linux_64 = _render_error(result, "linux-64", given)
    row.render_noarch = _render_error(result, "noarch", given)
    try:
        report = check(
            folder / "meta.yaml", result, platform="linux-64", variant=given, variant_config=config
        )
        row.check = "" if report.ok else report.differences[0]
    except FastcondaError as exc:
        row.check = str(exc)
    except Exception as exc:
        row.check = f"traceback {type(exc).__name__}: {exc}"
    return row


def _share(rows: list[Outcome], passed: Any) -> str:
    count = sum(1 for r in rows if passed(r))
    return f"{count}/{len(rows)} ({count / len(rows):.1%})" if rows else "—"


def _rates(rows: list[Outcome]) -> dict[str, str]:
    return {
        "convert": _share(rows, lambda r: not r.convert),
        "no traceback": _share(rows, lambda r: not r.traceback),
        "render linux-64": _share(rows, lambda r: not r.convert and not r.render_linux_64),
        "render noarch": _share(rows, lambda r: not r.convert and not r.render_noarch),
        "render either": _share(
            rows, lambda r: not r.convert and not (r.render_linux_64 and r.render_noarch)
        ),
        "--check": _share(rows, lambda r: not r.convert and not r.check),
        "licence refused": str(sum(1 for r in rows if r.licence_refused)),
    }


def _classes(rows: Iterable[Outcome], step: str, top: int = 25) -> list[dict[str, object]]:
    counted: collections.Counter[str] = collections.Counter()
    example: dict[str, str] = {}
    for row in rows:
        message = getattr(row, step)
        if message and message != "not run":
            name = failure_class(message)
            counted[name] += 1
            example.setdefault(name, f"{row.source}/{row.recipe}")
    return [
        {"step": step, "count": n, "class": name.replace("|", "/"), "example": example[name]}
        for name, n in counted.most_common(top)
    ]


def _one_call(folder: Path, out: Path, count: int) -> tuple[Row, dict[str, Any]]:
    """``fastconda convert --json -o OUT SAMPLE``: one CLI call over the whole sample."""
    start = time.perf_counter()
    stdout = fastconda("convert", "--json", folder, "-o", out, ok=(0, 1, 3))
    row = Row(f"fastconda convert over the sample ({count} recipes, one call)", [time.perf_counter() - start])
    try:
        summary = json.loads(stdout)["summary"]
    except (ValueError, KeyError):
        summary = {"recipes": None}
    return row, summary


def run_scenario(ctx: Context) -> Scenario:
    scenario = Scenario("recipes", TITLE, describe(__doc__))
    if ctx.recipes is None:
        scenario.skipped = "needs --recipes DIR (a corpus of real recipes, DIR/<source>/<recipe>/meta.yaml)"
        return scenario
    size = min(ctx.sample, QUICK_SAMPLE) if ctx.quick else ctx.sample
    chosen = sample(ctx.recipes, size)
    if not chosen:
        scenario.skipped = f"{ctx.recipes}: no <source>/<recipe>/meta.yaml found"
        return scenario
    work = ctx.scratch / "recipes-sample"
    for folder in chosen:
        shutil.copytree(folder, work / folder.parent.name / folder.name, symlinks=True)
    copies = [work / f.parent.name / f.name for f in chosen]
    ctx.log(f"{len(copies)} recipes sampled (seed {SEED}) from {ctx.recipes} ...")
    start = time.perf_counter()
    pinnings = {source.name: pinning(source) for source in {f.parent for f in chosen}}
    rows = []
    for i, folder in enumerate(copies, 1):
        rows.append(_one(folder, pinnings[folder.parent.name]))
        if i % 100 == 0:
            ctx.log(f"{i}/{len(copies)} ...")
    scenario.rows.append(
        Row(f"convert + render ×2 + --check, {len(rows)} recipes", [time.perf_counter() - start])
    )
    converted = [r.seconds for r in rows if not r.convert]
    if converted:
        scenario.rows.append(Row("convert alone, one sample per converted recipe", converted))
    call, summary = _one_call(work, ctx.scratch / "recipes-out", len(copies))
    scenario.rows.append(call)
    total = _rates(rows)
    by_source = collections.defaultdict(list)
    for row in rows:
        by_source[row.source].append(row)
    scenario.extra["rates"] = [{"source": "all", "recipes": len(rows), **total}] + [
        {"source": source, "recipes": len(group), **_rates(group)}
        for source, group in sorted(by_source.items())
    ]
    scenario.extra["failure classes"] = [
        *_classes(rows, "convert"),
        *_classes((r for r in rows if not r.convert), "render_linux_64"),
        *_classes((r for r in rows if not r.convert), "render_noarch", top=10),
        *_classes((r for r in rows if not r.convert), "check"),
    ]
    scenario.extra["one call"] = [{
        "recipe folders": len(copies),
        "meta.yaml converted": summary.get("recipes"),
        "failed": summary.get("failed"),
        "with warnings": summary.get("warnings"),
        "wall s (CLI start included)": f"{call.median:.2f}",
        "folders/s": f"{len(copies) / call.median:.0f}",
        "its own timing s": summary.get("seconds"),
    }]  # fmt: skip
    scenario.ratios.append(
        f"On {len(rows)} recipes sampled with seed {SEED}: convert {total['convert']} (no traceback "
        f"{total['no traceback']}), render linux-64 {total['render linux-64']}, "
        f"noarch {total['render noarch']}, "
        f"--check {total['--check']}, licences refused {total['licence refused']}; one `fastconda convert` "
        f"call converts {len(copies) / call.median:.0f} recipes/s."
    )
    scenario.notes += [
        "render either: renders for linux-64 or for noarch (a linux-only recipe need not render for "
        "noarch, a noarch one renders for both)",
        "--check: the converted recipes it finds no difference in; a difference or an error is a failure",
    ]
    return scenario
