"""A build backend's environment made from local conda channels with rattler, not with pip.

Why: on a fresh cache, pip pays a venv, its own start, the install and the byte-code of every
module (measured here: 1.3 s for hatchling, 2 s for setuptools + wheel, sdist phase included);
rattler solves and links the same packages from the seed channel in ~0.3 s once its package
cache holds them, ~1 s when it must unpack python first, which the test environment needs next
anyway. Online, it also never asks a package index.

How it stays correct:

- **Only local channels** (``file://``): making a backend environment never reaches the network.
- **Specs**: each requirement whose marker applies becomes its conda name and version spec
  (:mod:`fastconda.wheel.specs`, as the seed's packages are named), plus ``python X.Y.*`` of this
  interpreter: the pip route's venv runs this interpreter, so markers, the environment's cache key
  and the wheels a backend builds mean the same on both routes.
- **Checked after the install**, with PEP 440/508 semantics, against the installed distributions
  (extras and their requirements included): what the translation cannot say (extras, local
  versions) is caught here, and the caller falls back to pip. The environment's python must start
  and be this X.Y (pypa/build runs the backend's hooks with it).
- **In place, in a child process**: conda packages get their prefix written into them when they are
  linked, so the environment cannot be made in a scratch folder and renamed (the caller holds a lock
  instead, and removes what a failure leaves); rattler installs in native code that a Ctrl-C cannot
  stop in this process, while a child is ended with everything it started.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections.abc import Mapping, Sequence
from importlib.metadata import Distribution, distributions
from pathlib import Path

from packaging.markers import (
    InvalidMarker,
    UndefinedComparison,
    UndefinedEnvironmentName,
    default_environment,
)
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from fastconda import _proc
from fastconda._files import mark_ready
from fastconda.errors import CommandError, EnvError, WheelError
from fastconda.tools.rattler import local_channel_path
from fastconda.wheel.specs import conda_name, conda_version_spec

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
_MAX_CHECKED = 1000  # requirements followed when checking an environment (a bound on odd metadata)

# runs in the child: solve and install, then one JSON line of what was installed (or the error, exit 1)
_INSTALL = """\
import json, os, sys
from pathlib import Path
from fastconda.errors import EnvError
from fastconda.tools.rattler import create_environment
job = json.loads(sys.argv[1])
try:
    env = create_environment(Path(job["prefix"]), job["specs"], channels=job["channels"])
except EnvError as exc:
    print(exc, flush=True)
    os._exit(1)
