"""conda-build's ``environ.get('X')`` is None when X is unset; the converted recipe keeps that meaning.

rattler-build's ``env.get('X')`` stops the render when X is unset, and ``default=none`` renders as the
text 'none' (truthy): the converted recipes are rendered here by the real engine with X set and unset.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fastconda.convert import convert
from tests.convert.helpers import RECIPES, render

CI_PATTERN = """\
{% set version = environ.get('PKG_VERSION') or '0.0.0.dev0' %}
package:
  name: tangods-motion
  version: {{ version }}
source:
  url: file://{{ environ.get('SDIST') }}
  sha256: {{ environ.get('SDIST_SHA256') }}
build:
  noarch: python
  number: {{ environ.get('CI_PIPELINE_IID', 0) }}
requirements:
  run:
    - python
{% if os.environ.get('WITH_SARDANA') is not none %}
    - sardana
{% endif %}
{% if environ.get('WITH_NUMPY') %}
    - numpy
{% endif %}
    - pyyaml  # [environ.get('WITH_YAML')]
about:
  summary: {{ 'Motion ' ~ (environ.get('CI_COMMIT_TAG', None) or 'dev') }}
"""
VARIABLES = ("PKG_VERSION", "SDIST", "SDIST_SHA256", "CI_PIPELINE_IID", "WITH_SARDANA", "WITH_NUMPY",
             "WITH_YAML", "CI_COMMIT_TAG")  # fmt: skip


@pytest.fixture
def unset(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """None of the recipe's variables is set (the engine reads this process's environment)."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _rendered(tmp_path: Path) -> dict[str, object]:
    recipe = convert(CI_PATTERN).recipe_text
    (variant,) = render(recipe, "linux-64", tmp_path)
    return variant


