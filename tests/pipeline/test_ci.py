"""fastconda ci init: valid pipelines from shipped templates; the GitLab job scripts run green locally."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from fastconda.cli import ExitCode, main
from fastconda.cxx.migrate import migrate
from fastconda.pipeline.ci import CiError, CiOptions, init_pipeline, render_pipeline
from tests.conftest import REPO, needs_debian
from tests.helpers import assert_consistent, expand_vars

EXAMPLE = REPO / "examples" / "pytango-powersupply"
CXX_EXAMPLE = REPO / "examples" / "pogo-powermeter"


def test_gitlab_pipeline_is_valid_yaml_with_build_test_and_publish_on_tags() -> None:
    text = render_pipeline("gitlab", CiOptions(channels=("conda-forge", "https://x/y"), python="3.11"))
    data: dict[str, Any] = yaml.safe_load(text)
    assert data["stages"] == ["build", "test", "publish"]
    assert data["variables"]["FASTCONDA_CHANNELS"] == "conda-forge,https://x/y"
    assert data["default"]["image"] == "python:3.11"
    assert {".cache/fastconda", ".cache/rattler"} <= set(data["default"]["cache"]["paths"])
    assert any("fastconda build ." in line for line in data["build"]["script"])
    assert data["test"]["artifacts"]["reports"]["junit"] == "fastconda-test-*.xml"
    assert data["build"]["artifacts"]["reports"]["junit"] == "fastconda-build.xml"
    assert "$CI_COMMIT_TAG" in data["publish"]["rules"][0]["if"]
    assert any("fastconda publish" in line for line in data["publish"]["script"])
    assert "@" not in text.replace("@v", "")  # every marker filled


def test_github_workflow_is_valid_yaml_with_caches_and_publish_on_tags() -> None:
    data: dict[str, Any] = yaml.safe_load(
        render_pipeline("github", CiOptions(publish_to="quetz+https://q/c"))
    )
    # PyYAML reads the key `on` as True (YAML 1.1); GitHub reads it as "on"
    assert data[True]["push"]["tags"] == ["*"]
    assert data["env"]["FASTCONDA_PUBLISH_TO"] == "quetz+https://q/c"
    steps = data["jobs"]["conda-package"]["steps"]
    cache = next(s for s in steps if s.get("uses", "").startswith("actions/cache"))
    assert ".cache/fastconda" in cache["with"]["path"] and ".cache/rattler" in cache["with"]["path"]
    publish = next(s for s in steps if s.get("name") == "publish")
    assert "refs/tags/" in publish["if"] and "QUETZ_API_KEY" in publish["env"]


def test_existing_pipeline_is_kept_unless_forced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / ".gitlab-ci.yml"
    target.write_text("mine: true\n")
    assert main(["ci", "init", str(tmp_path)]) == ExitCode.FAILURE
    assert "already exists" in capsys.readouterr().err
    assert target.read_text() == "mine: true\n"
    assert main(["ci", "init", str(tmp_path), "--force", "-c", "https://a/b"]) == ExitCode.OK
    assert yaml.safe_load(target.read_text())["variables"]["FASTCONDA_CHANNELS"] == "https://a/b"
    result = init_pipeline(tmp_path, "github", CiOptions())
    assert result.path == tmp_path / ".github" / "workflows" / "fastconda.yml" and not result.overwritten
    with pytest.raises(CiError, match="quotes"):
        render_pipeline("gitlab", CiOptions(publish_to='a"b'))


def _python_example(tmp_path: Path, _cxx: Path, seed: Path) -> tuple[Path, str, str]:
    project = Path(shutil.copytree(EXAMPLE, tmp_path / "pytango-powersupply"))
    return project, seed.resolve().as_uri(), "tango-powersupply"


def _cxx_example(tmp_path: Path, cxx: Path, _seed: Path) -> tuple[Path, str, str]:
    project = Path(shutil.copytree(CXX_EXAMPLE, tmp_path / "PowerMeter"))
    migrate(project)
    return project, cxx.resolve().as_uri(), "powermeter"


@pytest.mark.slow
@pytest.mark.parametrize(
    "example", [_python_example, pytest.param(_cxx_example, marks=needs_debian)], ids=["python", "cxx"]
)
def test_gitlab_job_scripts_run_green_on_the_bundled_examples(
    example: Callable[[Path, Path, Path], tuple[Path, str, str]],
    request: pytest.FixtureRequest,
    seed_channel: Path,
    tmp_path: Path,
) -> None:
    """What the runner does after `before_script` (pip install fastconda): every job's script, in order."""
    cxx = request.getfixturevalue("cxx_channel") if example is _cxx_example else seed_channel
    project, channel, package = example(tmp_path, cxx, seed_channel)
    published = tmp_path / "published"
    args = ["ci", "init", str(project), "--gitlab", "-c", channel, "--publish-to", str(published)]
    assert main(args) == ExitCode.OK
    pipeline: dict[str, Any] = yaml.safe_load((project / ".gitlab-ci.yml").read_text())

    env = {**os.environ, "CI_PROJECT_DIR": str(project), "CI_COMMIT_TAG": "v1.2.0", "FASTCONDA_OFFLINE": "1"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # fastconda as pip installed it
    for name, value in pipeline["variables"].items():
        env[name] = expand_vars(str(value), env)
    # the caches a CI run restores: this session's warm ones (wheels for an offline sdist build)
    env["FASTCONDA_CACHE_DIR"] = os.environ["FASTCONDA_CACHE_DIR"]
    env["RATTLER_CACHE_DIR"] = os.environ["RATTLER_CACHE_DIR"]

    for job in pipeline["stages"]:
        for rule in pipeline[job].get("rules", []):
            assert rule["if"] == "$CI_COMMIT_TAG && $FASTCONDA_PUBLISH_TO"  # true here: tag and target set
        for line in pipeline[job]["script"]:
            done = subprocess.run(
                ["bash", "-eo", "pipefail", "-c", line],
                cwd=project, env=env, capture_output=True, text=True, check=False, timeout=600,
            )  # fmt: skip
            assert done.returncode == 0, f"job {job}: {line}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"

    assert (project / "fastconda-build.json").is_file()
    built = (project / "fastconda-build.xml").read_text()
    assert 'classname="' + package + '.test"' in built  # each package test command is a testcase
    assert assert_consistent(project / "output-channel") == [package]
    (report,) = project.glob("fastconda-test-*.xml")
    assert 'classname="' + package + '.package-test"' in report.read_text()  # the tests the package carries
    assert assert_consistent(published) == [package]
