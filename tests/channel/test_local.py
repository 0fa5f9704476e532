"""Local channels: add and index atomically, refuse what is not a channel, lose nothing under concurrency."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from fastconda.channel import local as channels
from fastconda.errors import ChannelError
from tests.helpers import assert_consistent, make_conda, snapshot


def test_add_copies_package_into_its_subdir_and_indexes_it(tmp_path: Path) -> None:
    pkg = make_conda(tmp_path / "build", "alpha", depends=("beta >=1",))
    result = channels.add_packages(tmp_path / "ch", [pkg])
    assert [p.name for p in result.added] == ["alpha"]
    record = json.loads((tmp_path / "ch/noarch/repodata.json").read_text())["packages.conda"][
        "alpha-1.0-0.conda"
    ]
    assert record["depends"] == ["beta >=1"]
    assert assert_consistent(tmp_path / "ch") == ["alpha"]


def test_platform_package_gets_its_own_subdir(tmp_path: Path) -> None:
    pkg = make_conda(tmp_path / "build", "native", subdir="linux-64")
    channels.add_packages(tmp_path / "ch", [pkg])
    assert (tmp_path / "ch/linux-64/native-1.0-0.conda").is_file()
    assert channels.is_channel(tmp_path / "ch")  # noarch/repodata.json exists even when empty
    assert [r["name"] for r in channels.list_packages(tmp_path / "ch")] == ["native"]


def test_adding_the_same_package_twice_is_a_no_op(tmp_path: Path) -> None:
    pkg = make_conda(tmp_path / "build", "alpha")
    channels.add_packages(tmp_path / "ch", [pkg])
    before = snapshot(tmp_path / "ch")
    result = channels.add_packages(tmp_path / "ch", [pkg])
    assert result.added == ()
    assert [p.name for p in result.unchanged] == ["alpha"]
    assert snapshot(tmp_path / "ch") == before


def test_same_file_name_with_other_content_is_refused_and_channel_untouched(tmp_path: Path) -> None:
    channels.add_packages(tmp_path / "ch", [make_conda(tmp_path / "a", "alpha", payload="one")])
    before = snapshot(tmp_path / "ch")
    with pytest.raises(ChannelError, match="already exists with different content"):
        channels.add_packages(tmp_path / "ch", [make_conda(tmp_path / "b", "alpha", payload="two")])
    assert snapshot(tmp_path / "ch") == before


def test_a_conflict_anywhere_in_the_batch_adds_nothing(tmp_path: Path) -> None:
    channels.add_packages(tmp_path / "ch", [make_conda(tmp_path / "a", "alpha", payload="one")])
    before = snapshot(tmp_path / "ch")
    fresh = make_conda(tmp_path / "b", "beta")
    changed = make_conda(tmp_path / "c", "alpha", payload="two")
    with pytest.raises(ChannelError, match="Nothing was added"):
        channels.add_packages(tmp_path / "ch", [fresh, changed])
    assert snapshot(tmp_path / "ch") == before


def test_keep_existing_never_changes_a_file_a_reader_may_hold(tmp_path: Path) -> None:
    channels.add_packages(tmp_path / "ch", [make_conda(tmp_path / "a", "alpha", payload="one")])
    before = snapshot(tmp_path / "ch")
    other = make_conda(tmp_path / "b", "alpha", payload="rebuilt, other bytes")
    result = channels.add_packages(tmp_path / "ch", [other], keep_existing=True)
    assert [p.name for p in result.unchanged] == ["alpha"]
    assert snapshot(tmp_path / "ch") == before


def test_replace_overwrites_a_changed_package(tmp_path: Path) -> None:
    channels.add_packages(tmp_path / "ch", [make_conda(tmp_path / "a", "alpha", payload="one")])
    new = make_conda(tmp_path / "b", "alpha", payload="two")
    channels.add_packages(tmp_path / "ch", [new], replace=True)
    assert (tmp_path / "ch/noarch/alpha-1.0-0.conda").read_bytes() == new.read_bytes()
    assert_consistent(tmp_path / "ch")


def test_add_merges_new_records_and_leaves_other_subdirs_alone(tmp_path: Path) -> None:
    channel = tmp_path / "ch"
    channels.add_packages(
        channel, [make_conda(tmp_path / "a", "alpha"), make_conda(tmp_path / "l", "lin", subdir="linux-64")]
    )
    linux = (channel / "linux-64" / "repodata.json").stat()
    channels.add_packages(channel, [make_conda(tmp_path / "b", "beta")])
    assert (channel / "linux-64" / "repodata.json").stat().st_mtime_ns == linux.st_mtime_ns  # not rewritten
    assert assert_consistent(channel) == ["alpha", "beta", "lin"]
    channels.remove_packages(channel, ["alpha-1.0-0.conda"])
    assert assert_consistent(channel) == ["beta", "lin"]


def test_channel_index_rereads_every_file_and_repairs_a_wrong_index(tmp_path: Path) -> None:
    # `add` lets the indexer start from the current repodata.json (fast on big channels);
    # `channel index` is the repair: it reads every package file again
    channel = tmp_path / "ch"
    channels.add_packages(channel, [make_conda(tmp_path / "a", "alpha")])
    repodata = channel / "noarch" / "repodata.json"
    data = json.loads(repodata.read_text())
    data["packages.conda"]["alpha-1.0-0.conda"]["sha256"] = "0" * 64
    repodata.write_text(json.dumps(data))
    channels.index_channel(channel)
    assert assert_consistent(channel) == ["alpha"]


def test_folder_that_is_not_a_channel_is_refused_and_untouched(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "cat.jpg").write_bytes(b"\xff\xd8")
    before = snapshot(folder)
    with pytest.raises(ChannelError, match="exists and is not a conda channel"):
        channels.add_packages(folder, [make_conda(tmp_path / "a", "alpha")])
    with pytest.raises(ChannelError, match="not a conda channel"):
        channels.index_channel(folder)
    assert snapshot(folder) == before
    assert sorted(p.name for p in folder.iterdir()) == ["cat.jpg"]


def test_a_file_that_is_not_a_package_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    bogus = tmp_path / "broken-1.0-0.conda"
    bogus.write_bytes(b"not a zip")
    good = make_conda(tmp_path / "a", "alpha")
    with pytest.raises(ChannelError, match=r"broken-1.0-0.conda: not a valid conda package"):
        channels.add_packages(tmp_path / "ch", [good, bogus])
    assert not (tmp_path / "ch" / "noarch" / "alpha-1.0-0.conda").exists()


def test_remove_reindexes_before_deleting(tmp_path: Path) -> None:
    pkgs = [make_conda(tmp_path / "a", n) for n in ("alpha", "beta")]
    channels.add_packages(tmp_path / "ch", pkgs)
    assert channels.remove_packages(tmp_path / "ch", ["alpha-1.0-0.conda"]) == ["alpha-1.0-0.conda"]
    assert assert_consistent(tmp_path / "ch") == ["beta"]
    assert not (tmp_path / "ch/noarch/alpha-1.0-0.conda").exists()


def test_index_turns_a_folder_of_packages_into_a_channel(tmp_path: Path) -> None:
    make_conda(tmp_path / "ch" / "noarch", "alpha")
    make_conda(tmp_path / "ch" / "linux-64", "native", subdir="linux-64")
    channels.index_channel(tmp_path / "ch")
    assert assert_consistent(tmp_path / "ch") == ["alpha", "native"]


def test_leftovers_of_a_killed_writer_are_cleaned_by_the_next_one(tmp_path: Path) -> None:
    channels.add_packages(tmp_path / "ch", [make_conda(tmp_path / "a", "alpha")])
    (tmp_path / "ch/noarch" / f"{channels.TEMP_PREFIX}half-written").write_bytes(b"partial")
    (tmp_path / "ch" / f"{channels.TEMP_PREFIX}index-dead").mkdir()
    channels.add_packages(tmp_path / "ch", [make_conda(tmp_path / "b", "beta")])
    leftovers = list((tmp_path / "ch").rglob(f"{channels.TEMP_PREFIX}*"))
    assert leftovers == []
    assert assert_consistent(tmp_path / "ch") == ["alpha", "beta"]


ADDER = """
import sys
import threading
from pathlib import Path
from fastconda.channel.local import add_packages
for pkg in sys.argv[2:]:
    add_packages(Path(sys.argv[1]), [Path(pkg)])
