"""fastconda build on a project's own recipe that takes its source and version from the environment.

The facility CI pattern: the CI builds the sdist, then sets SDIST, SDIST_SHA256 and PKG_VERSION for
conda-build. fastconda builds the sdist itself and gives the engine those variables (a note says so),
or, when a variable cannot be known, stops before the engine with one line naming it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from fastconda.cli import ExitCode, main
from fastconda.errors import RecipeError
from fastconda.pipeline.build import build_project
from fastconda.pipeline.project import detect
from fastconda.pipeline.recipe_env import Needed, SdistFacts, needed_environment, read_names
from fastconda.pipeline.record import inputs_key
from tests.helpers import assert_consistent, build_options

CI_META = """\
{% set version = environ.get('PKG_VERSION') or '0.0.0.dev0' %}

package:
  name: tangods-envdemo
  version: {{ version }}

source:
  url: file://{{ environ.get('SDIST') }}
  sha256: {{ environ.get('SDIST_SHA256') }}

build:
  noarch: python
  script: {{ PYTHON }} -m pip install . --no-deps --no-build-isolation -q
  entry_points:
    - EnvDemo = envdemo:main

requirements:
  host:
    - python
    - hatchling
    - pip
  run:
    - python

test:
  imports:
    - envdemo
  commands:
    - EnvDemo --help

about:
  license: MIT
"""
VARIABLES = ("PKG_VERSION", "SDIST", "SDIST_SHA256", "CI_PIPELINE_IID", "CI_PROJECT_URL")


@pytest.fixture
def unset(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The recipe's variables are unset, as on a developer's machine (whatever the CI running this set)."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def make_project(root: Path, meta: str = CI_META, version: str = "1.3.0") -> Path:
    """A small hatchling project with the facility's own recipe/meta.yaml."""
    (root / "envdemo").mkdir(parents=True)
    (root / "envdemo" / "__init__.py").write_text(
        "import sys\n\ndef main():\n    print('usage: EnvDemo instance')\n    sys.exit(0)\n"
    )
    (root / "pyproject.toml").write_text(
        "[build-system]\nrequires = ['hatchling']\nbuild-backend = 'hatchling.build'\n\n"
        f"[project]\nname = 'tangods-envdemo'\nversion = '{version}'\nlicense = 'MIT'\n"
        "[project.scripts]\nEnvDemo = 'envdemo:main'\n\n"
        "[tool.hatch.build.targets.wheel]\npackages = ['envdemo']\n"
    )
    (root / "recipe").mkdir()
    (root / "recipe" / "meta.yaml").write_text(meta)
    return root


@pytest.mark.slow
def test_ci_recipe_gets_the_sdist_its_sha256_and_version_fastconda_built(
    seed_url: str, tmp_path: Path, unset: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path / "envdemo")
    result = build_project(project, build_options((seed_url,), tmp_path / "channel"))
    assert (result.name, result.version) == ("tangods-envdemo", "1.3.0")  # the sdist's, not 0.0.0.dev0
    assert assert_consistent(tmp_path / "channel") == ["tangods-envdemo"]
    (note,) = [n for n in result.notes if "built the sdist" in n]
    assert "PKG_VERSION=1.3.0" in note
    assert "tangods_envdemo-1.3.0.tar.gz" in note
    assert "SDIST_SHA256=" in note
    assert "sdist" in result.phases
    assert not any(name in os.environ for name in VARIABLES)  # set for the engine's job only


def test_variable_the_render_needs_and_nobody_set_is_one_line_before_the_engine(
    seed_url: str, tmp_path: Path, unset: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    meta = CI_META.replace(
        "  noarch: python\n", "  noarch: python\n  number: {{ environ['CI_PIPELINE_IID'] }}\n"
    )
    project = make_project(tmp_path / "envdemo", meta)
    output = tmp_path / "channel"
    code = main(["build", str(project), "-c", seed_url, "-o", str(output), "--offline"])
    err = capsys.readouterr().err
    assert code == ExitCode.FAILURE
    assert "Traceback" not in err
    (line,) = [line for line in err.splitlines() if not line.startswith("convert: ")]  # progress aside
    assert f"{project / 'recipe' / 'meta.yaml'}:13:" in line
    assert line.startswith("error: ")
    assert "CI_PIPELINE_IID" in line
    assert not output.exists()


def test_source_variable_that_is_not_an_sdist_cannot_be_known(
    tmp_path: Path, unset: pytest.MonkeyPatch
) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "package:\n  name: p\n  version: '1.0'\nsource:\n"
        "  url: ${{ env.get('CI_PROJECT_URL') }}/-/archive/main.tar.gz\n"
    )
    with pytest.raises(RecipeError, match=rf"^{recipe}:5: .*CI_PROJECT_URL.*not the path of an sdist"):
        needed_environment(recipe.read_text(), recipe, {}, can_make_sdist=True)


