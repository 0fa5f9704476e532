"""What a legacy setuptools project (``setup.py`` / ``setup.cfg``) declares, read without running it.

grayskull learns a ``setup.py`` project's metadata by running its ``setup()``; offline that fails
for a project whose ``setup_requires`` plugin (katversion, say) is not installed, and grayskull then
writes a recipe with nothing in it, silently. The facts the facility rules need must not depend on
that, so they are read here from the files themselves:

- :func:`fallback_backend`: a project without a ``[build-system]`` table builds with the PEP 517
  fallback backend (``setuptools.build_meta:__legacy__``), whose requirements are
  ``setuptools>=40.8.0`` and ``wheel`` (PEP 518's default, pip's for years; setuptools older than
  70.1 cannot build a wheel without ``wheel``): the recipe's host environment must hold them, or
  ``pip install . --no-build-isolation`` fails with "No module named 'setuptools'".
- :func:`declared_scripts`: ``scripts=`` files cannot be in a ``noarch: python`` package. They
  are read from ``setup.py`` with :mod:`ast` (never executed), from ``[options] scripts`` in
  ``setup.cfg`` and from ``[tool.setuptools] script-files`` in ``pyproject.toml``.
"""

from __future__ import annotations

import ast
import configparser
import dataclasses
import tomllib
from pathlib import Path
from typing import Any

from fastconda._files import read_project_file
from fastconda.errors import ProjectError

FALLBACK_REQUIRES = ("setuptools >=40.8.0", "wheel")
MAX_SETUP_PY = 2_000_000  # bytes; a larger setup.py is not parsed
MAX_DEPTH = 8  # names resolved through assignments, at most this deep


@dataclasses.dataclass(frozen=True)
class DeclaredScripts:
    """``scripts=`` files a project installs: where they are declared, and their names when literal."""

    where: str  # "/path/setup.py:72", "/path/setup.cfg [options] scripts", ...
    names: tuple[str, ...]  # empty when computed (``glob("bin/*")``)


def _pyproject(root: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(read_project_file(root / "pyproject.toml", "a pyproject.toml", errors="strict"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ProjectError):
        return {}


def fallback_backend(root: Path) -> tuple[str, ...]:
    """The host requirements of the PEP 517 fallback backend when *root* has no ``[build-system]``
    table but a ``setup.py`` or ``setup.cfg``; ``()`` when the project names its build system."""
    if "build-system" in _pyproject(root):
        return ()
    if (root / "setup.py").is_file() or (root / "setup.cfg").is_file():
        return FALLBACK_REQUIRES
    return ()


def declared_scripts(root: Path) -> DeclaredScripts | None:
    """The ``scripts=`` a project declares (setup.py, setup.cfg, pyproject.toml); None when none."""
    return _from_setup_py(root / "setup.py") or _from_setup_cfg(root / "setup.cfg") or _from_pyproject(root)


def _from_pyproject(root: Path) -> DeclaredScripts | None:
    files = _pyproject(root).get("tool", {}).get("setuptools", {}).get("script-files")
    if isinstance(files, list) and files:
        where = f"{root / 'pyproject.toml'} [tool.setuptools] script-files"
        return DeclaredScripts(where, tuple(str(f) for f in files))
    return None


def _from_setup_cfg(path: Path) -> DeclaredScripts | None:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(read_project_file(path, "a setup.cfg", errors="strict"), source=str(path))
    except (OSError, UnicodeDecodeError, configparser.Error, ProjectError):
        return None
    value = parser.get("options", "scripts", fallback="")
    names = tuple(n.strip() for n in value.replace(",", "\n").splitlines() if n.strip())
    return DeclaredScripts(f"{path} [options] scripts", names) if names else None


class _Unknown:
    """A value the static reader cannot know (a call, a comprehension, ...)."""


_UNKNOWN = _Unknown()


def _from_setup_py(path: Path) -> DeclaredScripts | None:
    try:
        if path.stat().st_size > MAX_SETUP_PY:
            return None
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError, RecursionError):
        return None  # not there, or Python 2 syntax: grayskull's recipe is all there is
    assigned: dict[str, ast.expr] = {}  # the last plain assignment to each name, anywhere in the file
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned[target.id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            assigned[node.target.id] = node.value
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _is_setup(node.func)):
            continue
        for keyword in node.keywords:
            value: Any
            if keyword.arg == "scripts":
                value = _value(keyword.value, assigned, 0)
            elif keyword.arg is None:  # setup(**options)
                options = _value(keyword.value, assigned, 0)
                value = options.get("scripts") if isinstance(options, dict) else None
            else:
                continue
            found = _scripts(value)
            if found is not None:
                return DeclaredScripts(f"{path}:{keyword.value.lineno}", found)
    return None


def _is_setup(func: ast.expr) -> bool:
    return (isinstance(func, ast.Name) and func.id == "setup") or (
        isinstance(func, ast.Attribute) and func.attr == "setup"
    )


def _scripts(value: Any) -> tuple[str, ...] | None:
    """Script names of a resolved ``scripts=`` value; None when it declares none."""
    if value is None or value in ([], ()):
        return None
    if isinstance(value, list | tuple):
        return tuple(v for v in value if isinstance(v, str))
    return ()  # computed: declared, names unknown


def _value(node: ast.expr, assigned: dict[str, ast.expr], depth: int) -> Any:
    """A literal value of *node* (lists, tuples, dicts, strings, names assigned one), else _UNKNOWN."""
    if depth > MAX_DEPTH:
        return _UNKNOWN
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.List | ast.Tuple):
        return [_value(e, assigned, depth + 1) for e in node.elts]
    if isinstance(node, ast.Name):
        target = assigned.get(node.id)
        return _UNKNOWN if target is None else _value(target, assigned, depth + 1)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _value(node.left, assigned, depth + 1), _value(node.right, assigned, depth + 1)
        return left + right if isinstance(left, list) and isinstance(right, list) else _UNKNOWN
    if isinstance(node, ast.Dict):
        return {
            k.value: _value(v, assigned, depth + 1)
            for k, v in zip(node.keys, node.values, strict=True)
            if isinstance(k, ast.Constant) and isinstance(k.value, str)
        }
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        return {k.arg: _value(k.value, assigned, depth + 1) for k in node.keywords if k.arg}
    return _UNKNOWN
