"""A cold cache: the test packages are unpacked ahead (a job the engine process runs while the sdist
is built), and a prefill whose packages rattler's cache already holds links nothing.

Real parts: the seed channel, rattler, the engine's worker process. The one spy wraps the real
``create_environment`` to count the installs; it changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fastconda.tools import rattler
from fastconda.tools import rattler_build as engine


def test_a_prefill_of_packages_rattler_already_holds_installs_nothing(
    seed_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RATTLER_CACHE_DIR", str(tmp_path / "rattler"))
    specs = ["python", "pip", "packaging"]
    assert rattler.prefill_package_cache(specs, channels=[seed_url], marker_dir=tmp_path / "one")
    installs: list[Any] = []
    real = rattler.create_environment

    def counted(*args: Any, **kwargs: Any) -> Any:
        installs.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(rattler, "create_environment", counted)
    # a fresh fastconda cache (no marker) on a warm rattler cache: nothing to unpack, nothing to link
    assert rattler.prefill_package_cache(specs, channels=[seed_url], marker_dir=tmp_path / "two")
    assert installs == []
    assert len(list((tmp_path / "two").iterdir())) == 1  # the marker: the next build skips even the solve
    # a package the cache lacks is still unpacked
    assert rattler.prefill_package_cache([*specs, "pluggy"], channels=[seed_url], marker_dir=tmp_path / "two")
    assert len(installs) == 1


def test_a_job_started_ahead_runs_and_its_answer_never_reaches_the_next_call(
    seed_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RATTLER_CACHE_DIR", str(tmp_path / "rattler"))
    job = {"specs": ["python", "pip"], "channels": [seed_url], "marker_dir": tmp_path / "ahead"}
    failing = {"specs": ["no-such-package"], "channels": [seed_url], "marker_dir": tmp_path / "bad"}
    with engine.worker() as worker:
        worker.start("prefill", failing)  # its error is dropped: it was only an optimisation
        worker.start("prefill", job)
        again = worker.call("prefill", {**job, "marker_dir": tmp_path / "later"}, lambda event: None)
    assert again is True  # its own answer
    assert len(list((tmp_path / "ahead").iterdir())) == 1  # the job started ahead ran to the end first
    assert not (tmp_path / "bad").exists()
    assert list((tmp_path / "rattler" / "pkgs").glob("python-*"))
