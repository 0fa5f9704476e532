"""Fill a channel with what the other channels lack, from PyPI wheels: the air-gapped site's missing step.

:func:`fill` takes conda requirements that the channels cannot satisfy (the build's requirement check
names them), finds a wheel for each one for the target Python and platform (the wheel cache, then each
``--find-links`` wheelhouse, then the package index when online), converts it with the wheel fast path
(pure → ``noarch: python``, manylinux → the platform's subdir), and goes on with the converted packages'
own dependencies, checked the same way against the channels plus what is filled so far. A dependency the
channels satisfy is never shadowed by a converted copy: only what the solver cannot find is filled.

Nothing reaches the fill channel until every requirement is found and converted: the packages are
converted into a staging channel first and added to the fill channel in one atomic step. The fill then
records what it added (:mod:`fastconda.pipeline.fill_lock`), and the next fill reuses those exact wheels.

The fill channel must come first in the channel list (:attr:`FillOptions.search_channels`): rattler's
channel priority is strict, so a name that an earlier channel has is never taken from a later one, and
an older version filled because the seed's is too new (``setuptools <81``) would stay invisible.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fastconda.channel import local as channels
from fastconda.errors import FillError, WheelError
from fastconda.pipeline import fill_lock
from fastconda.progress import Progress, ProgressEvent, null_progress
from fastconda.tools import pip_download
from fastconda.tools.rattler_missing import channel_versions, find_missing
from fastconda.wheel.convert import WheelOptions, wheel_to_conda
from fastconda.wheel.finder import FoundWheel, Wanted, find_wheel, wanted
from fastconda.wheel.target import host_subdir

__all__ = ["FillOptions", "FillResult", "fill"]

MAX_ROUNDS = 25  # dependency levels followed
MAX_PACKAGES = 300  # packages one fill may add
_NAME = re.compile(r"^\s*([A-Za-z0-9_][A-Za-z0-9_.\-]*)")
_NOT_FILLED = ("python", "python_abi", "pip")  # the channels' interpreter is never replaced by a wheel


@dataclasses.dataclass(frozen=True)
class FillOptions:
    channel: Path  # the channel that receives the converted packages
    channels: tuple[str, ...]  # the channels the requirements are checked against (URLs)
    wheel_cache: Path
    find_links: tuple[Path, ...] = ()
    offline: bool = False
    python: str | None = None  # "X.Y"; None: the highest python the channels have
    platform: str | None = None  # conda subdir; None: this machine's
    name_map: Mapping[str, str] = dataclasses.field(default_factory=dict)
    lock: Path | None = None  # default: <channel>/fill-lock.json

    @property
    def lock_file(self) -> Path:
        return self.lock or self.channel / fill_lock.LOCK_NAME

    @property
    def search_channels(self) -> tuple[str, ...]:
        """The fill channel first, then the others (strict channel priority: see the module's doc)."""
        own = channels.channel_url(self.channel)
        return (own, *(c for c in self.channels if c.rstrip("/") != own.rstrip("/")))


@dataclasses.dataclass(frozen=True)
class FillResult:
    channel: Path
    added: tuple[fill_lock.Filled, ...]
    lock: Path
    seconds: float
    python: str
    platform: str

    def to_json(self) -> dict[str, Any]:
        return {
            "channel": str(self.channel),
            "python": self.python,
            "platform": self.platform,
            "lock": str(self.lock),
            "seconds": round(self.seconds, 3),
            "added": [dataclasses.asdict(f) for f in self.added],
        }


def fill(
    requirements: Sequence[str], options: FillOptions, *, progress: Progress = null_progress
) -> FillResult:
    """Add to ``options.channel`` a converted wheel for every requirement of *requirements* (conda
    specs) that the channels cannot satisfy, with the same for their dependencies."""
    start = time.perf_counter()
    channels.check_channel_dir(options.channel, create=True)
    channels.create_channel(options.channel)
    platform = options.platform or host_subdir()
    search = options.search_channels
    python = options.python or _channel_python(search, platform)
    record = fill_lock.read(options.lock_file)
    with tempfile.TemporaryDirectory(prefix=".fastconda-fill-", dir=options.channel.parent) as scratch:
        staging = Path(scratch) / "channel"
        channels.create_channel(staging)
        run = _Run(options, record, python, platform, staging, progress)
        run.resolve(list(requirements), [search[0], channels.channel_url(staging), *search[1:]])
        packages = [staging / f.package for f in run.filled]
        if packages:
            progress(ProgressEvent("fill", f"adding {len(packages)} packages to {options.channel}"))
            channels.add_packages(options.channel, packages)
            fill_lock.write(options.lock_file, record, run.filled, python=python, platform=platform)
    return FillResult(
        options.channel, tuple(run.filled), options.lock_file, time.perf_counter() - start, python, platform
    )


def _channel_python(search: Sequence[str], platform: str) -> str:
    versions = channel_versions({"python"}, search, platform).get("python", ())
    if not versions:
        msg = f"the channels have no python to fill for ({', '.join(search)}): pass --python X.Y"
        raise FillError(msg)
    return ".".join(versions[0].split(".")[:2])


@dataclasses.dataclass
class _Run:
    options: FillOptions
    record: fill_lock.Record
    python: str
    platform: str
    staging: Path
    progress: Progress
    filled: list[fill_lock.Filled] = dataclasses.field(default_factory=list)

    def resolve(self, requirements: list[str], search: list[str]) -> None:
        """Round by round: what the channels (and the staging channel) lack is found and converted,
        then their own dependencies are checked in the next round."""
        queue, tried, not_found = requirements, set[str](), list[Wanted]()
        for _round in range(MAX_ROUNDS):
            specs = [s for s in dict.fromkeys(queue) if _fillable(s)]
            if not specs:
                break
            missing = [m.spec for m in find_missing({"run": specs}, search, platform=self.platform)]
            queue = []
            for spec in missing:
                want = wanted(spec, self.options.name_map)
                if spec in tried:  # its wheel was converted, yet the spec is still missing
                    msg = self._still_missing(want)
                    raise FillError(msg)
                tried.add(spec)
                found = self._find(want)
                if found is None:
                    not_found.append(want)
                    continue
                queue += self._convert(want, found)
            if len(self.filled) > MAX_PACKAGES:
                msg = f"more than {MAX_PACKAGES} packages to fill: stopped (is a dependency loop involved?)"
                raise FillError(msg)
            if not_found:
                raise FillError(self._not_found(not_found))
            if queue:
                channels.index_channel(self.staging)
        else:
            msg = f"the dependencies go more than {MAX_ROUNDS} levels deep: stopped"
            raise FillError(msg)

    def _folders(self) -> list[tuple[str, Path]]:
        folders = [("wheel cache", self.options.wheel_cache)]
        return folders + [(f"wheelhouse {p}", p) for p in self.options.find_links]

    def _find(self, want: Wanted) -> FoundWheel | None:
        locked = self.record.entry_for(want)
        exact = locked.wheel if locked is not None else None
        found = find_wheel(want, self._folders(), python=self.python, platform=self.platform, exact=exact)
        if found is None and not self.options.offline:
            self.progress(ProgressEvent("fill", f"downloading a wheel for {want.spec}"))
            pin = f"{locked.project}=={locked.version}" if locked is not None else want.pep440()
            cache = self.options.wheel_cache  # what the index gives is kept for the next (offline) fill
            got = pip_download.download(pin, cache, python=self.python, platform=self.platform)
            if got is not None:
                found = find_wheel(
                    want, [("index", cache)], python=self.python, platform=self.platform, exact=got.name
                )
        if found is not None and locked is not None:
            fill_lock.verify(found.path, locked, self.options.lock_file)
        return found

    def _convert(self, want: Wanted, found: FoundWheel) -> list[str]:
        self.progress(ProgressEvent("fill", f"converting {found.path.name} ({found.source})"))
        wheel_options = WheelOptions(
            python=self.python, platform=self.platform, name_map=self.options.name_map
        )
        try:
            package = wheel_to_conda(found.path, self.staging.parent / "incoming", wheel_options)
        except WheelError as exc:
            msg = f"cannot fill {want.spec} from {found.path}: {exc}"
            raise FillError(msg) from None
        target = self.staging / package.subdir / package.path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        package.path.replace(target)
        self.filled.append(
            fill_lock.Filled(
                requirement=want.spec,
                project=found.project,
                version=found.version,
                wheel=found.path.name,
                wheel_sha256=channels.file_sha256(found.path),
                source=found.source,
                package=f"{package.subdir}/{package.path.name}",
                sha256=package.sha256,
            )
        )
        return [d for d in package.depends if _fillable(d)]

    def _still_missing(self, want: Wanted) -> str:
        made = [f.package for f in self.filled if f.requirement == want.spec]
        return (
            f"{want.spec}: the wheel found for it became {', '.join(made)}, which does not satisfy it: the "
            f"PyPI name ({want.pypi[0]}) maps to another conda name; add it to a --name-map file "
            f'("{want.pypi[0]}" = "{want.name}")'
        )

    def _not_found(self, missing: list[Wanted]) -> str:
        where = ", ".join(f"the wheel cache {p}" if n == "wheel cache" else n for n, p in self._folders())
        lines = [
            f"no wheel for CPython {self.python} on {self.platform} found for: "
            + ", ".join(w.spec for w in missing),
            f"  searched: {where}" + ("" if self.options.offline else ", and the package index"),
        ]
        pins = [w.pep440() for w in missing]
        if self.options.offline:
            lines.append(
                "  get them on a machine with access to the index: "
                + pip_download.download_command(pins, "wheelhouse", python=self.python)
                + "  then pass --find-links wheelhouse"
            )
        else:
            lines.append(
                "  the index has no wheel for them: a project with only an sdist can be built with "
                "`fastconda build` into the fill channel (pip download --no-deps --no-binary=:all: ...)"
            )
        lines.append("  nothing was added to the channel")
        return "\n".join(lines)


def _fillable(spec: str) -> bool:
    match = _NAME.match(spec)
    name = match.group(1).lower() if match else ""
    return bool(name) and not name.startswith("__") and name not in _NOT_FILLED
