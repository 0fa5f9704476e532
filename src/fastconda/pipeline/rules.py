"""Facility rules applied to a generated v1 recipe (the CI job's conventions, made explicit).

- the package must be ``noarch: python`` (a server that installs ``scripts=`` files is not), and a
  project that declares ``scripts=`` is refused whatever grayskull made of it (read statically:
  :mod:`fastconda.pipeline.legacy`);
- the build script is ``fastconda_install.py``: the project's own backend builds the wheel in the
  build's Python and ``installer`` installs it, which is what ``pip install . --no-deps
  --no-build-isolation`` does, without pip's start (about 0.3 s a build). The host env has the
  backend (for a project without ``[build-system]``, the PEP 517 fallback's setuptools and wheel
  are added) and gets ``python-installer``;
- when grayskull recovered no run requirements but the sdist's ``PKG-INFO`` has ``Requires-Dist``,
  they come from there (:mod:`fastconda.pipeline.pkg_info`), with a note;
- the imports tested are what the distribution really installed, read from its ``RECORD`` in the
  test environment (``fastconda_check.py --dist NAME``, :mod:`fastconda.testing.toplevel`):
  grayskull guesses from the project's name, and the source tree cannot tell what the backend
  installs (PEP 420 namespace packages, ``package_dir``, hatch ``packages``);
- all checks run in ONE test environment (each ``tests:`` entry costs one): the imports and what
  ``pip check`` checks, in one process (``fastconda_check.py``), then ``<entry point> --help``;
  ``--help`` is left out for taurus applications;
- grayskull's placeholders (license it could not find, maintainers) are replaced or removed.
"""

from __future__ import annotations

import dataclasses
import io
import shlex
from importlib import resources
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from fastconda.errors import RecipeError
from fastconda.pipeline.legacy import declared_scripts, fallback_backend
from fastconda.pipeline.pkg_info import SdistMetadata, run_requirements
from fastconda.pipeline.project import Project
from fastconda.templates import read_template
from fastconda.wheel.specs import conda_name

PLACEHOLDERS = {"IT-WAS-NOT-POSSIBLE-TO-RECOVER-LICENCE", "PLEASE_ADD_LICENSE_FILE", "AddYourGitHubIdHere"}
INSTALL_SCRIPT = "fastconda_install.py"
INSTALL = f"$PYTHON $RECIPE_DIR/{INSTALL_SCRIPT}"
INSTALLER = "python-installer"  # PyPI's `installer`, as conda-forge names it
CHECK_SCRIPT = "fastconda_check.py"
TOPLEVEL_MODULE = "fastconda_toplevel.py"  # fastconda.testing.toplevel, imported by the check script
LICENSE_FILES = ("LICENSE", "LICENSE.txt", "LICENSE.md", "COPYING", "LICENCE")


@dataclasses.dataclass(frozen=True)
class Rules:
    require_noarch: bool = True
    help_tests: bool = True  # `<entry point> --help`, except for taurus applications


@dataclasses.dataclass(frozen=True)
class RuledRecipe:
    text: str
    notes: tuple[str, ...]  # what the rules changed, for the log
    files: tuple[tuple[str, str], ...] = ()  # (name, text) written next to recipe.yaml


def _yaml() -> YAML:
    yaml = YAML()
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def refuse_scripts(project: Project, rules: Rules = Rules()) -> None:
    """The noarch rule on the project's own files: ``scripts=`` (read statically) cannot be in a
    ``noarch: python`` package. Checked before grayskull runs, since what grayskull makes of a
    ``setup.py`` it cannot run offline (an empty recipe that looks noarch) says nothing about it."""
    scripts = declared_scripts(project.root) if rules.require_noarch else None
    if scripts is not None:
        shown = f" ({', '.join(scripts.names)})" if scripts.names else ""
        msg = (
            f"{scripts.where}: the project installs `scripts=` files{shown}, which a `noarch: python` "
            "package (the facility requires it for Python servers) cannot hold: replace them by an entry "
            "point ([project.scripts] in pyproject.toml, or entry_points={'console_scripts': [...]})"
        )
        raise RecipeError(msg)


