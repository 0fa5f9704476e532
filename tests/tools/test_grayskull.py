"""The grayskull adapter: offline, grayskull's pip gets no index and only the wheel cache.

Without ``PIP_NO_INDEX`` grayskull pip-installs what a ``setup.py`` imports and retries the network
(minutes per project on an air-gapped runner). Read from the real child process's environment.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from fastconda.settings import Caches
from fastconda.tools.grayskull import Prewarmed


def _child_environ(caches: Caches | None) -> dict[str, str]:
    process = Prewarmed(caches)
    try:
        proc = Path(f"/proc/{process._process.pid}")
        # between fork and exec the child still shows our environment: wait for grayskull's command line
        deadline = time.monotonic() + 10
        while b"grayskull.main" not in proc.joinpath("cmdline").read_bytes() and time.monotonic() < deadline:
            time.sleep(0.01)
        raw = proc.joinpath("environ").read_bytes()
    finally:
        process.close()
    return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)


@pytest.mark.skipif(not Path("/proc/self/environ").is_file(), reason="reads the child's /proc/PID/environ")
def test_offline_grayskull_has_no_package_index_and_finds_only_the_wheel_cache(tmp_path: Path) -> None:
    environ = _child_environ(Caches(tmp_path / "cache", tmp_path / "wheels", offline=True))
    assert environ["PIP_NO_INDEX"] == "1"
    assert environ["PIP_FIND_LINKS"] == str(tmp_path / "wheels")
    assert environ["TMPDIR"] != "/tmp"  # a private temp folder, removed afterwards


@pytest.mark.skipif(not Path("/proc/self/environ").is_file(), reason="reads the child's /proc/PID/environ")
def test_online_grayskull_keeps_the_users_pip_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PIP_NO_INDEX", raising=False)
    environ = _child_environ(Caches(tmp_path / "cache", tmp_path / "wheels", offline=False))
    assert "PIP_NO_INDEX" not in environ
