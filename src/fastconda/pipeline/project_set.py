"""A set of projects built together (``fastconda build PATH...``): which folders are projects, the
package each one makes and the packages it needs (read cheaply, without an sdist or a solve), and the
order that builds a project after the ones of the set it depends on.

What a project needs is read from what is written down: a Python project's ``[project]`` dependencies
and ``[build-system]`` requires (``setup.cfg``'s ``install_requires`` when pyproject has none); a
project's own recipe's build, host and run requirements (every ``if:`` branch); a CMake server
needs nothing of the set unless its recipe says so. Names are compared as conda names, normalised.
"""

from __future__ import annotations

import configparser
import dataclasses
import os
import re
import subprocess
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from fastconda.errors import ConvertError, FastcondaError, ProjectError
from fastconda.pipeline.pkg_info import conda_requirements
from fastconda.pipeline.project import find_recipe
from fastconda.wheel.specs import conda_name, normalize_name

#: the files that make a folder a project ``fastconda build`` can build
MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", "CMakeLists.txt")
#: folders never searched for projects (besides hidden ones and what .gitignore ignores)
SKIPPED = {"build", "dist", "venv", "env", "node_modules", "__pycache__", "output-channel", "site-packages"}
_SPEC_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_VARIABLE = re.compile(r"\$\{\{\s*([A-Za-z_]\w*)\s*(\|\s*lower\s*)?\}\}")


@dataclasses.dataclass(frozen=True)
class Member:
    """One project of the set: its folder, the conda packages it makes, the package names it needs."""

    root: Path
    packages: tuple[str, ...]  # conda names; a multi-output recipe makes several
    needs: frozenset[str]  # normalised conda names of its build, host and run requirements

    @property
    def package(self) -> str:
        return self.packages[0]

    @property
    def keys(self) -> frozenset[str]:
        """Its package names, normalised as :attr:`needs` are."""
        return frozenset(normalize_name(p) for p in self.packages)


def is_project(folder: Path) -> bool:
    return any((folder / marker).is_file() for marker in MARKERS)


def find_projects(paths: Sequence[Path]) -> list[Path]:
    """The project folders *paths* name: a project folder itself, or every project under a folder
    that is not one (the outermost ones: a project's own subfolders are its own business)."""
    found: list[Path] = []
    for path in paths:
        root = path.resolve()
        if not root.is_dir():
            msg = f"{path}: no such folder"
            raise ProjectError(msg)
        if is_project(root):
            found.append(root)
            continue
        under = _projects_under(root)
        if not under:
            msg = (
                f"{path} is not a project and holds none (no pyproject.toml, setup.py, setup.cfg or "
                "CMakeLists.txt in it or in the folders under it that .gitignore does not ignore)"
            )
            raise ProjectError(msg)
        found += under
    return list(dict.fromkeys(found))


def _projects_under(root: Path) -> list[Path]:
    """The outermost project folders under *root* (a project's own subfolders are its business), but
    the hidden, build and virtual environment ones and what git ignores. Walked, not listed by git:
    projects in nested clones and submodules count too."""
    found: list[Path] = []
    for folder, dirs, names in os.walk(root):
        here = Path(folder)
        if here != root and any(n in MARKERS for n in names):
            found.append(here)
            dirs[:] = []
            continue
        dirs[:] = sorted(d for d in dirs if not _skipped(Path(d)))
    ignored = _git_ignored(root, [f.relative_to(root) for f in found])
    return sorted(f for f in found if f.relative_to(root) not in ignored)


def _skipped(relative: Path) -> bool:
    return any(p.startswith(".") or p in SKIPPED or p.endswith(".egg-info") for p in relative.parts)


def _git_ignored(root: Path, folders: list[Path]) -> set[Path]:
    """Which of *folders* (relative to *root*) git ignores there (none outside a git work tree)."""
    if not folders:
        return set()
    ignored = _check_ignore(root, folders)
    if ignored is None:  # git refused the batch (a path in a submodule): ask one by one
        ignored = set()
        for folder in folders:
            ignored |= _check_ignore(root, [folder]) or set()
    return ignored


