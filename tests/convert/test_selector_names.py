"""Selector names: variant-config names are variables (false when undefined, as conda-build reads them),
typos of conda-build names stay errors."""

from __future__ import annotations

import pytest

from fastconda.convert import convert
from fastconda.errors import ConvertError

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