def apply_rules(
    recipe_text: str, project: Project, rules: Rules = Rules(), sdist: SdistMetadata | None = None
) -> RuledRecipe:
    """The facility rules on *recipe_text* (grayskull's, converted); *sdist* is the core metadata of
    the sdist the recipe builds (its ``PKG-INFO``), when there is one."""
    yaml = _yaml()
    data: CommentedMap = yaml.load(recipe_text)
    notes: list[str] = []
    build = data.setdefault("build", CommentedMap())
    refuse_scripts(project, rules)
    if rules.require_noarch and build.get("noarch") != "python":
        compiled = _compiled(data)
        if compiled:
            msg = (
                f"{project.root}: the recipe is not `noarch: python` (the facility requires it for Python "
                f"servers): it compiles code ({compiled}); build it as a C++ project or drop the extension"
            )
            raise RecipeError(msg)
        # grayskull leaves noarch out when a requirement has a python-version marker (`futures;
        # python_version<'3'` → `# [py<3]`), which the conversion made a constant; scripts= were
        # refused above: nothing here is specific to one Python
        build["noarch"] = "python"
        notes.append("noarch: python (grayskull left it out for a python-version selector; no compiled code)")
    build["script"] = INSTALL
    requirements = data.setdefault("requirements", CommentedMap())
    notes += _add_fallback_backend(requirements, project)
    notes += _add_installer(requirements)
    if sdist is not None:
        notes += _fill_run_requirements(requirements, sdist)
    notes += _channel_names(requirements)

    run_deps = [str(d) for d in requirements.get("run", []) or [] if isinstance(d, str)]
    taurus = any(d.split()[0].lower() == "taurus" for d in run_deps if d.strip())
    entry_points = [str(e).split("=")[0].strip() for e in build.get("python", {}).get("entry_points", [])]
    distribution = sdist.name if sdist is not None else project.name or str(data["package"]["name"])
    # imports and pip check's requirement check in one process (fastconda_check.py: ~1 s less than pip check)
    commands = [f"python {CHECK_SCRIPT} --dist {shlex.quote(distribution)}"]
    if rules.help_tests and not taurus:
        commands += [f"{name} --help" for name in entry_points]
    elif taurus and entry_points:
        notes.append("no --help tests: taurus applications do not support --help")
    test = CommentedMap()
    test["script"] = CommentedSeq(commands)
    # the check script reads requirements with `packaging`; pip's copy serves when nothing else brings it
    test["requirements"] = CommentedMap(run=CommentedSeq(["pip"]))
    test["files"] = CommentedMap(recipe=CommentedSeq([CHECK_SCRIPT, TOPLEVEL_MODULE]))
    data["tests"] = CommentedSeq([test])
    notes.append(f"one test environment: {'; '.join(commands)}")

    about = data.setdefault("about", CommentedMap())
    # the converter made grayskull's placeholder a valid SPDX reference: LicenseRef-<placeholder>
    if str(about.get("license", "")).removeprefix("LicenseRef-") in PLACEHOLDERS or not about.get("license"):
        if project.license:
            about["license"] = project.license
        else:
            about.pop("license", None)
    if str(about.get("license_file", "")) in PLACEHOLDERS:
        found = [name for name in LICENSE_FILES if (project.root / name).is_file()]
        if found:
            about["license_file"] = found[0]
        else:
            del about["license_file"]
    extra = data.get("extra")
    if isinstance(extra, dict):
        maintainers = [m for m in extra.get("recipe-maintainers", []) if m not in PLACEHOLDERS]
        if maintainers:
            extra["recipe-maintainers"] = maintainers
        else:
            extra.pop("recipe-maintainers", None)
        if not extra:
            del data["extra"]
    out = io.StringIO()
    yaml.dump(data, out)
    install, check = (
        (name, read_template("recipe", f"python/{name}")) for name in (INSTALL_SCRIPT, CHECK_SCRIPT)
    )
    toplevel = (
        TOPLEVEL_MODULE,
        resources.files("fastconda.testing").joinpath("toplevel.py").read_text(encoding="utf-8"),
    )
    return RuledRecipe(text=out.getvalue(), notes=tuple(notes), files=(install, check, toplevel))