def _check_ignore(root: Path, folders: list[Path]) -> set[Path] | None:
    """``git check-ignore`` on *folders*; None when git fails (exit 128: not a work tree, a path in a
    submodule), which :func:`_git_ignored` tells apart by asking again one by one."""
    stdin = "".join(f"{folder.as_posix()}/\0" for folder in folders)
    try:
        done = subprocess.run(
            ["git", "check-ignore", "-z", "--stdin"], cwd=root, input=stdin.encode(), capture_output=True,
            timeout=60, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return set()
    if done.returncode not in {0, 1}:
        not_a_work_tree = b"not a git repository" in done.stderr
        return None if len(folders) > 1 and not not_a_work_tree else set()
    return {Path(n.rstrip("/")) for n in done.stdout.decode(errors="replace").split("\0") if n}


def read_member(root: Path) -> Member:
    """The packages *root* makes and the names it needs; a :class:`ProjectError` saying why when its
    package name cannot be read without building it."""
    recipe = find_recipe(root)
    try:
        if recipe is not None:
            packages, needs = _from_recipe(recipe)
        elif any((root / m).is_file() for m in MARKERS[:3]):
            packages, needs = _from_python(root)
        else:
            from fastconda.cxx.recipe_route import read_server  # the C++ modules load only for C++

            packages, needs = (read_server(root).package,), set()
    except (_Unreadable, FastcondaError) as exc:
        msg = f"cannot read the package name of {root}: {exc}"
        raise ProjectError(msg) from None
    names = tuple(dict.fromkeys(packages))
    return Member(root, names, frozenset(needs - {normalize_name(n) for n in names}))


class _Unreadable(Exception):
    """Why a name cannot be read (read_member says whose)."""


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        msg = f"{path.name}: {exc}"
        raise _Unreadable(msg) from None


def _from_python(root: Path) -> tuple[tuple[str, ...], set[str]]:
    data = _toml(root / "pyproject.toml") if (root / "pyproject.toml").is_file() else {}
    project = _table(data, "project")
    build_system = _table(data, "build-system")
    requirements = [*_strings(build_system.get("requires")), *_strings(project.get("dependencies"))]
    name = project.get("name")
    setup_cfg = _setup_cfg(root)
    if not isinstance(name, str) or not name.strip():
        name = setup_cfg.get("metadata", "name", fallback="").strip()
    if not project.get("dependencies"):
        requirements += setup_cfg.get("options", "install_requires", fallback="").splitlines()
    if not name:
        why = (
            "pyproject.toml has no [project] name"
            if (root / "pyproject.toml").is_file()
            else "no pyproject.toml"
        )
        msg = (
            f"{why} and setup.cfg no [metadata] name (only running setup.py would tell); write the name "
            "into pyproject.toml's [project] table, or give the project a recipe (recipe/recipe.yaml)"
        )
        raise _Unreadable(msg)
    # as the recipe will have them: markers evaluated for noarch Python, extras left out, conda names
    specs, _ = conda_requirements([t.strip() for t in requirements if t.strip()], own=name)
    return (conda_name(name),), {normalize_name(spec.split()[0]) for spec in specs}


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _setup_cfg(root: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(root / "setup.cfg", encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        msg = f"setup.cfg: {exc}"
        raise _Unreadable(msg) from None
    return parser


def _from_recipe(recipe: Path) -> tuple[tuple[str, ...], set[str]]:
    """Package names and requirement names of a recipe.yaml (a meta.yaml converted first)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        text = recipe.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"{recipe}: {exc}"
        raise _Unreadable(msg) from None
    if recipe.name == "meta.yaml":
        from fastconda.convert import convert

        try:
            text = convert(text, recipe_dir=recipe.parent, project_root=recipe.parent).recipe_text
        except ConvertError as exc:
            msg = f"{recipe}: {exc}"
            raise _Unreadable(msg) from None
    try:
        data = YAML(typ="safe").load(text) or {}
    except YAMLError as exc:
        msg = f"{recipe}: not YAML: {exc}"
        raise _Unreadable(msg) from None
    if not isinstance(data, dict):
        msg = f"{recipe}: not a recipe (a mapping at the top)"
        raise _Unreadable(msg)
    raw = data.get("context")
    context = (
        {k: str(v) for k, v in raw.items() if isinstance(v, (str, int, float))}
        if isinstance(raw, dict)
        else {}
    )
    outputs = [o for o in data.get("outputs") or [] if isinstance(o, dict)]
    names: list[str] = []
    needs: set[str] = set()
    for part in [data, *outputs]:
        package = part.get("package")
        if (
            isinstance(package, dict)
            and isinstance(package.get("name"), str)
            and (part is not data or not outputs)
        ):
            names.append(_substitute(package["name"], context))
        requirements = part.get("requirements")
        if isinstance(requirements, dict):
            for section in ("build", "host", "run"):
                needs.update(_requirement_names(requirements.get(section), context))
    names = [n for n in names if n and "${{" not in n]
    if not names:
        msg = f"{recipe}: no package name that can be read without rendering the recipe"
        raise _Unreadable(msg)
    return tuple(names), needs


def _substitute(text: str, context: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        found = context.get(match.group(1))
        if found is None:
            return match.group(0)
        return found.lower() if match.group(2) else found

    return _VARIABLE.sub(value, text).strip()


def _requirement_names(entries: object, context: dict[str, str]) -> Iterable[str]:
    """The names of a requirement list, in every ``if:`` branch; a function call (``compiler()``,
    ``pin_subpackage()``) names nothing of the set."""
    for entry in entries if isinstance(entries, list) else [entries] if entries else []:
        if isinstance(entry, dict):
            yield from _requirement_names(entry.get("then"), context)
            yield from _requirement_names(entry.get("else"), context)
        elif isinstance(entry, str):
            spec = _substitute(entry, context)
            if "${{" not in spec and (name := _SPEC_NAME.match(spec)):
                yield normalize_name(name.group(0))


@dataclasses.dataclass(frozen=True)
class ProjectSet:
    """The members in build order, and for each (by root) the members of the set it needs."""

    members: tuple[Member, ...]
    depends: dict[Path, tuple[Path, ...]]

    def dependents(self, roots: Iterable[Path]) -> set[Path]:
        """*roots* and every member that needs one of them, directly or not."""
        found = set(roots)
        for member in self.members:  # build order: a member comes after what it needs
            if any(d in found for d in self.depends[member.root]):
                found.add(member.root)
        return found


def plan(paths: Sequence[Path]) -> ProjectSet:
    """The projects *paths* name, read and ordered; a :class:`ProjectError` before anything builds
    when a name cannot be read, two projects make the same package, or projects need each other."""
    members = [read_member(root) for root in find_projects(paths)]
    makers: dict[str, Member] = {}
    for member in members:
        for key in sorted(member.keys):
            if (other := makers.get(key)) is not None:
                msg = (
                    f"two projects make the package {key}: {other.root} and {member.root}; "
                    "build one of them, or rename one"
                )
                raise ProjectError(msg)
            makers[key] = member
    depends = {
        m.root: tuple(dict.fromkeys(makers[n].root for n in sorted(m.needs) if n in makers)) for m in members
    }
    return ProjectSet(_ordered(members, depends), depends)


def _ordered(members: list[Member], depends: dict[Path, tuple[Path, ...]]) -> tuple[Member, ...]:
    """Depth first, in the order found: each member after what it needs; a cycle is an error that
    names it."""
    by_root = {m.root: m for m in members}
    done: dict[Path, Member] = {}
    path: list[Path] = []

    def visit(root: Path) -> None:
        if root in done:
            return
        if root in path:
            cycle = [*path[path.index(root) :], root]
            names = " → ".join(f"{by_root[r].package} ({r.name})" for r in cycle)
            msg = f"the projects depend on each other in a cycle: {names}; no order builds them"
            raise ProjectError(msg)
        path.append(root)
        for needed in depends[root]:
            visit(needed)
        path.pop()
        done[root] = by_root[root]

    for member in members:
        visit(member.root)
    return tuple(done.values())


def changed_since(members: Iterable[Member], ref: str) -> set[Path]:
    """The roots of *members* with a file changed since git *ref* (committed or not), or new and not
    ignored; a :class:`ProjectError` when a member is not in a git work tree or *ref* is unknown."""
    changed: set[Path] = set()
    tops: dict[Path, list[Path]] = {}
    roots = list(members)
    for member in roots:
        tops.setdefault(_git_top(member.root), []).append(member.root)
    for top in tops:
        files = _git_lines(top, ["diff", "--name-only", "-z", ref, "--"], ref)
        files += _git_lines(top, ["ls-files", "-z", "--others", "--exclude-standard"], ref)
        for name in files:
            file = top / name
            owners = [m.root for m in roots if file.is_relative_to(m.root)]
            if owners:
                changed.add(max(owners, key=lambda r: len(r.parts)))
    return changed


def _git_top(root: Path) -> Path:
    done = _git(root, ["rev-parse", "--show-toplevel"])
    if done.returncode != 0:
        msg = f"{root} is not in a git work tree: --changed-since compares with a git commit"
        raise ProjectError(msg)
    return Path(done.stdout.strip()).resolve()


def _git_lines(top: Path, arguments: list[str], ref: str) -> list[str]:
    done = _git(top, arguments)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["git failed"])[-1]
        msg = f"--changed-since {ref}: git in {top} says: {last}"
        raise ProjectError(msg)
    return [n for n in done.stdout.split("\0") if n]


def _git(cwd: Path, arguments: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", *arguments], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        msg = f"cannot run git in {cwd}: {exc}"
        raise ProjectError(msg) from None
