"""The wheel cache: PyPI wheels the seed channel is made of, fetched once, then used offline.

Resolution is pip's (``pip install --dry-run --report`` against the cache only); the result is
remembered in ``resolved-<key>.json`` so that a warm run does not start pip at all. Only when the
cache cannot satisfy the requirements, and the network is allowed, does ``pip download`` fill it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import sysconfig
import tempfile
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlparse

from fastconda import _proc
from fastconda._files import write_text_atomic
from fastconda.errors import CommandError, SeedError
from fastconda.progress import Progress, ProgressEvent, null_progress

_MISSING = re.compile(r"No matching distribution found for ([^\s;]+)")


def _pip(*args: str) -> list[str]:
    return [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]


def _key(requirements: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for part in (*sorted(requirements), sys.version, sysconfig.get_platform()):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def resolve_wheels(
    requirements: Sequence[str],
    cache: Path,
    *,
    offline: bool = False,
    refresh: bool = False,
    progress: Progress = null_progress,
) -> list[Path]:
    """Binary wheels for *requirements* and all their dependencies, from (and into) *cache*."""
    cache.mkdir(parents=True, exist_ok=True)
    manifest = cache / f"resolved-{_key(requirements)}.json"
    if not refresh and manifest.is_file():
        names = json.loads(manifest.read_text(encoding="utf-8"))
        wheels = [cache / name for name in names]
        if all(w.is_file() for w in wheels):
            return wheels
    progress(ProgressEvent("wheels", "resolving from the wheel cache"))
    try:
        wheels = _resolve_from_cache(requirements, cache)
    except SeedError as offline_error:
        if offline:
            raise
        progress(ProgressEvent("wheels", f"downloading {', '.join(requirements)} into {cache}"))
        _download(requirements, cache, offline_error)
        wheels = _resolve_from_cache(requirements, cache)
    write_text_atomic(manifest, json.dumps(sorted(w.name for w in wheels), indent=1))
    return wheels


def _resolve_from_cache(requirements: Sequence[str], cache: Path) -> list[Path]:
    with tempfile.TemporaryDirectory(prefix="fastconda-pip-") as scratch:
        report = Path(scratch) / "report.json"
        command = _pip(
            "install", "--dry-run", "--ignore-installed", "--only-binary=:all:", "--no-index",
            "--find-links", str(cache), "--report", str(report), "--quiet", *requirements,
        )  # fmt: skip
        try:
            _proc.run(command, env={**os.environ, "PIP_NO_INPUT": "1"}, timeout=600)
        except CommandError as exc:
            missing = _MISSING.findall(exc.output)
            what = ", ".join(dict.fromkeys(missing)) or "some requirement"
            msg = (
                f"no wheel for {what} in the wheel cache {cache} (needed by: {' '.join(requirements)}).\n"
                f"  Get it on a machine with access to PyPI: "
                f"`pip download --only-binary=:all: -d {cache} {' '.join(missing or requirements)}`\n"
                f"  (or run this command once without --offline). pip said:\n"
                + "\n".join(f"    {line}" for line in exc.output.strip().splitlines()[-8:])
            )
            raise SeedError(msg) from None
        data = json.loads(report.read_text(encoding="utf-8"))
    wheels: list[Path] = []
    for item in data.get("install", []):
        url = item.get("download_info", {}).get("url", "")
        parsed = urlparse(url)
        if parsed.scheme != "file":
            msg = f"pip resolved {url!r}, which is not a local wheel; refusing to go online here"
            raise SeedError(msg)
        path = Path(unquote(parsed.path))
        if path.parent.resolve() != cache.resolve():  # found through pip's own find-links: keep a copy
            shutil.copy2(path, cache / path.name)
            path = cache / path.name
        wheels.append(path)
    return sorted(wheels)


def _download(requirements: Sequence[str], cache: Path, cause: SeedError) -> None:
    command = _pip("download", "--only-binary=:all:", "--dest", str(cache), "--quiet", *requirements)
    try:
        _proc.run(command, env={**os.environ, "PIP_NO_INPUT": "1"}, timeout=1800)
    except CommandError as exc:
        msg = f"{cause}\n  Downloading them failed too:\n" + "\n".join(
            f"    {line}" for line in exc.output.strip().splitlines()[-8:]
        )
        raise SeedError(msg) from None
