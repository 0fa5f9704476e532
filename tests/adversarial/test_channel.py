"""Adversarial review, local channels (issue 13): lost packages, shared inodes, unreadable files.

- item 2: a package file left in a channel without an index entry (a writer killed between the move
  and the re-index) is listed by the next operation that touches it;
- item 3: a published file never shares the caller's inode, and the caller's file is never chmod-ed;
- item 4: every file fastconda writes atomically gets the umask-derived mode, and another user can
  read a channel (as a web server or an NFS client would).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from fastconda._files import write_bytes_atomic, write_text_atomic
from fastconda.channel import local as channels
from fastconda.channel.publish import publish
from fastconda.cli import ExitCode, main
from fastconda.errors import ChannelError
from tests.helpers import make_conda

NOBODY = 65534
as_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root: it runs a reader or writer as another user"
)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def listed(channel: Path) -> dict[str, str]:
    """subdir/filename → sha256, for every record of every repodata.json."""
    records = {}
    for repodata in channel.glob("*/repodata.json"):
        data = json.loads(repodata.read_text())
        for key in ("packages", "packages.conda"):
            for filename, record in data.get(key, {}).items():
                records[f"{repodata.parent.name}/{filename}"] = record["sha256"]
    return records


def on_disk(channel: Path) -> dict[str, str]:
    """subdir/filename → sha256, for every package file in the channel."""
    return {
        f"{p.parent.name}/{p.name}": sha(p)
        for p in channel.glob("*/*")
        if p.name.endswith((".conda", ".tar.bz2")) and not p.name.startswith(".")
    }


def crash_after_move(package: Path, channel: Path, subdir: str = "noarch") -> Path:
    """The state a writer killed between moving *package* into *channel* and re-indexing leaves."""
    target = channel / subdir / package.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(package, target)
    return target


# -- item 2: a package on disk but not in the index --------------------------------------------------


def test_a_package_on_disk_but_not_in_the_index_is_listed_by_the_next_add(tmp_path: Path) -> None:
    channel = tmp_path / "ch"
    channels.add_packages(channel, [make_conda(tmp_path / "a", "alpha")])
    beta = make_conda(tmp_path / "b", "beta")
    crash_after_move(beta, channel)
    assert "noarch/beta-1.0-0.conda" not in listed(channel)
    result = channels.add_packages(channel, [beta])
    assert [p.name for p in result.added] == ["beta"]  # it was not in the channel a client sees
    assert listed(channel) == on_disk(channel)
    assert set(listed(channel)) == {"noarch/alpha-1.0-0.conda", "noarch/beta-1.0-0.conda"}


def test_cli_channel_add_rerun_does_not_say_unchanged_for_an_unlisted_package(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    channel = tmp_path / "ch"
    native = make_conda(tmp_path / "b", "native", subdir="linux-64")
    channels.create_channel(channel)
    crash_after_move(native, channel, "linux-64")  # a subdir that has no repodata.json yet
    assert main(["channel", "add", str(channel), str(native)]) == ExitCode.OK
    assert "added linux-64/native-1.0-0.conda" in capsys.readouterr().out
    assert listed(channel) == on_disk(channel) == {"linux-64/native-1.0-0.conda": sha(native)}


def test_publish_rerun_lists_a_package_a_killed_publisher_left_unlisted(tmp_path: Path) -> None:
    channel = tmp_path / "ch"
    alpha, beta = (make_conda(tmp_path / "p", n) for n in ("alpha", "beta"))
    publish([alpha], str(channel))
    crash_after_move(beta, channel)
    result = publish([alpha, beta], str(channel))
    assert [(p.name, p.state) for p in result.packages] == [("alpha", "unchanged"), ("beta", "added")]
    assert listed(channel) == on_disk(channel)


def test_an_unlisted_file_with_other_bytes_is_no_conflict_it_was_never_published(tmp_path: Path) -> None:
    # a build killed after the move: its rebuild has other bytes (timestamps) under the same name
    channel = tmp_path / "ch"
    channels.create_channel(channel)
    crash_after_move(make_conda(tmp_path / "first", "alpha", payload="first try"), channel)
    rebuilt = make_conda(tmp_path / "second", "alpha", payload="second try")
    result = channels.add_packages(channel, [rebuilt])
    assert [p.name for p in result.added] == ["alpha"]
    assert listed(channel) == on_disk(channel) == {"noarch/alpha-1.0-0.conda": sha(rebuilt)}


def test_a_replace_killed_before_the_index_is_finished_by_the_rerun_and_refused_without_replace(
    tmp_path: Path,
) -> None:
    channel = tmp_path / "ch"
    old = make_conda(tmp_path / "old", "alpha", payload="old")
    new = make_conda(tmp_path / "new", "alpha", payload="new")
    channels.add_packages(channel, [old])
    crash_after_move(new, channel)  # the file has the new bytes, the index still the old sha256
    with pytest.raises(ChannelError, match="already exists with different content"):
        channels.add_packages(channel, [new])  # what clients were told is the old package
    result = channels.add_packages(channel, [new], replace=True)
    assert [p.name for p in result.added] == ["alpha"]
    assert listed(channel) == on_disk(channel) == {"noarch/alpha-1.0-0.conda": sha(new)}


# -- item 3: never share the caller's inode ------------------------------------------------------------


@pytest.mark.parametrize("how", ["channel add", "publish"])
def test_a_published_file_does_not_change_when_the_callers_file_does(tmp_path: Path, how: str) -> None:
    channel = tmp_path / "ch"
    pkg = make_conda(tmp_path / "dist", "alpha", payload="as published")
    pkg.chmod(0o600)
    argv = ["channel", "add", str(channel), str(pkg)] if how == "channel add" else ["publish", str(pkg)]
    argv += ["--to", str(channel)] if how == "publish" else []
    assert main([*argv, "-q"]) == ExitCode.OK
    target = channel / "noarch" / pkg.name
    published = sha(target)
    assert target.stat().st_ino != pkg.stat().st_ino
    assert stat.S_IMODE(pkg.stat().st_mode) == 0o600, "the caller's file was chmod-ed"
    with pkg.open("r+b") as handle:  # the caller truncates and rebuilds dist/alpha-1.0-0.conda
        handle.truncate(0)
    pkg.write_bytes(make_conda(tmp_path / "rebuilt", "alpha", payload="rebuilt").read_bytes())  # in place
    assert sha(target) == published == listed(channel)["noarch/alpha-1.0-0.conda"]


@as_root
def test_adding_a_package_the_caller_does_not_own_is_not_a_traceback(tmp_path: Path) -> None:
    # root without CAP_FOWNER stands for a publisher that may read (and link) a file another user owns
    # but may not chmod it: a CI runner's artefact, group-writable
    channel = tmp_path / "ch"
    pkg = make_conda(tmp_path / "dist", "alpha")
    os.chown(pkg, NOBODY, -1)
    pkg.chmod(0o666)
    argv = ["setpriv", "--bounding-set", "-fowner", sys.executable, "-m", "fastconda"]
    done = subprocess.run(
        [*argv, "channel", "add", str(channel), str(pkg)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert pkg.stat().st_uid == NOBODY and stat.S_IMODE(pkg.stat().st_mode) == 0o666
    assert listed(channel) == on_disk(channel) == {"noarch/alpha-1.0-0.conda": sha(pkg)}


# -- item 4: files others can read ------------------------------------------------------------------------


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder another user can traverse (pytest's tmp_path lives under a 0700 folder)."""
    folder = Path(tempfile.mkdtemp(prefix="fastconda-shared-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


@pytest.fixture
def umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def read_as_nobody(path: Path) -> bytes:
    done = subprocess.run(["cat", str(path)], capture_output=True, check=False, user=NOBODY)
    assert done.returncode == 0, f"another user cannot read {path}: {done.stderr.decode().strip()}"
    return done.stdout


@as_root
@pytest.mark.usefixtures("umask")
def test_another_user_can_read_every_file_of_a_channel(shared_dir: Path) -> None:
    channel = shared_dir / "ch"
    pkgs = [
        make_conda(shared_dir / "dist", "alpha"),
        make_conda(shared_dir / "dist", "lin", subdir="linux-64"),
    ]
    channels.add_packages(channel, pkgs)
    channels.index_channel(channel)
    files = sorted(p for p in channel.rglob("*") if p.is_file() and p.name != channels.LOCK_NAME)
    assert {p.name for p in files} == {"repodata.json", "alpha-1.0-0.conda", "lin-1.0-0.conda"}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, f"{path} is {oct(path.stat().st_mode)}"
        assert read_as_nobody(path) == path.read_bytes()
    data = json.loads(read_as_nobody(channel / "noarch" / "repodata.json"))
    assert set(data["packages.conda"]) == {"alpha-1.0-0.conda"}


@pytest.mark.parametrize(
    ("mask", "expected"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)], ids=["022", "027", "002"]
)
def test_atomic_writes_get_the_umask_mode(tmp_path: Path, mask: int, expected: int) -> None:
    old = os.umask(mask)
    try:
        write_text_atomic(tmp_path / "CMakeLists.txt", "project(x)\n")
        write_bytes_atomic(tmp_path / "recipe.yaml", b"package: {}\n")
        write_bytes_atomic(tmp_path / "run.sh", b"#!/bin/sh\n", mode=0o755)  # an explicit mode wins
        pkg = make_conda(tmp_path / "dist", "alpha")
        channels.add_packages(tmp_path / "ch", [pkg])
    finally:
        os.umask(old)
    for path in (tmp_path / "CMakeLists.txt", tmp_path / "recipe.yaml"):
        assert stat.S_IMODE(path.stat().st_mode) == expected, path
    assert stat.S_IMODE((tmp_path / "run.sh").stat().st_mode) == 0o755
    for path in (tmp_path / "ch/noarch/repodata.json", tmp_path / "ch/noarch/alpha-1.0-0.conda"):
        assert stat.S_IMODE(path.stat().st_mode) == expected, path


@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="needs /dev/shm: a second file system")
def test_a_converted_package_moved_across_file_systems_gets_the_umask_mode(tmp_path: Path) -> None:
    from fastconda.wheel.convert import _move_into  # the only way across file systems is a copy

    staged = make_conda(Path(tempfile.mkdtemp(dir="/dev/shm")), "alpha")  # tmpfs: rename fails (EXDEV)
    (tmp_path / "out").mkdir()
    old = os.umask(0o027)
    try:
        moved = _move_into(staged, tmp_path / "out")
    finally:
        os.umask(old)
        shutil.rmtree(staged.parent)
    assert moved == tmp_path / "out" / "alpha-1.0-0.conda"
    assert stat.S_IMODE(moved.stat().st_mode) == 0o640
    assert not list((tmp_path / "out").glob(".*")), "temporary files left behind"
