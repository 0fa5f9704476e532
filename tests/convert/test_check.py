"""--check renders meta.yaml by conda-build's rules and recipe.yaml with rattler-build, and compares."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from fastconda.convert import ConversionResult, convert
from fastconda.convert.check import check
from fastconda.convert.check_variants import variant_sets
from tests.convert.helpers import RECIPES

PLATFORMS = ["linux-64", "linux-aarch64", "osx-arm64", "win-64"]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_golden_conversion_passes_check(case: Path, platform: str) -> None:
    cbc = case / "conda_build_config.yaml"
    variant_config = cbc if cbc.is_file() else None
    result = convert(case / "meta.yaml", variant_config=variant_config)
    report = check(case / "meta.yaml", result, platform=platform, variant_config=variant_config)
    if any(
        "will not render" in w.message or "unknown before the build" in w.message for w in result.warnings
    ):
        # inputs only conda-build has (setup.py data, resolved packages): the check must say it cannot compare
        assert len(report.differences) == 1
        assert "does not render" in report.differences[0]
        return
    assert report.differences == ()


def test_check_reports_a_changed_requirement_precisely() -> None:
    meta = "package:\n  name: p\n  version: '1'\nrequirements:\n  run:\n    - numpy  # [linux]\n    - scipy\n"
    result = convert(meta)
    tampered = ConversionResult(result.recipe_text.replace("then: numpy", "then: numpy >=2"))
    report = check(meta, tampered, platform="linux-64")
    assert report.differences == (
        "p: requirements.run: meta.yaml has [numpy, scipy], recipe.yaml has [numpy >=2, scipy]",
    )


def test_check_notices_a_package_skipped_on_one_side_only() -> None:
    meta = "package:\n  name: p\n  version: '1'\nbuild:\n  skip: true  # [win]\n"
    result = convert(meta)
    tampered = ConversionResult(result.recipe_text.replace("- win", "- osx"))
    assert check(meta, tampered, platform="win-64").differences == (
        "p: built by recipe.yaml but not by meta.yaml",
    )


def test_check_compares_every_variant_of_the_config_and_says_where_a_difference_shows() -> None:
    case = RECIPES / "set_under_if"
    cbc = case / "conda_build_config.yaml"
    result = convert(case / "meta.yaml", variant_config=cbc)
    report = check(case / "meta.yaml", result, variant_config=cbc)
    assert report.variants == ("mpi=nompi", "mpi=openmpi")
    assert report.differences == ()
    # a conversion that lost the condition of `{% set build = build + 100 %}` differs for openmpi only
    lost = re.sub(r"(?m)^  build: .*$", "  build: 1", result.recipe_text)
    assert lost != result.recipe_text
    differences = check(case / "meta.yaml", ConversionResult(lost), variant_config=cbc).differences
    assert differences == ("[mpi=openmpi] tinyfields: build.number: meta.yaml has 101, recipe.yaml has 1",)


def test_variants_are_combined_over_the_keys_the_recipe_uses_with_zip_keys_together() -> None:
    config = {
        "python": ["3.10", "3.11"],
        "numpy": ["1.26", "2.0"],
        "mpi": ["nompi", "openmpi"],
        "unused": ["a", "b"],
        "zip_keys": [["python", "numpy"]],
    }
    text = "requirements:\n  host:\n    - python\n    - numpy\n    - {{ mpi }}\n"
    combos = variant_sets(config, text, {"python": "3.11"})
    assert [(c["python"], c["numpy"], c["mpi"], c["unused"]) for c in combos] == [
        ("3.10", "1.26", "nompi", "a"),
        ("3.10", "1.26", "openmpi", "a"),
        ("3.11", "2.0", "nompi", "a"),
        ("3.11", "2.0", "openmpi", "a"),
    ]


def test_check_reads_no_variable_from_the_build_machines_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A conversion that is right only where CUDA_VER is set is caught on a machine that sets it."""
    meta = (
        "{% set cuda = os.environ.get('CUDA_VER') or '11.*' %}\n"
        "package:\n  name: p\n  version: '1'\nrequirements:\n  run:\n    - cudatoolkit {{ cuda }}\n"
    )
    monkeypatch.setenv("CUDA_VER", "12.4")
    result = convert(meta)
    assert check(meta, result).differences == ()
    wrong = ConversionResult(result.recipe_text.replace("or '11.*'", "or '12.*'"))
    assert wrong.recipe_text != result.recipe_text
    assert check(meta, wrong).differences == (
        "p: requirements.run: meta.yaml has [cudatoolkit 11.*], recipe.yaml has [cudatoolkit 12.*]",
    )
    assert os.environ["CUDA_VER"] == "12.4"  # set again after the check


def test_check_reads_conda_equals_version_as_fuzzy() -> None:
    meta = "package:\n  name: p\n  version: '1'\nrequirements:\n  host:\n    - libpng=1.6.39\n"
    assert check(meta, convert(meta)).differences == ()
    exact = ConversionResult(convert(meta).recipe_text.replace("libpng=1.6.39", "libpng ==1.6.39"))
    assert check(meta, exact).differences == (
        "p: requirements.host: meta.yaml has [libpng 1.6.39.*], recipe.yaml has [libpng ==1.6.39]",
    )


def test_check_reads_single_part_numpy_and_python_build_strings_as_conda_build_does() -> None:
    """conda-forge pins ``numpy: 2`` and ``python: 3.10.* *_cpython``: py is 310 (and no crash on np)."""
    meta = (
        "package:\n  name: p\n  version: '1'\nrequirements:\n  host:\n"
        "    - numpy\n    - oldpy  # [py < 311]\n"
    )
    report = check(meta, convert(meta), variant={"numpy": "2", "python": "3.10.* *_cpython"})
    assert report.differences == ()
    assert check(meta, ConversionResult(convert(meta).recipe_text.replace("oldpy", "newpy")),
                 variant={"numpy": "2", "python": "3.10.* *_cpython"}).differences != ()  # fmt: skip


def test_check_reads_conda_spellings_and_test_forms_as_the_conversion_writes_them() -> None:
    """'pkg =14' is 'pkg 14.*', an empty license_file is none, a summary's spaces compare folded (the
    engine folds them), and imports with extra test requirements (written as 'python -c "import x"'
    commands) are the imports they were: no difference."""
    meta = (
        "package:\n  name: p\n  version: '1'\nrequirements:\n  build:\n    - nodejs =14\n"
        "test:\n  imports:\n    - json\n  requires:\n    - pytest\n"
        "about:\n  license: MIT\n  license_file: ''\n  summary: two  spaces,\n    folded\n"
    )
    result = convert(meta)
    assert 'python -c "import json"' in result.recipe_text
    assert check(meta, result).differences == ()
    renamed = ConversionResult(result.recipe_text.replace("import json", "import yaml"))
    assert check(meta, renamed).differences == (
        "p: test.imports: meta.yaml has [json], recipe.yaml has [yaml]",
    )


def test_noarch_true_is_generic_on_both_sides() -> None:
    meta = "package:\n  name: p\n  version: '1'\nbuild:\n  noarch: True\n"
    result = convert(meta)
    assert "noarch: generic" in result.recipe_text
    assert [w.message for w in result.warnings] == [
        "build.noarch: true (conda-build: noarch, not python): written as generic"
    ]
    assert check(meta, result).differences == ()