"""


def test_concurrent_adds_lose_nothing(tmp_path: Path) -> None:
    per_writer = 6
    writers = []
    for w in range(3):
        pkgs = [str(make_conda(tmp_path / f"w{w}", f"pkg-{w}-{i}")) for i in range(per_writer)]
        writers.append(subprocess.Popen([sys.executable, "-c", ADDER, str(tmp_path / "ch"), *pkgs]))
    assert [p.wait(timeout=120) for p in writers] == [0, 0, 0]
    names = assert_consistent(tmp_path / "ch")
    assert names == sorted(f"pkg-{w}-{i}" for w in range(3) for i in range(per_writer))


KILLABLE = """
import sys, time
from pathlib import Path
from fastconda.channel.local import add_packages

def stop_at(event):  # the parent kills this writer with SIGKILL while it waits here, holding the lock
    if f"{event.phase}:{event.done or ''}" == sys.argv[2]:
        print("stopped", flush=True)
        time.sleep(120)

add_packages(Path(sys.argv[1]), [Path(p) for p in sys.argv[3:]], progress=stop_at)
"""


def package_files(channel: Path) -> list[str]:
    return sorted(
        f"{p.parent.name}/{p.name}"
        for p in channel.glob("*/*")
        if p.name.endswith(".conda") and p.name[0] != "."
    )


def listed_files(channel: Path) -> list[str]:
    return sorted(
        f"{repodata.parent.name}/{filename}"
        for repodata in channel.glob("*/repodata.json")
        for key in ("packages", "packages.conda")
        for filename in json.loads(repodata.read_text()).get(key, {})
    )


@pytest.mark.parametrize("kill_at", ["add:1", "add:4", "index:"])
def test_a_writer_killed_during_a_multi_package_add_loses_nothing_after_the_next_add(
    tmp_path: Path, kill_at: str
) -> None:
    # "add:k": killed while copying package k of the batch; "index:": after every file was moved into
    # the channel, before the index that lists them was written
    channel = tmp_path / "ch"
    channels.add_packages(channel, [make_conda(tmp_path / "first", "first", subdir="linux-64")])
    batch = [str(make_conda(tmp_path / "victim", f"victim-{i}", subdir="linux-64")) for i in range(5)]
    batch.append(str(make_conda(tmp_path / "victim", "victim-noarch")))
    with subprocess.Popen(
        [sys.executable, "-c", KILLABLE, str(channel), kill_at, *batch], stdout=subprocess.PIPE, text=True
    ) as victim:
        others = []  # concurrent writers, queued on the lock the victim holds when it dies
        for w in range(2):
            pkgs = [str(make_conda(tmp_path / f"w{w}", f"pkg-{w}-{i}")) for i in range(3)]
            others.append(subprocess.Popen([sys.executable, "-c", ADDER, str(channel), *pkgs]))
        try:
            assert victim.stdout is not None
            assert victim.stdout.readline() == "stopped\n"
        finally:
            victim.kill()  # SIGKILL: no cleanup of any kind runs
    assert [p.wait(timeout=120) for p in others] == [0, 0]
    assert_consistent(channel)  # at every moment: nothing is listed without its file
    channels.add_packages(channel, [Path(p) for p in batch])  # the rerun of the killed add
    assert listed_files(channel) == package_files(channel)  # every file is listed, none without its file
    names = assert_consistent(channel)
    expected = ["first"] + [f"pkg-{w}-{i}" for w in range(2) for i in range(3)]
    expected += [f"victim-{i}" for i in range(5)] + ["victim-noarch"]
    assert names == sorted(expected)
    assert not list(channel.rglob(f"{channels.TEMP_PREFIX}*")), "leftovers of the killed writer"


def test_threads_creating_one_new_channel_at_once_all_succeed(tmp_path: Path) -> None:
    # parallel builds of a set all create the output channel: a writer creating the lock between
    # another's lock test and its emptiness test made a new channel look like a foreign folder
    errors: list[str] = []

    def create(channel: Path) -> None:
        try:
            channels.create_channel(channel)
            channels.check_channel_dir(channel, create=True)
        except ChannelError as exc:
            errors.append(str(exc))

    for attempt in range(300):
        channel = tmp_path / f"channel-{attempt}"
        threads = [threading.Thread(target=create, args=(channel,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert channels.is_channel(channel)
    assert errors == []
