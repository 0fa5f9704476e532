"""Package test written by fastconda: imports, then what `pip check` checks, in one process.

    python fastconda_check.py [--dist DISTRIBUTION] [MODULE ...]

Imports each MODULE and, with --dist, every top-level module DISTRIBUTION installed: read from its
RECORD here, in the test environment, by fastconda_toplevel.py (fastconda.testing.toplevel, shipped
next to this file), so what is tested is what was installed, PEP 420 namespace packages included.
Then verifies that every requirement of every installed distribution is installed in a matching
version (markers evaluated, extras only where requested): the check `pip check` makes, without
starting pip (~1 s saved per package test). Exits 1 listing every problem: a failed import's
traceback, then one summary line per problem, `FAILED <check>: <error>` (the check is `import MODULE`
or `pip check`), which fastconda reads to name the check that failed. `fastconda test` imports
this file for unmet_requirements().
"""

import importlib
import importlib.metadata as metadata
import sys
import traceback

try:
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name
except ImportError:  # pip is not required; its vendored copy serves when packaging is absent
    from pip._vendor.packaging.requirements import InvalidRequirement, Requirement
    from pip._vendor.packaging.utils import canonicalize_name


def installed_modules(name, problems):
    """The top-level modules distribution *name* installed, from its RECORD; [] and a problem if none."""
    from fastconda_toplevel import top_level_modules

    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        problems.append(f"FAILED import {name}: distribution {name} is not installed (no {name}-*.dist-info here)")
        return []
    files = dist.files
    if files is None:
        problems.append(f"FAILED import {name}: distribution {name} {dist.version} has no RECORD: what did it install?")
        return []
    modules = list(top_level_modules(str(f) for f in files))
    if not modules:
        problems.append(f"FAILED import {name}: distribution {name} {dist.version} installed no importable module")
    else:
        print(f"{name} {dist.version} installed: {' '.join(modules)}")
    return modules


def unmet_requirements():
    """(number of distributions, one line per requirement they do not meet here): pip check's check."""
    installed = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            installed.setdefault(canonicalize_name(name), dist)
    unmet = []
    for key, dist in sorted(installed.items()):
        for line in dist.requires or []:
            try:
                req = Requirement(line)
            except InvalidRequirement as exc:
                unmet.append(f"{key}: invalid requirement {line!r}: {exc}")
                continue
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            found = installed.get(canonicalize_name(req.name))
            version = found.version if found is not None else None
            if version is None:
                unmet.append(f"{key} {dist.version} requires {req.name}, which is not installed.")
            elif req.specifier and not req.specifier.contains(version, prereleases=True):
                unmet.append(f"{key} {dist.version} has requirement {req}, but you have {req.name} {version}.")
    return len(installed), unmet


def main(argv):
    problems = []
    modules = list(argv)
    if modules[:1] == ["--dist"] and len(modules) >= 2:
        modules = installed_modules(modules[1], problems) + modules[2:]
    for module in modules:
        try:
            importlib.import_module(module)
            print(f"import {module}: ok")
        except Exception as exc:  # report every failing import, not just the first
            print(f"import {module} failed:", file=sys.stderr)
            traceback.print_exc()
            error = traceback.format_exception_only(type(exc), exc)[-1].strip()
            problems.append(f"FAILED import {module}: {error}")
    count, unmet = unmet_requirements()
    problems += [f"FAILED pip check: {line}" for line in unmet]
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"requirements of {count} distributions: ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
