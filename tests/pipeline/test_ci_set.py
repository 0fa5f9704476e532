"""fastconda ci init / ci plan on a repository of many projects: a job per project in dependency stages
(GitLab child pipeline, GitHub jobs), set errors before anything is written, and the GitLab jobs run
green locally the way a runner runs them (each in its own checkout, with its needs' artifacts)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from fastconda.channel.local import list_packages
from fastconda.cli import ExitCode, main
from fastconda.pipeline.ci import CiError, CiOptions
from fastconda.pipeline.ci_set import check_github, render_plan
from tests.helpers import assert_consistent, expand_vars, python_project

# B's --help reads the version of A its test environment holds: A is in no channel but the jobs' own
SHOWS_A = "from importlib.metadata import version; print('usage: proj-b with proj-a', version('proj-a'))"


def _load(text: str) -> Any:
    return YAML(typ="safe").load(text)


def _four(root: Path) -> Path:
    """a; b needs a; c (proj.c, the conda package proj-c) needs a and b: its stage is after b's; d alone."""
    python_project(root / "libs" / "a", "proj-a")
    python_project(root / "servers" / "b", "proj-b", needs=("proj-a >=0.3",))
    python_project(root / "servers" / "c", "proj.c", needs=("proj-b", "proj-a"))
    python_project(root / "d", "proj-d")
    return root


def _plan(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["ci", "plan", *argv]) == ExitCode.OK
    return capsys.readouterr().out


def test_gitlab_child_pipeline_has_a_job_per_project_in_dependency_stages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _four(tmp_path / "repo")
    child = _load(_plan(["--gitlab", str(root), "-c", "https://x/y", "--python", "3.12"], capsys))
    assert child["stages"] == ["build-1", "build-2", "build-3", "publish"]
    jobs = {name: job for name, job in child.items() if name.startswith("build:")}
    assert {n: (j["stage"], j["needs"], j["variables"]["FASTCONDA_PROJECT"]) for n, j in jobs.items()} == {
        "build:proj-a": ("build-1", [], "libs/a"),
        "build:proj-d": ("build-1", [], "d"),
        "build:proj-b": ("build-2", ["build:proj-a"], "servers/b"),
        "build:proj-c": ("build-3", ["build:proj-a", "build:proj-b"], "servers/c"),
    }
    assert all(job["extends"] == ".fastconda-build" for job in jobs.values())
    script = "\n".join(child[".fastconda-build"]["script"])
    # against the output channel first: the dependencies' jobs' artifacts, indexed as one channel
    assert 'fastconda channel index "$FASTCONDA_OUTPUT"' in script
    assert 'FASTCONDA_CHANNELS="file://$FASTCONDA_OUTPUT,$FASTCONDA_CHANNELS"' in script
    assert 'fastconda build "$FASTCONDA_PROJECT" -o "$FASTCONDA_OUTPUT"' in script
    assert child[".fastconda-build"]["artifacts"]["paths"][0] == "output-channel/"
    assert child["variables"]["FASTCONDA_CHANNELS"] == "https://x/y"
    assert child["default"]["image"] == "python:3.12"
    assert "needs" not in child["publish"]  # the last stage: every build's artifacts
    assert list(child)[-1] == "publish"
    printed = json.loads(
        _plan(["--gitlab", str(root), "-c", "https://x/y", "--python", "3.12", "--json"], capsys)
    )
    assert _load(printed["pipeline"]) == child


