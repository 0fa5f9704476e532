"""Bad input gives a one-line error with file:line; the CLI exits 0/3/1 and writes files atomically."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fastconda.cli import main
from fastconda.convert import ConversionResult, convert
from fastconda.errors import ConvertError
from tests.convert.helpers import RECIPES, render

GOOD = "package:\n  name: good\n  version: '1.0'\nbuild:\n  number: 0\n"


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("package:\n  name: x\n   version: 1\n", 3, "invalid YAML"),
        ("{% set v = '1' %}\npackage:\n  name: {{ v }\n", 3, "broken jinja"),
        (
            "package:\n  name: x\nrequirements:\n  run:\n    - foo  # [linnux]\n",
            5,
            "unknown selector name 'linnux'",
        ),
        ("{% if linux %}\npackage:\n  name: x\n", 1, "broken jinja"),
        ("package:\n  name: x\n  version: {{ v.split(') }}\n", 3, "broken jinja"),
        ("{% if x %}  # [win]\npackage:\n  name: x\n{% endif %}\n", 1, "a selector on '{% if %}'"),
        ("{% set v = 1 %}  # [linnux]\npackage:\n  name: x\n", 1, "unknown selector name 'linnux'"),
        ("{% set v = '1.2' | frobnicate %}\npackage:\n  name: x\n", 1, "unknown jinja filter 'frobnicate'"),
        ("package:\n  name: x\n  version: {{ '1' | frob(2) }}\n", 3, "unknown jinja filter 'frob'"),
        ("package:\n  name: x\n{% if 'a' | frob %}\n  version: 1\n{% endif %}\n", 3, "unknown jinja filter"),
    ],
)
def test_bad_input_is_a_one_line_error_with_file_and_line(text: str, line: int, what: str) -> None:
    with pytest.raises(ConvertError) as info:
        convert(text)
    message = str(info.value)
    assert message.startswith(f"meta.yaml:{line}: ")
    assert what in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("expression", "written"),
    [
        ("version | split('.') | first", "${{ version | split('.') | first }}"),  # rattler-build has it
        ("'%s-x' | format(version)", "1.2.3-x"),  # conda-build's jinja2 has it: computed now
    ],
)
def test_a_filter_one_of_the_two_jinjas_knows_is_not_an_error(expression: str, written: str) -> None:
    meta = f"{{% set version = '1.2.3' %}}\n{{% set v = {expression} %}}\npackage:\n  name: x\n"
    assert f"\n  v: {written}\n" in convert(meta).recipe_text


def test_missing_file_says_what_to_pass(tmp_path: Path) -> None:
    with pytest.raises(ConvertError, match="no such file"):
        convert(tmp_path / "nothing" / "meta.yaml")


def test_result_is_frozen_and_exported() -> None:
    result = convert(GOOD)
    assert isinstance(result, ConversionResult)
    assert result.warnings == ()
    with pytest.raises(AttributeError):
        result.recipe_text = ""  # type: ignore[misc]


def test_cli_clean_conversion_exits_0_and_writes_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    meta = tmp_path / "meta.yaml"
    meta.write_text(GOOD)
    out = tmp_path / "out" / "recipe.yaml"
    assert main(["convert", str(meta), "-o", str(out)]) == 0
    assert "name: good" in out.read_text()
    assert [p.name for p in out.parent.iterdir()] == ["recipe.yaml"]  # no temp file left behind


def test_cli_warnings_exit_3_and_go_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", str(RECIPES / "about_full")]) == 3
    captured = capsys.readouterr()
    assert "about.license_url" in captured.err
    assert "homepage: https://about.example.org" in captured.out


def test_cli_bad_input_exits_1_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    meta = tmp_path / "meta.yaml"
    meta.write_text("package:\n  name: x\n  - broken\n")
    out = tmp_path / "recipe.yaml"
    assert main(["convert", str(meta), "-o", str(out)]) == 1
    assert not out.exists()
    assert f"{meta}:3:" in capsys.readouterr().err


def test_cli_json_reports_warnings_with_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", str(RECIPES / "build_options"), "--json"]) == 3
    data = json.loads(capsys.readouterr().out)
    assert {w["line"] for w in data["warnings"]} >= {36, 37, 38}
    assert data["recipe_text"].startswith("# fastconda: not converted")


def test_cli_directory_converts_conda_build_config_into_variants(tmp_path: Path) -> None:
    (tmp_path / "meta.yaml").write_text(
        GOOD + "requirements:\n  host:\n    - libfoo  # [foo_flavour == 'a']\n"
    )
    (tmp_path / "conda_build_config.yaml").write_text("foo_flavour:\n  - a  # [linux]\n  - b  # [win]\n")
    out = tmp_path / "v1" / "recipe.yaml"
    assert main(["convert", str(tmp_path), "-o", str(out)]) == 0
    variants = (out.parent / "variants.yaml").read_text()
    assert "- if: linux\n    then: a\n" in variants


def test_cli_check_passes_on_a_faithful_conversion(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", str(RECIPES / "selectors_everywhere"), "--check", "--platform", "win-64"]) == 0
    assert "--check" not in capsys.readouterr().err


def test_cli_check_reports_the_variants_it_did_not_compare(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """5 by 5 variants: the first 16 are compared, the 9 others are a warning (exit 3), not silence."""
    (tmp_path / "meta.yaml").write_text(
        GOOD + "requirements:\n  host:\n    - liba {{ a }}\n    - libb {{ b }}\n", encoding="utf-8"
    )
    values = "".join(f"  - '{n}'\n" for n in range(1, 6))
    (tmp_path / "conda_build_config.yaml").write_text(f"a:\n{values}b:\n{values}", encoding="utf-8")
    assert main(["convert", str(tmp_path), "--check", "--json"]) == 3
    captured = capsys.readouterr()
    assert "compared the first 16 variants of the config only: 9 more not compared" in captured.err
    assert json.loads(captured.out)["check"]["not_compared"] == 9


GRAYSKULL_PY2 = """\
package:
  name: legacy
  version: "0.9.3"
