"""``fastconda ci init``: write a CI pipeline (GitLab or GitHub) that builds, tests and publishes.

The pipelines are templates shipped in ``recipe_templates/ci/``; ``@NAME@`` markers are filled in
(``$VAR`` and ``${{ }}`` belong to the CI systems, so neither string.Template nor jinja fits).
An existing pipeline file is never overwritten without ``force``.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path
from typing import Literal

from fastconda._files import write_text_atomic
from fastconda.errors import FastcondaError
from fastconda.templates import read_template

System = Literal["gitlab", "github"]

PIPELINES: dict[System, tuple[str, str]] = {
    # system: (template, file written in the project)
    "gitlab": ("ci/gitlab-ci.yml", ".gitlab-ci.yml"),
    "github": ("ci/github.yml", ".github/workflows/fastconda.yml"),
}
_MARKER = re.compile(r"@([A-Z_]+)@")


class CiError(FastcondaError):
    """A CI pipeline cannot be written."""


@dataclasses.dataclass(frozen=True)
class CiOptions:
    channels: tuple[str, ...] = ("conda-forge",)
    publish_to: str = ""
    python: str = f"{sys.version_info.major}.{sys.version_info.minor}"
    fastconda: str = "fastconda"  # the pip requirement the job installs


@dataclasses.dataclass(frozen=True)
class CiResult:
    system: System
    path: Path
    overwritten: bool

    def to_json(self) -> dict[str, object]:
        return {"system": self.system, "path": str(self.path), "overwritten": self.overwritten}


def render_pipeline(system: System, options: CiOptions) -> str:
    """The pipeline text for *system* with the options filled in."""
    return fill_template(PIPELINES[system][0], options)


def fill_template(template: str, options: CiOptions) -> str:
    """The CI template *template* (under ``recipe_templates/``) with the options filled in."""
    values = {
        "CHANNELS": ",".join(options.channels),
        "PUBLISH_TO": options.publish_to,
        "PYTHON": options.python,
        "FASTCONDA": options.fastconda,
    }
    for name, value in values.items():
        if '"' in value or "\n" in value:
            msg = f"{name.lower()} {value!r} cannot go into a YAML string (quotes or newlines)"
            raise CiError(msg)

    def fill(match: re.Match[str]) -> str:
        try:
            return values[match.group(1)]
        except KeyError:
            msg = f"template {template} has an unknown marker @{match.group(1)}@ (reinstall fastconda)"
            raise CiError(msg) from None

    return _MARKER.sub(fill, read_template("recipe", template))


def init_pipeline(project: Path, system: System, options: CiOptions, *, force: bool = False) -> CiResult:
    """Write the pipeline file of *system* into *project*; refuse to replace one unless *force*."""
    if not project.is_dir():
        msg = f"{project}: no such project folder"
        raise CiError(msg)
    target = project / PIPELINES[system][1]
    exists = target.exists()
    if exists and not force:
        msg = f"{target} already exists; not overwriting it (pass --force to replace it)"
        raise CiError(msg)
    write_text_atomic(target, render_pipeline(system, options))
    return CiResult(system=system, path=target, overwritten=exists)
