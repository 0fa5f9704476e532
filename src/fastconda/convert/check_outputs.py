"""--check on multi-output recipes: which packages conda-build builds from the top level, and what the
converted top-level package is built with.

conda-build fills the output of the recipe's name with the top-level sections and, when no output has
that name, builds the top-level package anyway where the top-level requirements use an output
(``MetaData.uses_subpackage``). On the v1 side, that package inherits the staging output's build.
"""

from __future__ import annotations

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
    keys it lacks. Its own test section is not run there (only the top-level one, conda-build issue
    3313); the conversion keeps both on purpose, so both count here."""
    merged = dict(output)
    reqs = output.get("requirements") or {}
    own = {
        "requirements": {"run": reqs} if isinstance(reqs, list) else reqs,
        "build": output.get("build") or {},
        "about": output.get("about") or {},
    }
    for section, values in own.items():
        merged[section] = {**(data.get(section) or {}), **values}
    tests = [data.get("test") or {}, output.get("test") or {}]
    merged["test"] = {key: [v for t in tests for v in t.get(key) or []] for key in ("imports", "commands")}
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