def test_ci_init_on_a_folder_of_projects_writes_a_parent_that_plans_when_the_pipeline_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _four(tmp_path / "repo")
    assert main(["ci", "init", str(root), "-c", "https://x/y", "--json"]) == ExitCode.OK
    assert '"set": true' in capsys.readouterr().out
    parent = _load((root / ".gitlab-ci.yml").read_text())
    assert parent["stages"] == ["plan", "build"]
    assert parent["plan"]["script"] == ["fastconda ci plan --gitlab . > fastconda-child.yml"]
    assert parent["plan"]["artifacts"]["paths"] == ["fastconda-child.yml"]
    assert parent["build"]["trigger"]["include"] == [{"artifact": "fastconda-child.yml", "job": "plan"}]
    assert parent["build"]["trigger"]["strategy"] == "depend"
    assert parent["variables"]["FASTCONDA_CHANNELS"] == "https://x/y"
    # a project of its own still gets the one-project pipeline
    assert main(["ci", "init", str(root / "d")]) == ExitCode.OK
    assert "build" in _load((root / "d" / ".gitlab-ci.yml").read_text())["stages"]


def test_set_errors_are_clear_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "repo"
    python_project(root / "a", "proj-a", needs=("proj-b",))
    python_project(root / "b", "proj-b", needs=("proj-a",))
    assert main(["ci", "init", str(root)]) == ExitCode.FAILURE
    assert "cycle: proj-a (a) → proj-b (b) → proj-a (a)" in capsys.readouterr().err
    assert not (root / ".gitlab-ci.yml").exists()
    assert main(["ci", "plan", "--gitlab", str(root)]) == ExitCode.FAILURE
    captured = capsys.readouterr()
    assert captured.out == "" and "cycle" in captured.err and "Traceback" not in captured.err
    shutil.rmtree(root / "b")
    python_project(root / "b", "Proj_A")
    assert main(["ci", "init", str(root), "--github"]) == ExitCode.FAILURE
    assert "two projects make the package proj-a" in capsys.readouterr().err
    assert not (root / ".github").exists()