build:
  number: 0
requirements:
  host:
    - python
  run:
    - python
    - futures  # [py<3]
    - tornado >=4.3,<5  # [py>=3]
"""


def test_single_digit_py_selectors_keep_conda_builds_meaning(tmp_path: Path) -> None:
    """grayskull writes ``# [py<3]`` for ``python_version<'3'`` (katcp, tango-simlib): conda-build takes
    it as always false (py is 27 or 3xx), as its author meant; the converted recipe says the same."""
    result = convert(GRAYSKULL_PY2)
    assert "- if: 'false'\n      then: futures\n" in result.recipe_text
    assert "- if: 'true'\n      then: tornado >=4.3,<5\n" in result.recipe_text
    (tmp_path / "meta.yaml").write_text(GRAYSKULL_PY2)
    assert main(["convert", str(tmp_path), "--check", "-o", str(tmp_path / "recipe.yaml")]) == 0
    with pytest.raises(ConvertError, match="'py' is compared with 3"):
        convert(GRAYSKULL_PY2.replace("py>=3", "py==3"))  # the two readings differ: still an error


def test_run_exports_spell_out_conda_fuzzy_versions_like_requirements(tmp_path: Path) -> None:
    """'pkg 1.0' means 1.0.* to conda in run_exports too; the engine refuses a bare version."""
    meta = (
        "{% set version = '1.0' %}\npackage:\n  name: libp\n  version: {{ version }}\nbuild:\n"
        "  run_exports:\n    weak:\n      - libp {{ version }}\n      - python 3.6 run_exports\n"
        "      - libq =>2\n"
    )
    result = convert(meta)
    (variant,) = render(result.recipe_text, "linux-64", tmp_path)
    assert variant["requirements"] == {
        "run_exports": {"weak": ["libp 1.0.*", "python 3.6.* run_exports", "libq >=2"]}
    }
