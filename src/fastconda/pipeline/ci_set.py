"""CI pipelines for a repository of many projects (``fastconda ci init`` / ``fastconda ci plan``).

The set is read as ``fastconda build PATH...`` reads it (:func:`fastconda.pipeline.project_set.plan`:
names, dependencies, dependency order; a cycle, two projects making one package or a name that cannot
be read is a :class:`~fastconda.errors.ProjectError`). Each project gets one job, in the stage after
the deepest of the projects it needs (``build-1`` for those that need none of the set), with ``needs``
naming the jobs of the projects it needs directly. A job takes the output channels of those jobs
(their artifacts), indexes them as one channel and builds its project against it first; its own output
channel (what it was built against and what it built) is its artifact, so the dependencies' dependencies
come along.

How the graph reaches the CI system:

- GitLab: ``ci init`` writes a parent pipeline whose ``plan`` job runs ``fastconda ci plan --gitlab .``
  in the commit being built and triggers the child pipeline it prints (``trigger: include: artifact``):
  the graph is read at pipeline time, never frozen.
- GitHub has no generated workflows: ``ci init`` writes the jobs of the tree as it is (``ci plan
  --github`` prints the same), and the workflow's first job, ``plan``, runs ``fastconda ci plan --github
  --check`` on it, failing with what to do when the projects no longer match the jobs.
"""

from __future__ import annotations

import copy
import io
import re
from pathlib import Path
from typing import Any

from fastconda._files import write_text_atomic
from fastconda.pipeline.ci import PIPELINES, CiError, CiOptions, CiResult, System, fill_template
from fastconda.pipeline.project_set import ProjectSet, plan

SET_TEMPLATES: dict[System, str] = {"gitlab": "ci/gitlab-ci-set.yml", "github": "ci/github-set.yml"}
CHILD_TEMPLATE = "ci/gitlab-child.yml"
_GITHUB_JOB = "fastconda-build"  # the template's job that each project's job is copied from
_GITHUB_ID = re.compile(r"[^A-Za-z0-9_-]")


def stages(projects: ProjectSet) -> dict[Path, int]:
    """Each member's stage: 1 when it needs none of the set, else one after the deepest it needs."""
    level: dict[Path, int] = {}
    for member in projects.members:  # build order: what a member needs comes first
        level[member.root] = 1 + max((level[d] for d in projects.depends[member.root]), default=0)
    return level


def job_name(system: System, package: str) -> str:
    """The job of the project that makes *package* (GitHub job ids take letters, digits, - and _)."""
    return f"build:{package}" if system == "gitlab" else f"build-{_GITHUB_ID.sub('_', package)}"


def render_plan(root: Path, system: System, options: CiOptions) -> str:
    """GitLab: the child pipeline of the projects under *root*; GitHub: the whole workflow."""
    projects = plan([root])
    if system == "gitlab":
        return _dump(_gitlab_child(root, projects, options))
    return _dump(_github_workflow(root, projects, options))


def init_set_pipeline(root: Path, system: System, options: CiOptions, *, force: bool = False) -> CiResult:
    """Write the pipeline of the projects under *root* (read first: a set that cannot be built is an
    error here, not in the first pipeline); an existing pipeline file is kept unless *force*."""
    target = root / PIPELINES[system][1]
    exists = target.exists()
    if exists and not force:
        msg = f"{target} already exists; not overwriting it (pass --force to replace it)"
        raise CiError(msg)
    text = render_plan(root, system, options)  # GitHub: the jobs; GitLab: the set is checked
    if system == "gitlab":
        text = fill_template(SET_TEMPLATES["gitlab"], options)
    write_text_atomic(target, text)
    return CiResult(system=system, path=target, overwritten=exists)


