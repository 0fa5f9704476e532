"""``fastconda publish``: put built packages into a channel, a local folder or a Quetz server.

Targets:

- a folder (or ``file://`` URL): :func:`fastconda.channel.local.add_packages`, atomic and safe under
  concurrent publishers (an ``flock`` serialises writers; the index is renamed into place);
- ``quetz+https://host[/prefix]/CHANNEL``: :mod:`fastconda.channel.quetz` (the key stays with its server).

Nothing is half-published: every package is read and every conflict is looked for *before* the
first byte is written, and when Quetz refuses package k of N (a key that may upload only some of
them), the k-1 packages this run uploaded are deleted again. Quetz checks the sha256 of each upload
and stores the file only when it matches, so a file on the server is whole or absent. A package
that is already there with the same content is "unchanged"; with other content it is an error
unless ``replace`` is true.
"""

from __future__ import annotations

import dataclasses
import os
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from fastconda.channel import local as channels
from fastconda.errors import ChannelError, PublishError
from fastconda.progress import Progress, null_progress

API_KEY_ENV = "QUETZ_API_KEY"
QUETZ_SCHEMES = ("quetz+https://", "quetz+http://")
DEFAULT_TIMEOUT = 60.0
DEFAULT_INDEX_WAIT = 60.0

State = Literal["added", "unchanged"]


@dataclasses.dataclass(frozen=True)
class PublishedPackage:
    filename: str
    subdir: str
    name: str
    version: str
    build: str
    sha256: str
    state: State


@dataclasses.dataclass(frozen=True)
class PublishResult:
    target: str
    kind: Literal["local", "quetz"]
    channel_url: str
    packages: tuple[PublishedPackage, ...]
    indexed: bool
    seconds: float

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` schema of ``fastconda publish`` (stable: add keys, never rename)."""
        return {
            "target": self.target,
            "kind": self.kind,
            "channel_url": self.channel_url,
            "indexed": self.indexed,
            "seconds": round(self.seconds, 3),
            "packages": [dataclasses.asdict(p) for p in self.packages],
        }


def publish(
    packages: Sequence[Path],
    to: str,
    *,
    replace: bool = False,
    api_key: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    index_wait: float = DEFAULT_INDEX_WAIT,
    progress: Progress = null_progress,
) -> PublishResult:
    """Publish *packages* to *to*: a channel folder or ``quetz+https://host/channel``."""
    if not packages:
        msg = "no packages given: name one or more .conda files"
        raise PublishError(msg)
    started = time.perf_counter()
    infos = _read_all(packages)
    if to.startswith(QUETZ_SCHEMES):
        from fastconda.channel.quetz import QuetzClient, parse_quetz_target  # only for Quetz targets

        target = parse_quetz_target(to)
        key = api_key if api_key is not None else os.environ.get(API_KEY_ENV, "")
        if not key:
            msg = (
                f"no Quetz API key: set {API_KEY_ENV} to a key that may upload to channel {target.channel!r}"
            )
            raise PublishError(msg)
        client = QuetzClient(target, key, timeout)
        published, indexed = client.publish(infos, replace=replace, index_wait=index_wait, progress=progress)
        return PublishResult(
            to, "quetz", target.channel_url, published, indexed, time.perf_counter() - started
        )
    folder = _local_folder(to)
    published = _publish_local(folder, infos, replace=replace, progress=progress)
    return PublishResult(
        to, "local", channels.channel_url(folder), published, True, time.perf_counter() - started
    )


def _read_all(packages: Sequence[Path]) -> list[channels.PackageInfo]:
    try:
        infos = [channels.read_package(Path(p)) for p in packages]
    except ChannelError as exc:
        raise PublishError(str(exc)) from None
    seen: dict[str, Path] = {}
    for info in infos:
        key = f"{info.subdir}/{info.path.name}"
        if key in seen and channels.file_sha256(seen[key]) != info.sha256:
            msg = f"{seen[key]} and {info.path} are both {key} with different content; publish one of them"
            raise PublishError(msg)
        seen[key] = info.path
    return infos


def published(info: channels.PackageInfo, state: State) -> PublishedPackage:
    return PublishedPackage(
        filename=info.path.name,
        subdir=info.subdir,
        name=info.name,
        version=info.version,
        build=info.build,
        sha256=info.sha256,
        state=state,
    )


# -- local channels -------------------------------------------------------------------------------


def _local_folder(to: str) -> Path:
    if to.startswith("file://"):
        return Path(urllib.request.url2pathname(urllib.parse.urlsplit(to).path))
    if "://" in to:
        msg = f"{to}: unsupported target; use a channel folder or quetz+https://HOST/CHANNEL"
        raise PublishError(msg)
    return Path(to)


def _publish_local(
    folder: Path, infos: list[channels.PackageInfo], *, replace: bool, progress: Progress
) -> tuple[PublishedPackage, ...]:
    if not replace:
        # look for every conflict first, so a refused publish changes nothing at all
        conflicts = [str(path) for path in channels.find_conflicts(folder, infos)]
        if conflicts:
            raise PublishError(conflict_message(conflicts, f"channel {folder}"))
    try:
        result = channels.add_packages(folder, [i.path for i in infos], replace=replace, progress=progress)
    except ChannelError as exc:
        msg = f"cannot publish to {folder}: {exc}"
        raise PublishError(msg) from None
    states: dict[str, State] = {p.path.name: "added" for p in result.added}
    states.update({p.path.name: "unchanged" for p in result.unchanged})
    return tuple(published(i, states.get(i.path.name, "unchanged")) for i in infos)


def conflict_message(conflicts: list[str], where: str) -> str:
    listed = "\n".join(f"  {c}" for c in conflicts)
    return (
        f"{len(conflicts)} package(s) already exist in {where} with different content; "
        f"nothing was published:\n{listed}\n"
        "A published package must not change: bump the build number (or pass --replace to overwrite)."
    )
