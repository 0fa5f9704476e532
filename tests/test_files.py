"""The file primitives of ``fastconda._files``: folders made in scratch and renamed into place."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from fastconda import cache
from fastconda._files import READY, build_into, file_lock, is_ready, scratch_target


def test_build_into_renames_a_ready_folder_into_place_and_leaves_no_scratch(tmp_path: Path) -> None:
    target = tmp_path / "entries" / "abc"
    with build_into(target, note="what it holds") as scratch:
        assert scratch.parent == target.parent
        assert scratch_target(scratch.name) == "abc"
        assert not is_ready(scratch)  # only once the block ended without an error
        (scratch / "file").write_text("x")
    assert is_ready(target)
    assert (target / READY).read_text() == "what it holds"
    assert (target / "file").read_text() == "x"
    assert sorted(p.name for p in target.parent.iterdir()) == ["abc"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o777 & ~umask  # others can read it (mkdtemp: 0700)


def test_build_into_removes_the_scratch_folder_on_an_error(tmp_path: Path) -> None:
    target = tmp_path / "abc"
    with pytest.raises(KeyboardInterrupt), build_into(target) as scratch:
        (scratch / "half").write_text("x")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_two_makers_of_one_target_the_first_wins_and_the_other_is_discarded(tmp_path: Path) -> None:
    target = tmp_path / "abc"
    with contextlib.ExitStack() as stack:
        second = stack.enter_context(build_into(target, note="second"))
        (second / "who").write_text("second")
        with build_into(target, note="first") as first:
            (first / "who").write_text("first")
        assert (target / "who").read_text() == "first"
    assert (target / "who").read_text() == "first"
    assert (target / READY).read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["abc"]


def test_cache_clean_skips_a_folder_being_made_while_its_entry_is_locked(tmp_path: Path) -> None:
    envs = tmp_path / "build-envs"
    with file_lock(envs / "0123abcd.lock", shared=True), build_into(envs / "0123abcd") as scratch:
        (scratch / "bin").mkdir()
        cleaned = cache.clean(tmp_path)
        assert cleaned.busy == (scratch,)
        assert scratch.is_dir()
    assert is_ready(envs / "0123abcd")
