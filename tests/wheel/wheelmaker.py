"""Build small wheels inside tests (valid ones, and ones broken on purpose), and read .conda files back."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conda_package_streaming import package_streaming


def record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def make_wheel(
    directory: Path,
    name: str = "demo_pkg",
    version: str = "1.0",
    *,
    tag: str = "py3-none-any",
    files: Mapping[str, bytes | str] | None = None,
    metadata: str = "",
    entry_points: str = "",
    executable: frozenset[str] = frozenset(),
    tamper: Mapping[str, bytes] | None = None,
    unrecorded: Mapping[str, bytes] | None = None,
) -> Path:
    """A wheel with a correct RECORD for ``files``; ``tamper`` replaces contents after RECORD is made,
    ``unrecorded`` adds members that RECORD does not list."""
    dist_info = f"{name}-{version}.dist-info"
    members: dict[str, bytes] = {}
    for path, data in (files if files is not None else {f"{name}/__init__.py": "VALUE = 1\n"}).items():
        members[path] = data.encode() if isinstance(data, str) else data
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{metadata}"
    members[f"{dist_info}/METADATA"] = meta.encode()
    purelib = "true" if tag.endswith("none-any") else "false"
    members[f"{dist_info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: {purelib}\nTag: {tag}\n".encode()
    )
    if entry_points:
        members[f"{dist_info}/entry_points.txt"] = entry_points.encode()
    record = "".join(f"{p},{record_hash(d)},{len(d)}\n" for p, d in members.items())
    members[f"{dist_info}/RECORD"] = (record + f"{dist_info}/RECORD,,\n").encode()
    members.update(tamper or {})
    members.update(unrecorded or {})
    wheel = directory / f"{name}-{version}-{tag}.whl"
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, data in members.items():
            info = zipfile.ZipInfo(path, date_time=(2024, 5, 1, 12, 0, 0))
            info.external_attr = (0o100755 if path in executable else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return wheel


@dataclass
class CondaContents:
    """A .conda read back with conda_package_streaming."""

    info: dict[str, bytes]
    pkg: dict[str, bytes]
    modes: dict[str, int]

    def json(self, name: str) -> Any:
        return json.loads(self.info[f"info/{name}"])


def read_conda(path: Path) -> CondaContents:
    found: dict[str, dict[str, bytes]] = {"info": {}, "pkg": {}}
    modes: dict[str, int] = {}
    for component in ("info", "pkg"):
        with path.open("rb") as handle:
            for tar, member in package_streaming.stream_conda_component(path.name, handle, component):
                extracted = tar.extractfile(member)
                assert extracted is not None, member.name
                found[component][member.name] = extracted.read()
                modes[member.name] = member.mode
    return CondaContents(found["info"], found["pkg"], modes)


def zip_bytes(members: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()
