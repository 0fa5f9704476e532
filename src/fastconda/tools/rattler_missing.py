"""Name every requirement the channels cannot satisfy, before anything is built or installed.

rattler's solver stops at the first conflict it meets, and rattler-build's error ("Failed to resolve
dependencies") does not name the package at all; the user then found one missing package per run. Here
each environment (the build's host, run and test requirements, an ``env create`` request, a package
test) is solved once; only when that fails is each requirement solved alone (with python), and the ones
that fail are named together with the versions the channels do have (read from their repodata) and the
command that fills them. ``build``, ``test`` and ``env create`` share this, so they say it in the same words.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fastconda.errors import EnvError, MissingRequirements, Unsolvable
from fastconda.tools.rattler import _solve, channels_digest

#: part of the key of remembered checks: a check that passed under an older logic is made again
CHECK_VERSION = "check-2"  # 2: packages hidden by strict channel priority
MAX_DIAGNOSED = 40  # requirements solved one by one to name the unsatisfiable ones
#: how many of the channels' versions an error shows, highest first
SHOWN_VERSIONS = 3
SHOWN_SOLVER_LINES = 12  # of the solver's explanation of a conflict
_NAME = re.compile(r"^\s*([A-Za-z0-9_][A-Za-z0-9_.\-]*)")


@dataclasses.dataclass(frozen=True)
class Missing:
    """One requirement no package of the channels satisfies, even alone."""

    spec: str
    section: str  # build, host, run, test, request
    origin: str = ""  # pyproject dependency, grayskull, the project's recipe, ...
    have: tuple[str, ...] = ()  # versions the channels have, highest first; () when the name is absent
    #: "VERSION in CHANNEL" when a later channel satisfies the requirement but an earlier one that
    #: holds the same name (``shown_by``, with the versions ``have``) hides it from the engine
    hidden: str = ""
    shown_by: str = ""

    @property
    def name(self) -> str:
        return _name(self.spec) or self.spec

    def detail(self) -> str:
        where = f"{self.section}, {self.origin}" if self.origin else self.section
        have = (
            f"the channels have {self.name} {', '.join(self.have)}" if self.have else "the channels have none"
        )
        if self.hidden:
            return (
                f"  {self.spec} ({where}): {self.shown_by} has {self.name} {', '.join(self.have)} and hides "
                f"{self.hidden} (channel priority is strict): name that channel before {self.shown_by}"
            )
        return f"  {self.spec} ({where}): {have}"


def missing_error(missing: Sequence[Missing], channels: Sequence[str]) -> MissingRequirements:
    """The one error naming every missing requirement: the list on the first line, details below,
    and the command that fills them from PyPI wheels."""
    head = ", ".join(f"{m.spec} ({m.section})" for m in missing)
    specs = " ".join(shlex.quote(spec) for spec in dict.fromkeys(m.spec for m in missing))
    lines = [
        f"requirements missing from the channels: {head}",
        *(m.detail() for m in missing),
        f"  channels: {', '.join(channels)}",
        f"  fill them from PyPI wheels: fastconda channel fill DIR {specs} [--find-links WHEELHOUSE]",
        "  (`fastconda build --fill DIR` does it on the way), then name DIR first: -c DIR -c ...; "
        "or change the requirements",
    ]
    return MissingRequirements("\n".join(lines), missing)


def find_missing(
    sections: Mapping[str, Sequence[str]],
    channels: Sequence[str],
    *,
    origins: Mapping[str, str] | None = None,
    platform: str | None = None,
    strict: bool = False,
) -> tuple[Missing, ...]:
    """The requirements of each section (one environment each) that the channels cannot satisfy.

    With *strict*, also those satisfied only by a package that an earlier channel hides from the
    rattler-build engine (its channel priority is strict; rattler's solver here looks everywhere).

    An environment that cannot be solved although each requirement can alone (a conflict between
    them) raises the solver's :class:`Unsolvable`."""
    return asyncio.run(find_async(sections, list(channels), origins or {}, platform, strict=strict))


def check_requirements(
    sections: Mapping[str, Sequence[str]],
    channels: Sequence[str],
    *,
    origins: Mapping[str, str] | None = None,
    platform: str | None = None,
    marker_dir: Path | None = None,
) -> None:
    """Raise :class:`MissingRequirements` when a section cannot be solved from *channels*.

    With *marker_dir*, a check that passed is remembered, keyed like the prefill marker (the specs,
    the channel URLs and their index files): a warm build pays only for hashing the index files' stat."""
    parts = [f"{section}:{spec}" for section, specs in sorted(sections.items()) for spec in specs]
    marker = None
    if marker_dir is not None:
        digest, all_local = channels_digest([CHECK_VERSION, *parts], channels)
        marker = marker_dir / digest[:24] if all_local else None
        if marker is not None and marker.is_file():
            return
    missing = find_missing(sections, channels, origins=origins, platform=platform, strict=True)
    if missing:
        raise missing_error(missing, channels)
    if marker is not None:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("\n".join(parts), encoding="utf-8")


def why_unsolvable(
    specs: Sequence[str], channels: Sequence[str], *, platform: str | None = None
) -> list[str]:
    """The solver's explanation of why *specs* cannot be installed together from *channels*, at most
    :data:`SHOWN_SOLVER_LINES` lines (one line saying so when they can)."""
    try:
        asyncio.run(_solve(list(specs), list(channels), platform))
    except Unsolvable as exc:
        lines = [line.rstrip() for line in str(exc).splitlines()[1:] if line.strip()]
        if len(lines) > SHOWN_SOLVER_LINES:
            lines[SHOWN_SOLVER_LINES:] = [f"... ({len(lines) - SHOWN_SOLVER_LINES} more lines)"]
        return lines
    return ["(they solve on their own: the conflict is with another requirement of the same environment)"]


async def _solvable(specs: list[str], channels: list[str], platform: str | None) -> bool:
    try:
        await _solve(specs, channels, platform)
    except Unsolvable:
        return False
    return True


def _name(spec: str) -> str:
    match = _NAME.match(spec)
    return match.group(1).lower() if match else ""


async def find_async(
    sections: Mapping[str, Sequence[str]],
    channels: list[str],
    origins: Mapping[str, str],
    platform: str | None,
    *,
    strict: bool = False,
) -> tuple[Missing, ...]:
    found: list[tuple[str, str]] = []
    hidden: list[Missing] = []
    for section, specs in sections.items():
        wanted = [s for s in specs if s.strip()]
        if not wanted:
            continue
        try:
            records = await _solve(wanted, channels, platform)
        except Unsolvable as exc:
            whole = exc
        else:
            if strict:
                hidden += await _hidden(section, wanted, records, channels, platform, origins)
            continue
        python = [s for s in wanted if _name(s) == "python"][:1]
        failed = [p for p in python if not await _solvable([p], channels, platform)]
        base = [] if failed else python
        for spec in [s for s in wanted if _name(s) not in {"python", "pip"}][:MAX_DIAGNOSED]:
            if not await _solvable([*base, spec], channels, platform):
                failed.append(spec)
        if not failed:
            raise whole
        found += [(section, spec) for spec in failed if spec not in {s for _, s in found}]  # run, then test
    if not found:
        return _unique(hidden)
    have = await _versions({_name(spec) for _, spec in found}, channels, platform)
    return _unique(
        [Missing(spec, section, _origin(origins, spec), have.get(_name(spec), ())) for section, spec in found]
        + hidden
    )


def _origin(origins: Mapping[str, str], spec: str) -> str:
    return origins.get(_name(spec)) or origins.get("*", "")


def _unique(missing: list[Missing]) -> tuple[Missing, ...]:
    """One entry per requirement (a run requirement is also in the test environment)."""
    kept: dict[str, Missing] = {}
    for item in missing:
        kept.setdefault(item.spec, item)
    return tuple(kept.values())


async def _hidden(  # noqa: PLR0917
    section: str,
    wanted: list[str],
    records: list[Any],
    channels: list[str],
    platform: str | None,
    origins: Mapping[str, str],
) -> list[Missing]:
    """Packages of a solution that the rattler-build engine would not see: its channel priority is
    strict (a name found in one channel is never taken from a later one), while the solver used here
    looks in every channel. Each such package is named with the channel that hides it."""
    order = {c.rstrip("/"): i for i, c in enumerate(channels)}
    names = {r.name.normalized for r in records}
    first = await _query(names, channels, platform)
    hidden = []
    for record in records:
        name = record.name.normalized
        used = order.get(str(record.channel or "").rstrip("/"))
        before = first.get(name)
        if used is None or before is None or before[0] >= used:
            continue
        spec = next((s for s in wanted if _name(s) == name), name)
        where = f"{record.version} in {channels[used]}"
        hidden.append(
            Missing(
                spec, section, _origin(origins, spec), before[1], hidden=where, shown_by=channels[before[0]]
            )
        )
    return hidden


def channel_versions(
    names: set[str], channels: Sequence[str], platform: str | None = None
) -> dict[str, tuple[str, ...]]:
    """The highest versions of *names* that *channels* hold (this platform and noarch), highest first."""
    return asyncio.run(_versions(names, list(channels), platform))


async def _versions(names: set[str], channels: list[str], platform: str | None) -> dict[str, tuple[str, ...]]:
    """The versions of *names* in *channels* (this platform and noarch), highest first."""
    import rattler

    versions: dict[str, set[Any]] = {}
    for source in await _sources(names, channels, platform):
        for record in source:
            versions.setdefault(record.name.normalized, set()).add(rattler.Version(str(record.version)))
    return {
        name: tuple(str(v) for v in sorted(found, reverse=True)[:SHOWN_VERSIONS])
        for name, found in versions.items()
    }


async def _query(
    names: set[str], channels: list[str], platform: str | None
) -> dict[str, tuple[int, tuple[str, ...]]]:
    """Per name: the first of *channels* (its index) that holds it, and that channel's highest versions."""
    import rattler

    order = {c.rstrip("/"): i for i, c in enumerate(channels)}
    held: dict[str, dict[int, set[Any]]] = {}
    for source in await _sources(names, channels, platform):  # one list per channel and subdir
        for record in source:
            at = order.get(str(record.channel or "").rstrip("/"))
            if at is not None:
                versions = held.setdefault(record.name.normalized, {}).setdefault(at, set())
                versions.add(rattler.Version(str(record.version)))
    first = {name: min(by_channel) for name, by_channel in held.items()}
    return {
        name: (at, tuple(str(v) for v in sorted(held[name][at], reverse=True)[:SHOWN_VERSIONS]))
        for name, at in first.items()
    }


async def _sources(names: set[str], channels: list[str], platform: str | None) -> list[Any]:
    """The records of *names* in *channels*: one list per channel and subdir."""
    import rattler

    from fastconda.tools.rattler import rattler_errors

    subdir = platform or str(rattler.Subdir.current())
    try:
        result: Any = await rattler.Gateway().query(
            channels, [rattler.Subdir(subdir), rattler.Subdir("noarch")], specs=sorted(names), recursive=False
        )
    except rattler_errors() as exc:
        msg = f"cannot read the channels {', '.join(channels)}: {exc}"
        raise EnvError(msg) from None
    return list(result)
