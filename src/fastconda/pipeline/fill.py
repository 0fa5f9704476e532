"""Fill a channel with what the other channels lack, from PyPI wheels: the air-gapped site's missing step.

:func:`fill` takes conda requirements that the channels cannot satisfy (the build's requirement check
names them), finds a wheel for each one for the target Python and platform (the wheel cache, then each
``--find-links`` wheelhouse, then the package index when online), converts it with the wheel fast path
(pure → ``noarch: python``, manylinux → the platform's subdir), and goes on with the converted packages'
own dependencies, checked the same way against the channels plus what is filled so far. A dependency the
channels satisfy is never shadowed by a converted copy: only what the solver cannot find is filled.

A project with no wheel but a source distribution (in the same folders, or on the index when online) is
built with ``fastconda build`` itself (:attr:`FillOptions.build`): unpacked, built and tested against the
channels plus the staging channel, with its own missing requirements filled the same way (a nested fill
into the staging channel, at most :data:`MAX_SDIST_DEPTH` levels deep).

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
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastconda.channel import local as channels
from fastconda.errors import FastcondaError, FillError, WheelError
from fastconda.pipeline import fill_lock
from fastconda.progress import Progress, ProgressEvent, null_progress
from fastconda.tools import pip_download
from fastconda.tools.rattler_missing import channel_versions, find_missing, why_unsolvable
from fastconda.wheel.convert import WheelOptions, wheel_to_conda
from fastconda.wheel.finder import FoundWheel, Wanted, find_sdist, find_wheel, wanted
from fastconda.wheel.target import host_subdir

if TYPE_CHECKING:
    from fastconda.pipeline.options import BuildOptions

__all__ = ["FillOptions", "FillResult", "fill"]

MAX_ROUNDS = 25  # dependency levels followed
MAX_PACKAGES = 300  # packages one fill may add
MAX_SDIST_DEPTH = 3  # an sdist's build fills an sdist whose build fills an sdist ...
MAX_SDIST_MEMBERS = 20_000
NOTHING_ADDED = "\n  nothing was added to the channel"
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
    #: how a dependency that has only an sdist is built (None: it is named as missing, not built)
    build: BuildOptions | None = None
    depth: int = 0  # nested fills (an sdist's build filling its own requirements)

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
    channels.create_channel(options.channel)  # refuses a folder that is not a channel
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
    #: conda name → versions converted or built so far (a spec they satisfy is not checked again: its
    #: solve would fail until the package's own dependencies, filled in this round, are there too)
    provided: dict[str, list[str]] = dataclasses.field(default_factory=dict)

    def resolve(self, requirements: list[str], search: list[str]) -> None:
        """Round by round: what the channels (and the staging channel) lack is found and converted,
        then their own dependencies are checked in the next round."""
        queue, tried, not_found = requirements, set[str](), list[Wanted]()
        for _round in range(MAX_ROUNDS):
            specs = [s for s in dict.fromkeys(queue) if _fillable(s) and not self._provided(s)]
            if not specs:
                break
            missing = [m.spec for m in find_missing({"run": specs}, search, platform=self.platform)]
            queue = []
            for spec in missing:
                want = wanted(spec, self.options.name_map)
                if spec in tried:  # its wheel was converted, yet the spec is still missing
                    msg = self._still_missing(want, search) + NOTHING_ADDED
                    raise FillError(msg)
                tried.add(spec)
                found = self._find(want)
                if found is not None:
                    queue += self._convert(want, found)
                elif self.options.build is not None and (sdist := self._find(want, sdist=True)) is not None:
                    queue += self._build_sdist(want, sdist)
                else:
                    not_found.append(want)
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
        if self.filled:  # what was asked for is now satisfied, dependencies and all
            channels.index_channel(self.staging)
            first = [s for s in dict.fromkeys(requirements) if _fillable(s)]
            still = find_missing({"run": first}, search, platform=self.platform)
            if still:
                why = [self._still_missing(wanted(m.spec, self.options.name_map), search) for m in still]
                raise FillError("\n".join(why) + NOTHING_ADDED)

    def _provided(self, spec: str) -> bool:
        want = wanted(spec, self.options.name_map)
        return any(want.accepts(v) for v in self.provided.get(want.name, ()))

    def _folders(self) -> list[tuple[str, Path]]:
        folders = [("wheel cache", self.options.wheel_cache)]
        return folders + [(f"wheelhouse {p}", p) for p in self.options.find_links]

    def _find(self, want: Wanted, *, sdist: bool = False) -> FoundWheel | None:
        """A wheel for *want* (with *sdist*, a source distribution): the record's file if it has one,
        from the local folders, else from the index when online (kept in the wheel cache)."""
        locked = self.record.entry_for(want)

        def look(folders: list[tuple[str, Path]], exact: str | None) -> FoundWheel | None:
            if sdist:
                return find_sdist(want, folders, exact=exact)
            return find_wheel(want, folders, python=self.python, platform=self.platform, exact=exact)

        found = look(self._folders(), locked.wheel if locked is not None else None)
        if found is None and not self.options.offline:
            what = "its sdist" if sdist else "a wheel"
            self.progress(ProgressEvent("fill", f"downloading {what} for {want.spec}"))
            pin = f"{locked.project}=={locked.version}" if locked is not None else want.pep440()
            cache = self.options.wheel_cache  # what the index gives is kept for the next (offline) fill
            got = pip_download.download(pin, cache, python=self.python, platform=self.platform, sdist=sdist)
            if got is not None:
                found = look([("index", cache)], got.name)
        if found is not None and locked is not None:
            fill_lock.verify(found.path, locked, self.options.lock_file)
        return found

    def _build_sdist(self, want: Wanted, found: FoundWheel) -> list[str]:
        """Build the sdist with ``fastconda build`` into the staging channel; its own missing
        requirements are filled into the staging channel by a nested fill (recorded here too)."""
        from fastconda.pipeline.build import build_project  # the build imports this module

        assert self.options.build is not None  # resolve looks for sdists only then
        if self.options.depth >= MAX_SDIST_DEPTH:
            msg = f"{want.spec}: sdists whose builds need sdists, more than {MAX_SDIST_DEPTH} levels: stopped"
            raise FillError(msg)
        self.progress(ProgressEvent("fill", f"building {found.path.name} ({found.source}): it has no wheel"))
        channels.index_channel(self.staging)  # what this round converted, seen by its build
        scratch = Path(tempfile.mkdtemp(prefix=f"sdist-{found.project}-", dir=self.staging.parent))
        nested = dataclasses.replace(
            self.options,
            channel=self.staging,
            channels=self.options.search_channels,
            lock=scratch / fill_lock.LOCK_NAME,
            depth=self.options.depth + 1,
            python=self.python,
            platform=self.platform,
        )
        build = self.options.build
        options = dataclasses.replace(
            build, output=scratch / "built", recipe=None, force=True, replace=False, via="recipe",
            rules=dataclasses.replace(build.rules, require_noarch=False), fill=nested,
        )  # fmt: skip
        try:
            result = build_project(_unpack(found.path, scratch / "src"), options, progress=self.progress)
        except FastcondaError as exc:
            msg = f"{want.spec}: it has no wheel, and building its sdist {found.path.name} failed: {exc}"
            raise FillError(msg) from None
        known = {f.package for f in self.filled}
        self.filled += [f for f in fill_lock.read(nested.lock_file).entries if f.package not in known]
        subdir = result.package.parent.name
        target = self.staging / subdir / result.package.name
        target.parent.mkdir(parents=True, exist_ok=True)
        result.package.replace(target)
        self.filled.append(self._filled(want, found, f"{subdir}/{target.name}", result.sha256))
        self.provided.setdefault(result.name, []).append(result.version)
        return []  # its requirements were checked (and filled) by its own build

    def _filled(self, want: Wanted, found: FoundWheel, package: str, sha256: str) -> fill_lock.Filled:
        return fill_lock.Filled(
            requirement=want.spec,
            project=found.project,
            version=found.version,
            wheel=found.path.name,
            wheel_sha256=channels.file_sha256(found.path),
            source=found.source,
            package=package,
            sha256=sha256,
        )

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
        self.filled.append(self._filled(want, found, f"{package.subdir}/{package.path.name}", package.sha256))
        self.provided.setdefault(package.name, []).append(package.version)
        return [d for d in package.depends if _fillable(d)]

    def _still_missing(self, want: Wanted, search: list[str]) -> str:
        made = [f.package for f in self.filled if f.requirement == want.spec]
        if not made or want.name in self.provided:  # converted under its own name: its dependencies clash
            why = why_unsolvable([want.spec], search, platform=self.platform)
            return (
                f"{want.spec}: still not satisfiable after the fill (its dependencies conflict): "
                "change or pin the requirements the solver names:\n"
                + "\n".join(f"    {line}" for line in why)
            )
        return (
            f"{want.spec}: the wheel found for it became {', '.join(made)}, which does not satisfy it: the "
            f"PyPI name ({want.pypi[0]}) maps to another conda name; add it to a --name-map file "
            f'("{want.pypi[0]}" = "{want.name}")'
        )

    def _not_found(self, missing: list[Wanted]) -> str:
        where = ", ".join(f"the wheel cache {p}" if n == "wheel cache" else n for n, p in self._folders())
        sdists = " nor an sdist" if self.options.build is not None else ""
        lines = [
            f"no wheel for CPython {self.python} on {self.platform}{sdists} found for: "
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
            lines.append("  the index has no distribution of them for this target")
        return "\n".join(lines) + NOTHING_ADDED


def _unpack(sdist: Path, dest: Path) -> Path:
    """The sdist's one top folder, unpacked under *dest* (tar: the data filter, no links out; zip
    member names are made safe by zipfile itself)."""
    dest.mkdir(parents=True)
    try:
        archive: tarfile.TarFile | zipfile.ZipFile
        if sdist.name.endswith(".zip"):
            with zipfile.ZipFile(sdist) as archive:
                _bounded(sdist, len(archive.namelist()))
                archive.extractall(dest)
        else:
            with tarfile.open(sdist) as archive:
                _bounded(sdist, len(archive.getmembers()))
                archive.extractall(dest, filter="data")
    except (OSError, tarfile.TarError, zipfile.BadZipFile) as exc:
        msg = f"{sdist}: cannot unpack it: {exc}"
        raise FillError(msg) from None
    tops = list(dest.iterdir())
    return tops[0] if len(tops) == 1 and tops[0].is_dir() else dest


def _bounded(sdist: Path, members: int) -> None:
    if members > MAX_SDIST_MEMBERS:
        msg = f"{sdist.name}: more than {MAX_SDIST_MEMBERS} files, not a source distribution to build"
        raise FillError(msg)


def _fillable(spec: str) -> bool:
    match = _NAME.match(spec)
    name = match.group(1).lower() if match else ""
    return bool(name) and not name.startswith("__") and name not in _NOT_FILLED
