"""Multi-output recipes: the staging output holds only what v1 allows, conda-build's top-level package
is kept where conda-build builds it, and --check sees the top-level package too."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from fastconda.convert import ConversionResult, convert
from fastconda.convert.check import check
from tests.convert.helpers import RECIPES

# what rattler-build accepts in a staging output (it refuses the rest: run, run_exports, noarch, tests...)
STAGING_KEYS = {"staging", "requirements", "build", "source"}
STAGING_REQUIREMENTS = {"build", "host", "ignore_run_exports"}
STAGING_BUILD = {"script"}

MULTI = """\
package:
  name: suite
  version: '1.0'
build:
  script: make install
requirements:
  host:
    - zlib
  run:
    - {run}
test:
  commands:
    - suite --help
outputs:
  - name: libsuite
    files:
      - lib/
"""


def _outputs(text: str) -> list[dict[str, object]]:
    data = YAML(typ="safe").load(text)
    outputs: list[dict[str, object]] = data.get("outputs") or []
    return outputs


def _packages(text: str) -> dict[str, dict[str, object]]:
    found = {}
    for output in _outputs(text):
        package = output.get("package")
        if isinstance(package, dict):
            found[str(package["name"])] = output
    return found


@pytest.mark.parametrize("case", sorted(p.parent.name for p in RECIPES.glob("*/meta.yaml")))
def test_staging_outputs_hold_only_what_v1_allows(case: str) -> None:
    result = convert(RECIPES / case / "meta.yaml")
    for output in _outputs(result.recipe_text):
        if "staging" not in output:
            continue
        assert set(output) <= STAGING_KEYS
        assert set(output.get("requirements") or {}) <= STAGING_REQUIREMENTS  # type: ignore[arg-type]
        assert set(output.get("build") or {}) <= STAGING_BUILD  # type: ignore[arg-type]


def test_top_level_package_is_kept_when_its_run_requirements_name_an_output() -> None:
    result = convert(MULTI.format(run="libsuite"))
    packages = _packages(result.recipe_text)
    assert set(packages) == {"libsuite", "suite"}
    suite = packages["suite"]
    assert suite["inherit"] == "suite-build"
    assert suite["requirements"] == {"run": ["libsuite"]}
    assert suite["tests"] == [{"script": ["suite --help"]}]
    assert any("also builds the top-level package 'suite'" in w.message for w in result.warnings)


def test_no_top_level_package_when_conda_build_builds_none() -> None:
    result = convert(MULTI.format(run="zlib"))
    assert set(_packages(result.recipe_text)) == {"libsuite"}
    messages = [w.message for w in result.warnings]
    assert any(m.startswith("top-level requirements.run of a multi-output recipe") for m in messages)
    assert any(m.startswith("test.commands: top-level test of a multi-output recipe") for m in messages)


def test_output_without_files_or_script_does_not_inherit_the_staging_build() -> None:
    meta = MULTI.format(run="zlib") + "  - name: suite-meta\n    requirements:\n      - libsuite\n"
    packages = _packages(convert(meta).recipe_text)
    assert packages["libsuite"]["inherit"] == "suite-build"
    assert "inherit" not in packages["suite-meta"]  # conda-build packs nothing into it


def test_check_sees_the_implicit_top_level_package(tmp_path: Path) -> None:
    meta = MULTI.format(run="libsuite")
    result = convert(meta)
    assert check(meta, result).differences == ()
    kept = [o for o in _outputs(result.recipe_text) if (o.get("package") or {}).get("name") != "suite"]  # type: ignore[union-attr]
    yaml = YAML()
    data = yaml.load(result.recipe_text)
    data["outputs"] = kept
    path = tmp_path / "recipe.yaml"
    with path.open("w", encoding="utf-8") as handle:
        yaml.dump(data, handle)
    dropped = ConversionResult(path.read_text(encoding="utf-8"))
    assert check(meta, dropped).differences == ("suite: built by meta.yaml but not by recipe.yaml",)


def test_run_test_script_goes_to_the_top_level_package_or_is_reported(tmp_path: Path) -> None:
    (tmp_path / "run_test.sh").write_text("suite --version\n", encoding="utf-8")
    meta = tmp_path / "meta.yaml"
    meta.write_text(MULTI.format(run="libsuite"), encoding="utf-8")
    suite = _packages(convert(meta).recipe_text)["suite"]
    assert {"if": "unix", "then": {"script": {"file": "run_test.sh"}}} in suite["tests"]  # type: ignore[operator]
    meta.write_text(MULTI.format(run="zlib"), encoding="utf-8")
    result = convert(meta)
    assert "run_test.sh" not in result.recipe_text
    assert any(
        w.message.startswith("run_test.sh in the recipe folder tests the top-level") for w in result.warnings
    )


def test_top_level_ignore_run_exports_without_a_top_level_build_is_reported() -> None:
    meta = (
        "package:\n  name: suite\n  version: '1.0'\nbuild:\n  ignore_run_exports:\n    - zlib\n"
        "outputs:\n  - name: libsuite\n    requirements:\n      host:\n        - zlib\n"
    )
    result = convert(meta)
    assert "ignore_run_exports" not in result.recipe_text
    assert [w.line for w in result.warnings if "ignore_run_exports" in w.message] == [5]


def test_top_level_requirements_without_a_top_level_build_go_to_the_top_level_package() -> None:
    """No script and no build.sh: conda-build runs no top-level build, so no staging output either
    (it would hand its host run exports to every output that inherits it)."""
    meta = (
        "package:\n  name: suite\n  version: '1.0'\nrequirements:\n  host:\n    - python\n  run:\n"
        "    - {{ pin_subpackage('libsuite', exact=True) }}\noutputs:\n  - name: libsuite\n"
        "    script: build_lib.sh\n"
    )
    text = convert(meta).recipe_text
    assert all("staging" not in output for output in _outputs(text))
    assert _packages(text)["suite"]["requirements"] == {
        "host": ["python"],
        "run": ["${{ pin_subpackage('libsuite', exact=true) }}"],
    }
    alone = convert(meta.replace("  run:\n    - {{ pin_subpackage('libsuite', exact=True) }}\n", ""))
    assert set(_packages(alone.recipe_text)) == {"libsuite"}
    assert any(w.message.startswith("top-level requirements.host of a multi-output") for w in alone.warnings)