print(json.dumps([[p.name, p.version] for p in env.packages]), flush=True)
os._exit(0)  # rattler's native threads may still be winding down
"""
# runs in the new environment's python: that it starts, its version and where its packages go
_PROBE = (
    "import json, platform, sys, sysconfig; "
    "print(json.dumps([platform.python_version(), sysconfig.get_path('purelib')]))"
)


def local_channels(channels: Sequence[str]) -> list[str]:
    """The channels (URLs) that are folders on this machine, in their order."""
    return [c for c in channels if (path := local_channel_path(c)) is not None and path.is_dir()]


def conda_specs(requires: Sequence[str]) -> list[str]:
    """Match specs for *requires* on this interpreter's python; :class:`EnvError` when one has no
    conda spelling (a direct URL, an invalid specifier)."""
    environment = _this_python()
    specs = [f"python {PYTHON}.*"]
    for text in requires:
        requirement = _requirement(text)
        if requirement.marker is not None and not _applies(requirement, environment, ""):
            continue
        if requirement.url:
            msg = f"{text}: a direct URL requirement cannot come from a channel"
            raise EnvError(msg)
        try:
            version = conda_version_spec(requirement.specifier)
        except WheelError as exc:
            raise EnvError(str(exc)) from None
        name = conda_name(requirement.name)
        specs.append(f"{name} {version}" if version else name)
    return specs


def create(env: Path, requires: Sequence[str], channels: Sequence[str]) -> str:
    """Make *env* (which must not exist) hold *requires* from *channels*, and mark it ready.

    Returns what it holds, for the ready marker. Raises :class:`EnvError` (one line: why the
    channels cannot make it) and removes whatever it made; the caller then tries pip.
    """
    specs = conda_specs(requires)
    try:
        installed = _install(env, requires, specs, channels)
        python = env / "bin" / "python"
        site = _probe(python)
        missing = unmet(requires, site, {"python_full_version": installed.get("python", "")})
        if missing:
            msg = f"the packages of the channels {' '.join(channels)} do not satisfy {missing[0]}"
            raise EnvError(msg)
        note = ", ".join(f"{name} {version}" for name, version in sorted(installed.items()))
        mark_ready(env, f"{' '.join(requires)}\nfrom {' '.join(channels)}: {note}")
    except BaseException:
        shutil.rmtree(env, ignore_errors=True)
        raise
    return note


class ChannelsLack(EnvError):
    """The channels have no package for *requirement* (one of ``build-system.requires``, as written)."""

    def __init__(self, requirement: str, channels: Sequence[str]) -> None:
        self.requirement = requirement
        self.channels = tuple(channels)
        super().__init__(f"the channels {' '.join(channels)} have no {requirement}")


# rattler's words, and fastconda's (tools.rattler_missing) for the same
_NO_CANDIDATES = re.compile(
    r"(?:No candidates were found for|requirements missing from the channels:) ([^\s,]+)"
)


def _install(
    env: Path, requires: Sequence[str], specs: Sequence[str], channels: Sequence[str]
) -> dict[str, str]:
    job = json.dumps({"prefix": str(env), "specs": list(specs), "channels": list(channels)})
    try:
        done = _proc.run(
            [sys.executable, "-P", "-c", _INSTALL, job],
            timeout=900,
            what=f"installing the build backend ({' '.join(specs[1:])}) from the channels",
        )
    except CommandError as exc:
        lacking = _NO_CANDIDATES.search(exc.output)
        if lacking:  # rattler names the first spec nothing provides: say it as the project wrote it
            name = canonicalize_name(lacking.group(1))
            written = [r for r in requires if canonicalize_name(conda_name(_requirement(r).name)) == name]
            raise ChannelsLack(written[0] if written else lacking.group(1), channels) from None
        lines = [line.strip() for line in exc.output.strip().splitlines() if line.strip()]
        why = " ".join(lines[:3])[:300] if lines else f"exit code {exc.returncode}"
        msg = f"the channels {' '.join(channels)} cannot make it: {why}"
        raise EnvError(msg) from None
    try:
        packages = json.loads(done.stdout.strip().splitlines()[-1])
        return {str(name): str(version) for name, version in packages}
    except (IndexError, ValueError, TypeError):
        msg = f"the environment installer printed no package list: {done.stdout.strip()[:200]!r}"
        raise EnvError(msg) from None


def _probe(python: Path) -> Path:
    try:
        done = _proc.run([python, "-I", "-c", _PROBE], timeout=120, what="starting the backend's python")
        version, purelib = json.loads(done.stdout.strip().splitlines()[-1])
    except (CommandError, IndexError, ValueError, TypeError) as exc:
        msg = f"the channel's python does not run: {str(exc).splitlines()[0]}"
        raise EnvError(msg) from None
    if not str(version).startswith(f"{PYTHON}."):
        msg = f"the channel's python is {version}, fastconda runs on {PYTHON}"
        raise EnvError(msg)
    return Path(purelib)


def unmet(
    requires: Sequence[str], site_packages: Path, environment: Mapping[str, str] | None = None
) -> list[str]:
    """The requirements (of *requires*, their extras and their dependencies) that the distributions
    in *site_packages* do not satisfy, by PEP 440/508, with markers evaluated for this interpreter
    (*environment* overrides some of its values); empty when everything is there."""
    env = {**_this_python(), **{k: v for k, v in (environment or {}).items() if v}}
    installed: dict[str, Distribution] = {}
    for found in distributions(path=[str(site_packages)]):
        name = found.metadata["Name"]
        if name:
            installed.setdefault(canonicalize_name(name), found)
    todo: list[tuple[Requirement, str]] = [(_requirement(text), "") for text in requires]
    seen: set[tuple[str, str]] = set()
    missing: list[str] = []
    checked = 0
    while todo and checked < _MAX_CHECKED:
        requirement, extra = todo.pop(0)
        checked += 1
        if requirement.marker is not None and not _applies(requirement, env, extra):
            continue
        name = canonicalize_name(requirement.name)
        dist = installed.get(name)
        if dist is None or not requirement.specifier.contains(dist.version, prereleases=True):
            if str(requirement) not in missing:
                missing.append(str(requirement))
            continue
        for wanted in ("", *sorted(canonicalize_name(e) for e in requirement.extras)):
            if (name, wanted) in seen:
                continue
            seen.add((name, wanted))
            for text in dist.requires or []:
                try:
                    todo.append((Requirement(text), wanted))
                except InvalidRequirement:
                    missing.append(f"{text} (an invalid requirement of {dist.metadata['Name']})")
    return missing


def _this_python() -> dict[str, str]:
    """PEP 508 marker values of this interpreter (the environment's python is the same X.Y)."""
    return {key: str(value) for key, value in default_environment().items()}


def _requirement(text: str) -> Requirement:
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        msg = f"build-system.requires: {text!r} is not a valid requirement: {exc}"
        raise EnvError(msg) from None


def _applies(requirement: Requirement, environment: Mapping[str, str], extra: str) -> bool:
    assert requirement.marker is not None
    try:
        return requirement.marker.evaluate({**environment, "extra": extra})
    except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName):
        return True  # checked for, so that an odd marker is a missing package, never a surprise
