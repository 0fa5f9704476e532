"""Licences: every convention of the table maps to SPDX the engine takes; the rest becomes LicenseRef."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastconda.convert import convert
from fastconda.convert.licences import is_valid, spdx_licence, table
from tests.convert.helpers import render

RECIPE = """\
package:
  name: demo
  version: "1.0"
build:
  noarch: generic
about:
  license: {licence}
"""

CASES = [
    ("GPL (>= 2)", "GPL-2.0-or-later"),
    ("GPL (>=2)", "GPL-2.0-or-later"),
    ("GPL (>= 3)", "GPL-3.0-or-later"),
    ("GPL-2", "GPL-2.0-only"),
    ("GPL-3", "GPL-3.0-only"),
    ("GPL-2 | GPL-3", "GPL-2.0-only OR GPL-3.0-only"),
    ("GPL-2 | GPL-3 | file LICENSE", None),  # the file is a licence of its own: not certain
    ("LGPL (>= 2.1)", "LGPL-2.1-or-later"),
    ("AGPL-3", "AGPL-3.0-only"),
    ("MIT + file LICENSE", "MIT"),
    ("MIT + file LICENCE", "MIT"),
    ("BSD_3_clause + file LICENSE", "BSD-3-Clause"),
    ("BSD_2_clause + file LICENSE | GPL-2", "BSD-2-Clause OR GPL-2.0-only"),
    ("perl_5", "Artistic-1.0-Perl OR GPL-1.0-or-later"),
    ("Perl_5", "Artistic-1.0-Perl OR GPL-1.0-or-later"),
    ("Apache 2.0", "Apache-2.0"),
    ("Apache License 2.0", "Apache-2.0"),
    ("Apache License (= 2.0)", "Apache-2.0"),
    ("CC BY-SA 4.0", "CC-BY-SA-4.0"),
    ("BSD 3-Clause", "BSD-3-Clause"),
    ("3-clause BSD", "BSD-3-Clause"),
    ("MIT License", "MIT"),
    ("GPLv3", "GPL-3.0-only"),
    ("GPLv2+", "GPL-2.0-or-later"),
    ("LGPL-2.1", "LGPL-2.1-only"),
    ("LGPL-2.1+", "LGPL-2.1-or-later"),
    ("GPL-2.0", "GPL-2.0-only"),
    ("GPL-3.0+", "GPL-3.0-or-later"),
    ("GPL-2.0-or-later", "GPL-2.0-or-later"),
    ("mit", "MIT"),
    ("bsd-3-clause", "BSD-3-Clause"),
    ("Apache-2.0 WITH LLVM-exception", "Apache-2.0 WITH LLVM-exception"),
    ("MIT OR Apache-2.0", "MIT OR Apache-2.0"),
]


@pytest.mark.parametrize(("original", "expected"), CASES)
def test_licence_convention_maps_to_certain_spdx(original: str, expected: str | None) -> None:
    licence = spdx_licence(original)
    if expected is None:
        assert licence.spdx.startswith("LicenseRef-")
    else:
        assert licence.spdx == expected
    if licence.spdx == original:
        assert licence.message is None
    else:
        assert licence.message is not None
        assert original in licence.message
        assert licence.spdx in licence.message


@pytest.mark.parametrize(
    "original", ["GPL", "Unlimited", "Free for academic use (see COPYING)", "file LICENSE", "BSD", "???"]
)
def test_licence_without_certain_meaning_becomes_licenseref_naming_the_original(original: str) -> None:
    licence = spdx_licence(original)
    assert licence.spdx.startswith("LicenseRef-")
    assert is_valid(licence.spdx)
    assert licence.message is not None
    assert f"'{original}'" in licence.message


@pytest.mark.parametrize(("original", "result"), sorted(table().items()))
def test_every_table_result_is_valid_spdx(original: str, result: str) -> None:
    assert is_valid(result), f"{original} -> {result}"


@pytest.mark.parametrize(
    "original", ["GPL (>= 2)", "perl_5", "GPL-2 | GPL-3", "LGPL-2.1", "GPL-3.0+", "Free text, see COPYING"]
)
def test_converted_licence_renders_with_the_engine(original: str, tmp_path: Path) -> None:
    """The real engine refuses the original licence and takes the converted one."""
    with pytest.raises(Exception, match=r"(?i)licen[cs]e|spdx"):
        render(RECIPE.format(licence=f"'{original}'"), "noarch", tmp_path)
    result = convert(RECIPE.format(licence=f"'{original}'"))
    assert any(original in w.message for w in result.warnings)
    render(result.recipe_text, "noarch", tmp_path)


def test_licence_from_a_set_variable_is_mapped_too(tmp_path: Path) -> None:
    text = '{% set licence = "GPL-2.0" %}\n' + RECIPE.format(licence="{{ licence }}")
    result = convert(text)
    assert "license: GPL-2.0-only\n" in result.recipe_text
    assert [w.line for w in result.warnings] == [8]
    render(result.recipe_text, "noarch", tmp_path)


def test_valid_licence_from_a_set_variable_stays_a_template() -> None:
    result = convert('{% set licence = "MIT" %}\n' + RECIPE.format(licence="{{ licence }}"))
    assert "license: ${{ licence }}\n" in result.recipe_text
    assert result.warnings == ()