def test_ci_version_pattern_falls_back_when_the_variable_is_unset(
    unset: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    variant = _rendered(tmp_path)
    assert variant["package"] == {"name": "tangods-motion", "version": "0.0.0.dev0"}
    assert variant["requirements"] == {"run": ["python"]}  # is-none and truthiness as in conda-build
    assert variant["about"] == {"summary": "Motion dev"}
    assert variant["build"]["number"] == 0  # type: ignore[index]


def test_ci_version_pattern_takes_the_variable_when_set(unset: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sdist = tmp_path / "tangods_motion-1.4.2.tar.gz"
    unset.setenv("PKG_VERSION", "1.4.2")
    unset.setenv("SDIST", str(sdist))
    unset.setenv("SDIST_SHA256", "ab" * 32)
    unset.setenv("CI_PIPELINE_IID", "7")
    unset.setenv("WITH_SARDANA", "")  # set, though empty: conda-build's 'is not none' holds
    unset.setenv("WITH_NUMPY", "1")
    unset.setenv("WITH_YAML", "1")
    unset.setenv("CI_COMMIT_TAG", "v1.4.2")
    variant = _rendered(tmp_path)
    assert variant["package"] == {"name": "tangods-motion", "version": "1.4.2"}
    assert variant["source"] == [{"url": sdist.as_uri(), "sha256": "ab" * 32}]
    assert variant["requirements"] == {"run": ["python", "sardana", "numpy", "pyyaml"]}
    assert variant["about"] == {"summary": "Motion v1.4.2"}
    assert variant["build"]["number"] == 7  # type: ignore[index]


def test_an_empty_variable_falls_back_as_in_conda_build(unset: pytest.MonkeyPatch, tmp_path: Path) -> None:
    unset.setenv("PKG_VERSION", "")  # '' or '0.0.0.dev0' is the fallback in Python too
    assert _rendered(tmp_path)["package"] == {"name": "tangods-motion", "version": "0.0.0.dev0"}


def test_environ_get_without_default_is_reported_only_where_its_value_is_used() -> None:
    warnings = [w.format() for w in convert(CI_PATTERN).warnings if "build machine" not in w.message]
    # 'or', 'if' and 'is none' keep conda-build's meaning exactly; a value written out does not
    assert warnings == [
        "meta.yaml:6: environ.get('SDIST') is None in conda-build when SDIST is unset (written as 'None'); "
        "converted to env.get('SDIST', default=''), which is '' then",
        "meta.yaml:7: environ.get('SDIST_SHA256') is None in conda-build when SDIST_SHA256 is unset "
        "(written as 'None'); converted to env.get('SDIST_SHA256', default=''), which is '' then",
    ]


def test_every_variable_read_from_the_environment_is_reported_once_at_its_first_use() -> None:
    warnings = [w for w in convert(CI_PATTERN).warnings if "build machine" in w.message]
    lines = {name: w.line for w in warnings for name in VARIABLES if f"reads {name} " in w.message}
    assert lines == {
        "PKG_VERSION": 1, "SDIST": 6, "SDIST_SHA256": 7, "CI_PIPELINE_IID": 10, "WITH_SARDANA": 14,
        "WITH_NUMPY": 17, "WITH_YAML": 20, "CI_COMMIT_TAG": 22,
    }  # fmt: skip
    assert len(warnings) == len(VARIABLES)
    assert warnings[0].message == (
        "the recipe depends on the build machine's environment: it reads PKG_VERSION (environ), in v1 as "
        "in conda-build, so the package differs where PKG_VERSION is set differently or unset"
    )


def test_a_variable_read_again_later_is_reported_at_its_first_line() -> None:
    meta = (
        "package:\n  name: p\n  version: {{ environ.get('V', '1') }}\n"
        "{% set again = environ.get('V', '1') %}\n"
    )
    warnings = convert(meta).warnings  # the '{% set %}' on line 4 is converted before line 3's value
    assert [(w.line, "reads V " in w.message) for w in warnings] == [(3, True)]


CUDA = """\
{% set cuda = os.environ.get('CUDA_VER') or '11.*' %}
package:
  name: p
  version: '1'
requirements:
  run:
    - cudatoolkit {{ cuda }}
"""


def test_os_environ_get_or_a_default_falls_back_when_unset_and_takes_the_variable_when_set(
    unset: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    unset.delenv("CUDA_VER", raising=False)
    result = convert(CUDA)
    assert "cuda: ${{ env.get('CUDA_VER', default='') or '11.*' }}" in result.recipe_text
    assert [w.line for w in result.warnings] == [1]
    (variant,) = render(result.recipe_text, "linux-64", tmp_path)
    assert variant["requirements"] == {"run": ["cudatoolkit 11.*"]}
    unset.setenv("CUDA_VER", "12.4")  # conda reads 'cudatoolkit 12.4' as 12.4.*
    (variant,) = render(result.recipe_text, "linux-64", tmp_path)
    assert variant["requirements"] == {"run": ["cudatoolkit 12.4.*"]}
    unset.setenv("CUDA_VER", ">=12")
    (variant,) = render(result.recipe_text, "linux-64", tmp_path)
    assert variant["requirements"] == {"run": ["cudatoolkit >=12"]}


def test_environ_subscript_still_stops_the_render_when_unset(
    unset: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``environ['X']`` raises KeyError in conda-build: ``env.get('X')`` stops the engine likewise."""
    recipe = convert(CI_PATTERN.replace("environ.get('PKG_VERSION')", "environ['PKG_VERSION']")).recipe_text
    assert "env.get('PKG_VERSION') or" in recipe
    with pytest.raises(Exception, match="PKG_VERSION"):
        render(recipe, "linux-64", tmp_path)


def test_golden_case_renders_with_and_without_its_variables(
    unset: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    recipe = (RECIPES / "environ_get_without_default" / "recipe.yaml").read_text(encoding="utf-8")
    (plain,) = render(recipe, "noarch", tmp_path)
    assert plain["package"]["version"] == "0.0.0.dev0"  # type: ignore[index]
    unset.setenv("PKG_VERSION", "2.0.1")
    (tagged,) = render(recipe, "noarch", tmp_path)
    assert tagged["package"]["version"] == "2.0.1"  # type: ignore[index]


def test_a_build_script_variable_read_for_the_version_is_the_environments(
    unset: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """PKG_VERSION is $PKG_VERSION in a test command, but the package's version is rendered before any
    script runs: there it is the variable the facility's CI sets."""
    meta = (
        "package:\n  name: p\n  version: {{ environ.get('PKG_VERSION') }}\n"
        "test:\n  commands:\n    - test {{ environ.get('PKG_VERSION') }} = 3.1\n"
    )
    recipe = convert(meta).recipe_text
    assert "test $PKG_VERSION = 3.1" in recipe
    unset.setenv("PKG_VERSION", "3.1")
    (variant,) = render(recipe, "noarch", tmp_path)
    assert variant["package"] == {"name": "p", "version": "3.1"}
