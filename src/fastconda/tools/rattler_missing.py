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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fastconda.errors import EnvError, MissingRequirements, Unsolvable
from fastconda.tools.rattler import _solve, channels_digest

MAX_DIAGNOSED = 40  # requirements solved one by one to name the unsatisfiable ones
#: how many of the channels' versions an error shows, highest first
SHOWN_VERSIONS = 3
_NAME = re.compile(r"^\s*([A-Za-z0-9_][A-Za-z0-9_.\-]*)")


@dataclasses.dataclass(frozen=True)
class Missing:
    """One requirement no package of the channels satisfies, even alone."""

    spec: str
    section: str  # build, host, run, test, request
    origin: str = ""  # pyproject dependency, grayskull, the project's recipe, ...
    have: tuple[str, ...] = ()  # versions the channels have, highest first; () when the name is absent

    @property
    def name(self) -> str:
        return _name(self.spec) or self.spec

    def detail(self) -> str:
        where = f"{self.section}, {self.origin}" if self.origin else self.section
        have = (
            f"the channels have {self.name} {', '.join(self.have)}" if self.have else "the channels have none"
        )
        pip = re.sub(r"\s+", "", self.spec) if self.have else self.name
        fill = (
            f"pip download --no-deps --only-binary=:all: '{pip}' -d wheels && "
            "fastconda wheel wheels/*.whl --channel DIR"
        )
        return f"  {self.spec} ({where}): {have}; fill it: {fill}"


def missing_error(missing: Sequence[Missing], channels: Sequence[str]) -> MissingRequirements:
    """The one error naming every missing requirement: the list on the first line, details below."""
    head = ", ".join(f"{m.spec} ({m.section})" for m in missing)
    lines = [
        f"requirements missing from the channels: {head}",
        *(m.detail() for m in missing),
        f"  channels: {', '.join(channels)}",
        "  then add the filled channel with -c DIR, or change the requirements",
    ]
    return MissingRequirements("\n".join(lines), missing)


def find_missing(
    sections: Mapping[str, Sequence[str]],
    channels: Sequence[str],
    *,
    origins: Mapping[str, str] | None = None,
    platform: str | None = None,
) -> tuple[Missing, ...]:
    """The requirements of each section (one environment each) that the channels cannot satisfy.

    An environment that cannot be solved although each requirement can alone (a conflict between
    them) raises the solver's :class:`Unsolvable`."""
    return asyncio.run(find_async(sections, list(channels), origins or {}, platform))


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
        digest, all_local = channels_digest(["check", *parts], channels)
        marker = marker_dir / digest[:24] if all_local else None
        if marker is not None and marker.is_file():
            return
    missing = find_missing(sections, channels, origins=origins, platform=platform)
    if missing:
        raise missing_error(missing, channels)
    if marker is not None:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("\n".join(parts), encoding="utf-8")


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
) -> tuple[Missing, ...]:
    found: list[tuple[str, str]] = []
    for section, specs in sections.items():
        wanted = [s for s in specs if s.strip()]
        if not wanted:
            continue
        try:
            await _solve(wanted, channels, platform)
            continue
        except Unsolvable as exc:
            whole = exc
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
        return ()
    have = await _versions({_name(spec) for _, spec in found}, channels, platform)
    return tuple(
        Missing(spec, section, origins.get(_name(spec)) or origins.get("*", ""), have.get(_name(spec), ()))
        for section, spec in found
    )


async def _versions(names: set[str], channels: list[str], platform: str | None) -> dict[str, tuple[str, ...]]:
    """The versions of *names* in *channels* (this platform and noarch), highest first."""
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
    versions: dict[str, set[Any]] = {}
    for source in result:
        for record in source:
            versions.setdefault(record.name.normalized, set()).add(rattler.Version(str(record.version)))
    return {
        name: tuple(str(v) for v in sorted(found, reverse=True)[:SHOWN_VERSIONS])
        for name, found in versions.items()
    }