def test_github_workflow_has_a_job_per_project_needing_its_dependencies_and_checks_the_tree(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _four(tmp_path / "repo")
    assert main(["ci", "init", str(root), "--github"]) == ExitCode.OK
    workflow_file = root / ".github" / "workflows" / "fastconda.yml"
    text = workflow_file.read_text()
    assert text == render_plan(root, "github", CiOptions(channels=("conda-forge",)))
    jobs = _load(text)["jobs"]
    assert list(jobs) == ["plan", "build-proj-d", "build-proj-a", "build-proj-b", "build-proj-c", "publish"]
    needs = {name: job.get("needs") for name, job in jobs.items()}
    assert needs["build-proj-b"] == ["plan", "build-proj-a"]
    assert needs["build-proj-c"] == ["plan", "build-proj-a", "build-proj-b"]
    assert needs["publish"] == ["plan", "build-proj-d", "build-proj-a", "build-proj-b", "build-proj-c"]
    b = jobs["build-proj-b"]
    assert b["env"] == {"FASTCONDA_PROJECT": "servers/b", "FASTCONDA_JOB": "build-proj-b"}
    uses = [step.get("uses", "") for step in b["steps"]]
    assert "actions/download-artifact@v4" in uses  # its dependencies' channels
    assert "actions/download-artifact@v4" not in [s.get("uses", "") for s in jobs["build-proj-a"]["steps"]]
    assert "fastconda ci plan --github --check" in jobs["plan"]["steps"][-1]["run"]
    check_github(root, workflow_file)  # matches
    with workflow_file.open("a") as handle:  # a job of the user's own: not a project's
        handle.write("  build-docs:\n    runs-on: ubuntu-latest\n    steps: [{run: make docs}]\n")
    assert "build-docs" in _load(workflow_file.read_text())["jobs"]
    check_github(root, workflow_file)
    python_project(root / "e", "proj-e", needs=("proj-d",))  # a new project: the jobs are out of date
    with pytest.raises(CiError, match=r"no job for build-proj-e.*ci init --github --force"):
        check_github(root, workflow_file)
    argv = ["ci", "plan", "--github", str(root), "--check", str(workflow_file)]
    assert main(argv) == ExitCode.FAILURE
    assert "build-proj-e: builds e, needs build-proj-d" in capsys.readouterr().err
    shutil.move(root / "e", root / "servers" / "e")  # written again, then moved: the job builds no project
    assert main(["ci", "init", str(root), "--github", "--force"]) == ExitCode.OK
    (root / "servers" / "e").rename(root / "e2")
    with pytest.raises(CiError, match=r"a project moved or its dependencies changed"):
        check_github(root, workflow_file)
    assert main(["ci", "plan", "--gitlab", str(root), "--check", str(workflow_file)]) == ExitCode.USAGE


def _job_env(variables: dict[str, Any], workspace: Path, base: dict[str, str]) -> dict[str, str]:
    env = {**base, "CI_PROJECT_DIR": str(workspace)}
    for name, value in variables.items():
        env[name] = expand_vars(str(value), env)
    # the caches a CI run restores: this session's warm ones (wheels for an offline sdist build)
    env["FASTCONDA_CACHE_DIR"] = os.environ["FASTCONDA_CACHE_DIR"]
    env["RATTLER_CACHE_DIR"] = os.environ["RATTLER_CACHE_DIR"]
    return env


def _run_script(lines: list[str], workspace: Path, env: dict[str, str], job: str) -> None:
    """A job's script as a runner runs it: one shell, stopping at the first failing line."""
    done = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", "\n".join(lines)],
        cwd=workspace, env=env, capture_output=True, text=True, check=False, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, f"job {job}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


def _checkout(repo: Path, workspace: Path, artifacts: list[Path]) -> Path:
    """A fresh checkout for a job, with the artifacts of the jobs it takes them from unpacked over it
    (one after the other, as the runner does: the last repodata.json wins)."""
    shutil.copytree(repo, workspace, ignore=shutil.ignore_patterns(".gitlab-ci.yml"))
    for artifact in artifacts:
        shutil.copytree(artifact, workspace / "output-channel", dirs_exist_ok=True)
    return workspace


@pytest.mark.slow
def test_gitlab_parent_and_child_jobs_run_green_locally_b_against_a_just_built(
    seed_url: str, tmp_path: Path
) -> None:
    """The parent's plan job, then each child job in stage order in its own checkout with its needs'
    output channels, then publish with them all (a tag pipeline with a target)."""
    repo = tmp_path / "repo"
    python_project(repo / "b", "proj-b", needs=("proj-a",), script=SHOWS_A)
    python_project(repo / "a", "proj-a")
    published = tmp_path / "published"
    argv = ["ci", "init", str(repo), "--gitlab", "-c", seed_url, "--publish-to", str(published)]
    assert main(argv) == ExitCode.OK
    parent: dict[str, Any] = YAML(typ="safe").load((repo / ".gitlab-ci.yml").read_text())
    base = {**os.environ, "CI_COMMIT_TAG": "v1.0.0", "FASTCONDA_OFFLINE": "1"}
    base["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{base['PATH']}"  # fastconda as pip installed it

    planner = _checkout(repo, tmp_path / "jobs" / "plan", [])
    _run_script(parent["plan"]["script"], planner, _job_env(parent["variables"], planner, base), "plan")
    (artifact,) = parent["build"]["trigger"]["include"]
    child: dict[str, Any] = YAML(typ="safe").load((planner / artifact["artifact"]).read_text())
    assert child["stages"] == ["build-1", "build-2", "publish"]
    assert child["build:proj-b"]["needs"] == ["build:proj-a"]

    channels: dict[str, Path] = {}
    for stage in child["stages"][:-1]:
        for name, job in child.items():
            if not isinstance(job, dict) or job.get("stage") != stage:
                continue
            template = child[job["extends"]]
            workspace = _checkout(repo, tmp_path / "jobs" / name.replace(":", "-"), [
                channels[n] for n in job["needs"]
            ])  # fmt: skip
            env = _job_env({**child["variables"], **job["variables"]}, workspace, base)
            _run_script(template["script"], workspace, env, name)
            channels[name] = workspace / "output-channel"
            assert (workspace / "fastconda-build.xml").is_file()
    assert assert_consistent(channels["build:proj-a"]) == ["proj-a"]
    assert sorted(assert_consistent(channels["build:proj-b"])) == ["proj-a", "proj-b"]  # A came with it
    built = json.loads((tmp_path / "jobs" / "build-proj-b" / "fastconda-build.json").read_text())
    assert {"command": "ProjB --help", "passed": True} in [  # it reads proj-a's version: A was there
        {k: t[k] for k in ("command", "passed")} for t in built["tests"]
    ]
    assert "proj-a" not in {r["name"] for r in list_packages(Path(seed_url.removeprefix("file://")))}

    publish = child["publish"]
    assert publish["rules"][0]["if"] == "$CI_COMMIT_TAG && $FASTCONDA_PUBLISH_TO"  # true here
    workspace = _checkout(repo, tmp_path / "jobs" / "publish", list(channels.values()))
    _run_script(publish["script"], workspace, _job_env(child["variables"], workspace, base), "publish")
    assert sorted(assert_consistent(published)) == ["proj-a", "proj-b"]


def _github_env(
    workflow: dict[str, Any], job: dict[str, Any], workspace: Path, base: dict[str, str]
) -> dict[str, str]:
    """The workflow's and the job's env, ``${{ github.workspace }}`` read as the runner does."""
    env = dict(base)
    for name, value in {**workflow["env"], **job.get("env", {})}.items():
        env[name] = str(value).replace("${{ github.workspace }}", str(workspace))
    env["FASTCONDA_CACHE_DIR"] = os.environ["FASTCONDA_CACHE_DIR"]  # the caches a run restores
    env["RATTLER_CACHE_DIR"] = os.environ["RATTLER_CACHE_DIR"]
    return env


@pytest.mark.slow
def test_github_jobs_run_green_locally_in_needs_order_b_against_a_just_built(
    seed_url: str, tmp_path: Path
) -> None:
    """Each job in its own checkout with the channel artifacts uploaded before it (download-artifact
    with the pattern channel-*, merged), its run steps but pip's; then publish on a tag."""
    repo = tmp_path / "repo"
    python_project(repo / "b", "proj-b", needs=("proj-a",), script=SHOWS_A)
    python_project(repo / "a", "proj-a")
    published = tmp_path / "published"
    argv = ["ci", "init", str(repo), "--github", "-c", seed_url, "--publish-to", str(published)]
    assert main(argv) == ExitCode.OK
    workflow: dict[str, Any] = YAML(typ="safe").load((repo / ".github/workflows/fastconda.yml").read_text())
    base = {**os.environ, "FASTCONDA_OFFLINE": "1"}
    base["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{base['PATH']}"  # fastconda as pip installed it

    assert workflow["jobs"]["publish"]["if"] == "startsWith(github.ref, 'refs/tags/')"  # a tag, here
    uploaded: dict[str, Path] = {}
    done: list[str] = []
    for name, job in workflow["jobs"].items():
        assert set(job.get("needs", [])) <= set(done), f"{name} comes before a job it needs"
        downloads = any(s.get("uses", "").startswith("actions/download-artifact") for s in job["steps"])
        workspace = _checkout(repo, tmp_path / "jobs" / name, list(uploaded.values()) if downloads else [])
        env = _github_env(workflow, job, workspace, base)
        for step in job["steps"]:
            if "run" in step and "pip install" not in step["run"]:
                assert step.get("if", "env.FASTCONDA_PUBLISH_TO != ''") == "env.FASTCONDA_PUBLISH_TO != ''"
                _run_script([step["run"]], workspace, env, f"{name}: {step.get('name', '')}")
            if (
                step.get("uses", "").startswith("actions/upload-artifact")
                and "channel-" in step["with"]["name"]
            ):
                uploaded[name] = workspace / "output-channel"
        done.append(name)
    assert done == ["plan", "build-proj-a", "build-proj-b", "publish"]
    assert sorted(assert_consistent(uploaded["build-proj-b"])) == ["proj-a", "proj-b"]
    assert sorted(assert_consistent(published)) == ["proj-a", "proj-b"]
