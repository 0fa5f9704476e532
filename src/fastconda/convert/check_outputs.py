"""--check on multi-output recipes: which packages conda-build builds from the top level, and what the
converted top-level package is built with.

conda-build fills the output of the recipe's name with the top-level sections and, when no output has
that name, builds the top-level package anyway where the top-level requirements use an output
(``MetaData.uses_subpackage``). On the v1 side, that package inherits the staging output's build.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any


def uses_subpackage(data: dict[str, Any], names: set[str]) -> bool:
    """conda-build's ``MetaData.uses_subpackage``: it also builds the top-level package of a multi-output
    recipe when the top-level run requirements name an output or its requirements pin one."""
    reqs = data.get("requirements") or {}
    if not isinstance(reqs, dict):
        return False
    run = [str(dep).split()[0] for dep in reqs.get("run") or [] if dep is not None and str(dep).strip()]
    return bool(names & set(run)) or "pin_subpackage(" in repr(reqs)


def with_top_level(output: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """conda-build fills the output of the recipe's name with the top-level requirements, build and about
    keys it lacks. Its own test section is not run there when the top level has one (only the top-level
    one runs, conda-build issue 3313)."""
    merged = dict(output)
    reqs = output.get("requirements") or {}
    own = {
        "requirements": {"run": reqs} if isinstance(reqs, list) else reqs,
        "build": output.get("build") or {},
        "about": output.get("about") or {},
    }
    for section, values in own.items():
        merged[section] = {**(data.get(section) or {}), **values}
    merged["test"] = data.get("test") or output.get("test") or {}
    return merged


def with_staging(data: dict[str, Any]) -> dict[str, Any]:
    """A package that inherits a staging output and neither selects files nor runs a script is the
    top-level package of the meta.yaml (the conversion makes only that one so): it is built by the
    staging output's build and host requirements where it has none of its own."""
    inherits = data.get("inherits_from") or {}
    build = data.get("build") or {}
    if not inherits or build.get("files") or build.get("script"):
        return data
    caches = [c for c in data.get("staging_caches") or [] if c.get("name") == inherits.get("cache_name")]
    staged = (caches[0].get("requirements") or {}) if caches else {}
    reqs = dict(data.get("requirements") or {})
    for kind in ("build", "host"):
        reqs[kind] = reqs.get(kind) or staged.get(kind) or []
    return {**data, "requirements": reqs}


def fill_own(data: dict[str, Any], build: dict[str, Any], values: Mapping[str, str]) -> None:
    """conda-build's values of ``$PKG_NAME``, ``$PY_VER``... in requirements (the render here leaves
    them as script variables), as the conversion writes them there."""
    package = data.get("package") or {}
    top = {"PKG_NAME": package.get("name"), "PKG_VERSION": package.get("version"),
           "PKG_BUILDNUM": build.get("number", 0)}  # fmt: skip
    for name, variant in (("PY_VER", "python"), ("NPY_VER", "numpy")):
        if variant in values:
            top[name] = ".".join(values[variant].split(" ")[0].split(".")[:2])

    def fill(node: Any, own: dict[str, Any]) -> Any:
        if isinstance(node, str) and "$" in node:
            return re.sub(r"\$(\w+)\b", lambda m: str(own[m[1]]) if own.get(m[1]) is not None else m[0], node)
        if isinstance(node, list):
            return [fill(item, own) for item in node]
        if isinstance(node, dict):
            return {key: fill(value, own) for key, value in node.items()}
        return node

    for section in [data, *(o for o in data.get("outputs") or [] if isinstance(o, dict))]:
        own = dict(top)
        if section is not data:  # an output's own name (version, number): conda-build's PKG_* there
            found = section.get("build")
            section_build: dict[str, Any] = found if isinstance(found, dict) else {}
            for key, value in (("PKG_NAME", section.get("name")), ("PKG_VERSION", section.get("version")),
                               ("PKG_BUILDNUM", section_build.get("number"))):  # fmt: skip
                own[key] = value if value is not None else own[key]
        if isinstance(section.get("requirements"), dict | list):
            section["requirements"] = fill(section["requirements"], own)
        build_section = section.get("build")
        if isinstance(build_section, dict) and "run_exports" in build_section:
            build_section["run_exports"] = fill(build_section["run_exports"], own)