def check_github(root: Path, workflow: Path) -> None:
    """A :class:`CiError` when the jobs of *workflow* no longer match the projects under *root*
    (a project added, removed, renamed, or its dependencies changed)."""
    from ruamel.yaml.error import YAMLError

    expected = _graph(_github_workflow(root, plan([root]), CiOptions())) or {}
    try:
        data = _yaml().load(workflow.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, YAMLError) as exc:
        msg = f"cannot read the workflow {workflow}: {exc}"
        raise CiError(msg) from None
    found = _graph(data)
    if found is None:
        msg = f"{workflow} is not a GitHub workflow (no jobs:); `fastconda ci init --github` writes one"
        raise CiError(msg)
    if found != expected:
        lines = [
            f"  {job}: builds {wants[0]}, needs {', '.join(wants[1:]) or 'none'}"
            for job, wants in sorted(expected.items())
        ]
        missing = sorted(set(expected) - set(found))
        extra = sorted(set(found) - set(expected))
        diff = "; ".join(
            part
            for part in (
                f"no job for {', '.join(missing)}" if missing else "",
                f"jobs of no project: {', '.join(extra)}" if extra else "",
                "a project moved or its dependencies changed" if not missing and not extra else "",
            )
            if part
        )
        msg = (
            f"{workflow} does not match the projects under {root} ({diff}); run `fastconda ci init "
            "--github --force` to write it again. The projects want:\n" + "\n".join(lines)
        )
        raise CiError(msg)


def _graph(workflow: Any) -> dict[str, tuple[str, ...]] | None:
    """The project jobs of a workflow (those with ``FASTCONDA_PROJECT`` in their env): the project
    each builds, then the project jobs it needs; None without jobs."""
    jobs = workflow.get("jobs") if isinstance(workflow, dict) else None
    if not isinstance(jobs, dict):
        return None
    builds = {
        str(name): job
        for name, job in jobs.items()
        if isinstance(job, dict) and isinstance(job.get("env"), dict) and "FASTCONDA_PROJECT" in job["env"]
    }
    return {
        name: (
            str(job["env"]["FASTCONDA_PROJECT"]),
            *sorted(str(n) for n in (job.get("needs") or []) if str(n) in builds),
        )
        for name, job in builds.items()
    }


def _relative(root: Path, project: Path) -> str:
    return project.relative_to(root.resolve()).as_posix() or "."


def _gitlab_child(root: Path, projects: ProjectSet, options: CiOptions) -> Any:
    from ruamel.yaml.comments import CommentedMap

    data = _yaml().load(fill_template(CHILD_TEMPLATE, options))
    level = stages(projects)
    names = {m.root: job_name("gitlab", m.package) for m in projects.members}
    data["stages"] = _flow([f"build-{n}" for n in range(1, max(level.values()) + 1)] + ["publish"])
    position = first = list(data).index("publish")
    for member in sorted(projects.members, key=lambda m: level[m.root]):  # stage, then build order
        job = CommentedMap()
        job["extends"] = ".fastconda-build"
        job["stage"] = f"build-{level[member.root]}"
        job["needs"] = _flow([names[d] for d in projects.depends[member.root]])
        job["variables"] = CommentedMap(FASTCONDA_PROJECT=_relative(root, member.root))
        data.insert(position, names[member.root], job)
        if position > first:  # the template's blank line comes before the first
            data.yaml_set_comment_before_after_key(names[member.root], before="\n")
        position += 1
    data.yaml_set_comment_before_after_key("publish", before="\n")
    return data


def _github_workflow(root: Path, projects: ProjectSet, options: CiOptions) -> Any:
    data = _yaml().load(fill_template(SET_TEMPLATES["github"], options))
    jobs = data["jobs"]
    model = jobs.pop(_GITHUB_JOB)
    position = list(jobs).index("publish")
    names = {m.root: job_name("github", m.package) for m in projects.members}
    level = stages(projects)
    for member in sorted(projects.members, key=lambda m: level[m.root]):  # as GitLab's stages
        job = copy.deepcopy(model)
        job.insert(0, "name", f"build {member.package}")
        job.insert(1, "needs", _flow(["plan", *(names[d] for d in projects.depends[member.root])]))
        job["env"]["FASTCONDA_PROJECT"] = _relative(root, member.root)
        job["env"]["FASTCONDA_JOB"] = names[member.root]
        if not projects.depends[member.root]:  # nothing to take from other jobs
            steps = job["steps"]
            del steps[next(i for i, s in enumerate(steps) if s.get("id") == "dependencies")]
        jobs.insert(position, names[member.root], job)
        position += 1
    jobs["publish"].insert(1, "needs", _flow(["plan", *(names[m.root] for m in projects.members)]))
    return data


def _flow(items: list[str]) -> Any:
    from ruamel.yaml.comments import CommentedSeq

    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _dump(data: Any) -> str:
    out = io.StringIO()
    _yaml().dump(data, out)
    return out.getvalue()
