"""Selector names: variant-config names are variables (false when undefined, as conda-build reads them),
typos of conda-build names stay errors. The same names tested in jinja (``{% if is_abi3 %}``) are
variables too: the engine stops at an undefined name in a condition, conda-build reads it as ''."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastconda.convert import convert
from fastconda.convert.check import check
from fastconda.convert.selectors import split_selector
from fastconda.errors import ConvertError
from tests.convert.helpers import render

RECIPE = "package:\n  name: x\n  version: '1'\nrequirements:\n  run:\n    - foo  # [{selector}]\n"


@pytest.mark.parametrize("name", ["is_abi3", "vc9", "mpi_flavour", "with_cuda", "x64"])
def test_unknown_lower_case_selector_name_is_a_variant_variable_with_a_warning(name: str) -> None:
    result = convert(RECIPE.format(selector=f"linux and {name}"))
    assert f"if: linux and ({name} | default(false))" in result.recipe_text
    assert [w.line for w in result.warnings] == [6]
    assert f"selector name '{name}'" in result.warnings[0].message


def test_selector_name_defined_by_the_variant_config_is_kept_without_warning() -> None:
    result = convert(RECIPE.format(selector="is_abi3"), variant_config={"is_abi3": [True]})
    assert "if: is_abi3\n" in result.recipe_text
    assert result.warnings == ()


@pytest.mark.parametrize(
    ("name", "meant"), [("linnux", "linux"), ("Linux", "linux"), ("armv7", "armv7l"), ("osx_64", "osx64")]
)
def test_selector_name_one_edit_from_a_known_name_is_an_error(name: str, meant: str) -> None:
    with pytest.raises(
        ConvertError, match=rf"meta.yaml:6: unknown selector name '{name}' \(did you mean '{meant}'\?\)"
    ):
        convert(RECIPE.format(selector=name))


def test_selector_name_in_upper_case_is_an_error() -> None:
    with pytest.raises(ConvertError, match="unknown selector name 'FANCY'"):
        convert(RECIPE.format(selector="FANCY"))


JINJA_NAMES = """\
package:
  name: x
  version: '1'
build:
  string: {{ 'abi3' if is_abi3 else 'cp' }}
requirements:
  run:
{% if is_abi3 %}
    - abi3dep
{% endif %}
{% if mpi_flavour == 'openmpi' %}
    - openmpi
{% endif %}
{% if mpi_flavour != 'openmpi' %}
    - nompi
{% endif %}
{% if win64 %}
    - win64dep
{% endif %}
"""


@pytest.mark.parametrize(
    ("variants", "string", "run"),
    [
        ({}, "cp", ["nompi"]),  # undefined: '' and false, as conda-build's jinja reads them
        ({"is_abi3": "true", "mpi_flavour": "openmpi"}, "abi3", ["abi3dep", "openmpi"]),
    ],
)
def test_a_variant_name_tested_in_jinja_renders_whether_or_not_the_variant_defines_it(
    variants: dict[str, str], string: str, run: list[str], tmp_path: Path
) -> None:
    result = convert(JINJA_NAMES)
    assert "- if: (mpi_flavour | default('')) == 'openmpi'" in result.recipe_text
    assert "- if: win and x86_64\n" in result.recipe_text  # conda-build's jinja has the selector names
    assert check(JINJA_NAMES, result, platform="linux-64", variant=variants).differences == ()
    config = "".join(f"{key}: ['{value}']\n" for key, value in variants.items())
    (variant,) = render(result.recipe_text, "linux-64", tmp_path, config)
    assert variant["build"]["string"] == string  # type: ignore[index]
    assert variant["requirements"] == {"run": run}


def test_a_name_tested_in_jinja_is_reported_once_per_line() -> None:
    result = convert(JINJA_NAMES)
    assert [(w.line, w.message.split("'")[1]) for w in result.warnings] == [
        (5, "is_abi3"), (8, "is_abi3"), (11, "mpi_flavour"), (14, "mpi_flavour"),
    ]  # fmt: skip
    assert "read as a variant variable, '' where the variant config lacks it" in result.warnings[0].message


def test_a_name_the_variant_config_or_the_recipe_defines_is_kept_as_written() -> None:
    meta = "{% set mpi_flavour = 'nompi' %}\n" + JINJA_NAMES
    result = convert(meta, variant_config={"is_abi3": [True]})
    assert "- if: is_abi3\n" in result.recipe_text
    assert "- if: mpi_flavour == 'openmpi'\n" in result.recipe_text
    assert result.warnings == ()


def test_is_defined_tests_the_name_itself() -> None:
    meta = (
        "package:\n  name: x\n  version: '1'\nrequirements:\n  run:\n"
        "{% if extra is defined %}\n    - e\n{% endif %}\n"
    )
    result = convert(meta)
    assert "- if: extra is defined\n" in result.recipe_text
    assert result.warnings == ()


def test_py_and_np_compared_in_jinja_read_as_in_a_selector(tmp_path: Path) -> None:
    meta = (
        "package:\n  name: x\n  version: '1'\nrequirements:\n  run:\n"
        "{% if py >= 38 %}\n    - new\n{% endif %}\n{% if np < 120 %}\n    - oldnp\n{% endif %}\n"
    )
    result = convert(meta)
    assert "- if: match(python, '>=3.8')\n" in result.recipe_text
    assert "- if: match(numpy, '<1.20')\n" in result.recipe_text
    assert result.warnings == ()
    assert check(meta, result, platform="linux-64").differences == ()
    (variant,) = render(result.recipe_text, "linux-64", tmp_path)
    assert variant["requirements"] == {"run": ["new"]}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("  md5: 0123abcd [osx]", ("  md5: 0123abcd", "osx")),
        ("  build:     [linux]", ("  build:", "linux")),
        ("    - mock  [py27]", ("    - mock", "py27")),
        ("    - foo [py >= 38]", ("    - foo", "py >= 38")),
        ("  run: [python, numpy]", ("  run: [python, numpy]", None)),  # a flow list
        ("    - test -d x [ -d y ]", ("    - test -d x [ -d y ]", None)),  # a shell test
        ("    - dask[complete]", ("    - dask[complete]", None)),
        ("    - cli = pkg.main:run [extra]", ("    - cli = pkg.main:run", "extra")),  # conda-render drops it
        ("  # [lint skip uses_git_url for x]", ("  # [lint skip uses_git_url for x]", None)),
        ("    - foo  # [win]  # note", ("    - foo  # note", "win")),
    ],
)
def test_a_trailing_bracket_is_a_selector_with_or_without_the_hash_as_in_conda_build(
    line: str, expected: tuple[str, str | None]
) -> None:
    assert split_selector(line) == expected