def _names(specs: Any) -> set[str]:
    return {str(s).split()[0].lower() for s in specs or [] if isinstance(s, str) and s.strip()}


def _add_fallback_backend(requirements: CommentedMap, project: Project) -> list[str]:
    """Host requirements of the PEP 517 fallback backend, for a project without ``[build-system]``."""
    fallback = fallback_backend(project.root)
    if not fallback:
        return []
    host = requirements.get("host")
    if not isinstance(host, list):
        host = requirements["host"] = CommentedSeq(["python", "pip"])
    have = _names(host)
    added = [spec for spec in fallback if spec.split()[0] not in have]
    host.extend(added)
    if not added:
        return []
    return [f"no [build-system] in the project: host gets the PEP 517 fallback backend ({', '.join(added)})"]


def _add_installer(requirements: CommentedMap) -> list[str]:
    """``python-installer`` in the host env, where fastconda_install.py imports it."""
    host = requirements.get("host")
    if not isinstance(host, list):
        host = requirements["host"] = CommentedSeq(["python"])
    if INSTALLER not in _names(host):
        host.append(INSTALLER)
    return [f"build script {INSTALL_SCRIPT}: the project's backend builds the wheel, installer installs it"]


def _fill_run_requirements(requirements: CommentedMap, sdist: SdistMetadata) -> list[str]:
    """Run requirements from the sdist's ``PKG-INFO`` when grayskull recovered none at all."""
    run = requirements.get("run")
    entries = run if isinstance(run, list) else []
    if (
        not sdist.requires_dist
        or any(not isinstance(e, str) for e in entries)
        or _names(entries) - {"python"}
    ):
        return []
    found, problems = run_requirements(sdist)
    # a new list: ruamel keeps the blank line after the old last entry, which would split the list
    requirements["run"] = CommentedSeq([*entries, *found] if entries else ["python", *found])
    shown = ", ".join(found) or "none for this target"
    return [
        f"grayskull recovered no run requirements for {sdist.name}: "
        f"taken from the sdist's PKG-INFO Requires-Dist: {shown}",
        *problems,
    ]


def _compiled(data: CommentedMap) -> str:
    """The build requirements that compile (``${{ compiler('c') }}``, ``stdlib``), joined; '' if none."""
    requirements = data.get("requirements")
    build = requirements.get("build") if isinstance(requirements, dict) else None
    found = [str(e) for e in build or [] if "compiler(" in str(e) or "stdlib(" in str(e)]
    return ", ".join(found)


def _channel_names(requirements: CommentedMap) -> list[str]:
    """Requirement names spelled the way fastconda's channels spell them.

    grayskull keeps a PyPI spelling where its map has none (``prompt_toolkit``); the wheel stage and
    the seed channel name that package ``prompt-toolkit`` (:func:`fastconda.wheel.specs.conda_name`),
    and a solver takes the two for different packages. Only the spelling changes (the normalised
    PyPI name stays the same); a different name (``build`` → ``python-build``) is grayskull's
    choice and is left alone."""
    changed: list[str] = []
    for section in ("host", "run"):
        entries = requirements.get(section)
        if not isinstance(entries, list):
            continue
        for index, entry in enumerate(entries):
            if not isinstance(entry, str) or "${{" in entry or not entry.strip():
                continue
            name, _, rest = entry.strip().partition(" ")
            wanted = conda_name(name)
            if wanted != name and canonicalize_name(wanted) == canonicalize_name(name):
                entries[index] = f"{wanted} {rest}".strip()
                changed.append(f"{name} → {wanted}")
    return [f"requirement names as the channels spell them: {', '.join(changed)}"] if changed else []


def write_recipe(text: str, folder: Path, files: tuple[tuple[str, str], ...] = ()) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files:
        (folder / name).write_text(content, encoding="utf-8")
    path = folder / "recipe.yaml"
    path.write_text(text, encoding="utf-8")
    return path
