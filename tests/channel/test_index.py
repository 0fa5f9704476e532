"""The channel's records are read by fastconda (no rattler load per add): the same records, field
for field, that rattler's indexer writes for the same files."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest
from conda_package_handling.api import create as create_package
from conda_package_handling.api import extract

from fastconda.channel.index import package_record
from fastconda.errors import ChannelError
from tests.helpers import make_conda


def _rattler_records(files: list[Path], staging: Path) -> dict[str, dict[str, Any]]:
    """File name → record, as ``rattler.index.index_fs`` writes it (its timestamp left out)."""
    from rattler.index import index_fs

    for path in files:
        folder = staging / path.parent.name
        folder.mkdir(parents=True, exist_ok=True)
        os.link(path, folder / path.name)
    (staging / "noarch").mkdir(exist_ok=True)
    asyncio.run(index_fs(staging, write_zst=False, write_shards=False, force=True))
    records: dict[str, dict[str, Any]] = {}
    for index in staging.glob("*/repodata.json"):
        data = json.loads(index.read_bytes())
        for key in ("packages", "packages.conda"):
            records.update(data.get(key, {}))
    return {name: {k: v for k, v in r.items() if k != "indexed_timestamp"} for name, r in records.items()}


def _ours(path: Path) -> dict[str, Any]:
    record = package_record(path)
    assert isinstance(record.pop("indexed_timestamp"), int)
    return record


def test_records_of_every_seed_package_are_the_ones_rattlers_indexer_writes(
    seed_channel: Path, cxx_channel: Path, tmp_path: Path
) -> None:
    """python and the wheels made into packages (tango profile), the Debian libraries, compilers and
    sysroot with their run_exports (cxx profile): one comparison per file."""
    found = {p.name: p for c in (seed_channel, cxx_channel) for p in c.glob("*/*.conda")}  # cxx ⊃ tango
    files = sorted(found.values())
    assert len(files) > 20
    theirs = _rattler_records(files, tmp_path / "staging")
    assert sorted(theirs) == sorted({f.name for f in files})
    differ = {f.name: _ours(f) for f in files if _ours(f) != theirs[f.name]}
    assert differ == {}
    assert any("run_exports" in theirs[f.name] for f in files)  # the comparison covers them


def test_tar_bz2_and_conda_packages_with_run_exports_are_recorded_as_rattler_does(
    tmp_path: Path,
) -> None:
    built = make_conda(tmp_path / "b", "gamma", subdir="linux-64", depends=("libc >=2",))
    unpacked = tmp_path / "unpacked"
    extract(str(built), dest_dir=str(unpacked))
    exports = {"weak": ["gamma >=1.0,<2"], "strong": [], "noarch": []}
    (unpacked / "info" / "run_exports.json").write_text(json.dumps(exports))
    files = [str(p.relative_to(unpacked)) for p in unpacked.rglob("*") if p.is_file()]
    out = tmp_path / "linux-64"
    out.mkdir()
    create_package(str(unpacked), files, "gamma-1.0-0.tar.bz2", out_folder=str(out))
    create_package(str(unpacked), files, "gamma-1.0-1.conda", out_folder=str(out))
    made = sorted(out.iterdir())
    theirs = _rattler_records(made, tmp_path / "staging")
    for path in made:
        assert _ours(path) == theirs[path.name], path.name
    assert _ours(out / "gamma-1.0-1.conda")["run_exports"] == {"weak": ["gamma >=1.0,<2"]}
    assert "run_exports" not in _ours(out / "gamma-1.0-0.tar.bz2")  # rattler reads them from .conda only


@pytest.mark.parametrize(
    ("members", "error"),
    [
        pytest.param({}, "info/index.json is missing", id="no-index"),
        pytest.param({"info/index.json": b'{"name": "x"}'}, "has no name, version and build", id="partial"),
        pytest.param({"info/index.json": b"not json"}, "not a valid conda package", id="not-json"),
    ],
)
def test_a_file_that_is_not_a_package_is_refused_with_its_name(
    tmp_path: Path, members: dict[str, bytes], error: str
) -> None:
    folder = tmp_path / "pkg"
    (folder / "info").mkdir(parents=True)
    (folder / "info" / "files").write_text("")
    for name, data in members.items():
        (folder / name).write_bytes(data)
    files = [str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()]
    create_package(str(folder), files, "broken-1-0.conda", out_folder=str(tmp_path))
    with pytest.raises(ChannelError, match=error) as caught:
        package_record(tmp_path / "broken-1-0.conda")
    assert "broken-1-0.conda" in str(caught.value)
    assert str(caught.value).endswith("rebuild it, or remove it from the channel")  # the way on