def test_the_users_variables_win_and_a_version_with_a_fallback_needs_no_sdist(tmp_path: Path) -> None:
    recipe = tmp_path / "meta.yaml"
    text = (
        "context:\n  version: ${{ env.get('PKG_VERSION', default='') or '0.0.0.dev0' }}\n"
        "package:\n  name: p\n  version: ${{ version }}\n"
        "source:\n  url: file://${{ env.get('SDIST', default='') }}\n"
        "  sha256: ${{ env.get('SDIST_SHA256', default='') }}\n"
    )
    recipe.write_text(text)
    facts = SdistFacts(path=tmp_path / "p-2.0.tar.gz", sha256="ab" * 32, md5="cd" * 16, version="2.0")
    needs = needed_environment(text, recipe, {"PKG_VERSION": "9.9.9"}, can_make_sdist=True)
    assert needs.sdist
    # the version is theirs
    assert needs.values(facts) == {"SDIST": str(facts.path), "SDIST_SHA256": "ab" * 32}
    assert needed_environment(text, recipe, {}, can_make_sdist=True).values(facts)["PKG_VERSION"] == "2.0"
    everything = {"SDIST": "/ci/p.tar.gz", "SDIST_SHA256": "0" * 64}
    assert not needed_environment(text, recipe, everything, can_make_sdist=True).sdist
    # their sdist with our hash would not match: the hash they forgot is named instead
    with pytest.raises(RecipeError, match=r"SDIST_SHA256 .*while SDIST \(set\) names the sdist"):
        needed_environment(text, recipe, {"SDIST": "/ci/p.tar.gz"}, can_make_sdist=True)
    local = text.replace("url: file://${{ env.get('SDIST', default='') }}", "path: ..").replace(
        "  sha256: ${{ env.get('SDIST_SHA256', default='') }}\n", ""
    )
    assert not needed_environment(local, recipe, {}, can_make_sdist=True).sdist  # '0.0.0.dev0' is fine


SDIST_RECIPE = """\
package:
  name: p
  version: ${{ env.get('PKG_VERSION') }}
source:
  url: file://${{ env.get('SDIST') }}
  sha256: ${{ env.get('SDIST_SHA256') }}
"""


def test_their_sdist_with_no_version_names_the_version_rather_than_guess_it(tmp_path: Path) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(SDIST_RECIPE)
    theirs = {"SDIST": "/ci/p.tar.gz", "SDIST_SHA256": "0" * 64}
    with pytest.raises(
        RecipeError, match=rf"^{recipe}:3: .*PKG_VERSION .*while SDIST \(set\) names the sdist"
    ):
        needed_environment(SDIST_RECIPE, recipe, theirs, can_make_sdist=True)
    ours = needed_environment(SDIST_RECIPE, recipe, {}, can_make_sdist=True)
    assert {use.name for use in ours.uses} == {"SDIST", "SDIST_SHA256", "PKG_VERSION"}


def test_bare_expressions_of_if_and_skip_are_read_too(tmp_path: Path) -> None:
    recipe = tmp_path / "recipe.yaml"
    text = SDIST_RECIPE + "build:\n  skip:\n    - env.get('NO_BUILD')\nrequirements:\n  run:\n"
    text += "    - if: env.get('WITH_NUMPY')\n      then: numpy\n"
    recipe.write_text(text)
    with pytest.raises(RecipeError, match=rf"^{recipe}:9: .*NO_BUILD .*no default"):
        needed_environment(text, recipe, {"WITH_NUMPY": "1"}, can_make_sdist=True)
    with pytest.raises(RecipeError, match=rf"^{recipe}:12: .*WITH_NUMPY .*no default"):
        needed_environment(text, recipe, {"NO_BUILD": ""}, can_make_sdist=True)


def test_sdist_source_of_a_project_without_an_sdist_names_the_variable(tmp_path: Path) -> None:
    recipe = tmp_path / "recipe.yaml"
    text = "package:\n  name: p\n  version: '1'\nsource:\n  path: ${{ env.get('SDIST') }}\n"
    recipe.write_text(text)
    with pytest.raises(RecipeError, match=rf"^{recipe}:5: .*SDIST"):
        needed_environment(text, recipe, {}, can_make_sdist=False)


def test_sdist_facts_are_read_from_the_tarball(tmp_path: Path) -> None:
    import io
    import tarfile

    tarball = tmp_path / "p-4.5.6.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        data = b"Metadata-Version: 2.1\nName: p\nVersion: 4.5.6\n"
        info = tarfile.TarInfo("p-4.5.6/PKG-INFO")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    facts = SdistFacts.of(tarball)
    assert facts.version == "4.5.6"
    assert facts.sha256 == hashlib.sha256(tarball.read_bytes()).hexdigest()
    assert facts.path == tarball.resolve()


def test_an_engine_jobs_variables_are_taken_away_after_the_job(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker runs several jobs one after the other: one job's variables never reach the next."""
    from fastconda.tools.rattler_build_jobs import _environment

    monkeypatch.delenv("SDIST", raising=False)
    monkeypatch.setenv("PKG_VERSION", "before")
    with _environment({"SDIST": "/work/p-1.0.tar.gz", "PKG_VERSION": "1.0"}):
        assert (os.environ["SDIST"], os.environ["PKG_VERSION"]) == ("/work/p-1.0.tar.gz", "1.0")
    assert "SDIST" not in os.environ
    assert os.environ["PKG_VERSION"] == "before"


def test_a_variable_with_a_default_needs_nothing(tmp_path: Path) -> None:
    """What the conversion makes of script_env and of environ.get without a default renders unset."""
    recipe = tmp_path / "recipe.yaml"
    text = (
        "package:\n  name: p\n  version: '1.0'\nsource:\n  path: ..\n"
        "build:\n  script:\n    env:\n      TANGO_HOST: ${{ env.get('TANGO_HOST', default='') }}\n"
        "    content: pip install .\nabout:\n  summary: ${{ env.get(\"CI_COMMIT_TAG\", default='') }}\n"
    )
    needs = needed_environment(text, recipe, {}, can_make_sdist=True)
    assert needs == Needed((), sdist=False)


def test_a_variable_the_recipe_reads_is_an_input_of_the_build(
    tmp_path: Path, unset: pytest.MonkeyPatch
) -> None:
    """A CI setting PKG_VERSION=1.5 after a build with 1.4 on the same tree gets a new build, not the old."""
    project = detect(make_project(tmp_path / "envdemo"))
    options = build_options(("file:///nowhere",), tmp_path / "channel")
    assert project.recipe is not None
    unset_key = inputs_key(project, options, project.recipe)
    unset.setenv("PKG_VERSION", "1.4")
    key = inputs_key(project, options, project.recipe)
    unset.setenv("PKG_VERSION", "1.5")
    assert len({unset_key, key, inputs_key(project, options, project.recipe)}) == 3
    unset.setenv("UNRELATED", "x")
    assert inputs_key(project, options, project.recipe) == inputs_key(project, options, project.recipe)
    assert read_names(project.recipe) == ["PKG_VERSION", "SDIST", "SDIST_SHA256"]


def test_sdist_named_through_a_jinja_variable_is_filled_too(tmp_path: Path) -> None:
    """tangods-mcmax 1.1.0's recipe: ``{% set sdist = environ.get('SDIST') %}`` and ``url: file://{{ sdist
    }}``; the variable is the sdist as much as when it is read in the url itself."""
    recipe = tmp_path / "meta.yaml"
    text = (
        "context:\n  version: ${{ env.get('PKG_VERSION', default='') or '0.0.0.dev0' }}\n"
        "  sdist: ${{ env.get('SDIST', default='') }}\n  sha256: ${{ env.get('SDIST_SHA256', default='') }}\n"
        "package:\n  name: p\n  version: ${{ version }}\n"
        "source:\n  url: file://${{ sdist }}\n  sha256: ${{ sha256 }}\n"
    )
    facts = SdistFacts(path=tmp_path / "p-2.0.tar.gz", sha256="ab" * 32, md5="cd" * 16, version="2.0")
    needs = needed_environment(text, recipe, {}, can_make_sdist=True)
    assert needs.values(facts) == {"SDIST": str(facts.path), "SDIST_SHA256": "ab" * 32, "PKG_VERSION": "2.0"}
    # a context variable that is only part of the url is not the sdist
    partial = text.replace("url: file://${{ sdist }}", "url: https://ci/${{ sdist }}/p.tar.gz")
    with pytest.raises(RecipeError, match="SDIST"):
        needed_environment(partial, recipe, {}, can_make_sdist=True)
