"""Environments from local channels (issue 13: items 6, 9 and 15).

Real channels on disk, indexed by fastconda, real rattler installs; each test has its own rattler cache
so a package extracted by another test cannot stand in for the file on disk.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fastconda.channel.local import add_packages, channel_url
from fastconda.cli import ExitCode, main
from fastconda.errors import EnvError
from fastconda.tools import rattler as rattler_tools
from fastconda.tools.rattler import IN_PROGRESS, create_environment, prefill_package_cache
from tests.helpers import SITE_PACKAGES, make_conda


@pytest.fixture(autouse=True)
def _own_rattler_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATTLER_CACHE_DIR", str(tmp_path / "rattler-cache"))


def _channel(folder: Path, *packages: tuple[str, str]) -> Path:
    """A channel at *folder* with one noarch package per (name, payload)."""
    built = [make_conda(folder.parent / "built" / name, name, payload=payload) for name, payload in packages]
    add_packages(folder, built)
    return folder


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _errors(capsys: pytest.CaptureFixture[str]) -> list[str]:
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return [line for line in err.splitlines() if line.startswith("error:")]


# -- 9: checksums of local packages ---------------------------------------------------------------------


def _swapped_channel(tmp_path: Path) -> tuple[Path, Path, str]:
    """A channel whose package file was replaced by another package under the same file name."""
    channel = _channel(tmp_path / "channel", ("swapped-pkg", "the real payload"))
    listed = channel / "noarch" / "swapped-pkg-1.0-0.conda"
    indexed = _sha256(listed)
    impostor = make_conda(tmp_path / "impostor", "swapped-pkg", payload="something else entirely")
    listed.unlink()
    listed.write_bytes(impostor.read_bytes())
    return channel, listed, indexed


def test_env_create_refuses_a_package_that_differs_from_the_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    channel, listed, indexed = _swapped_channel(tmp_path)
    prefix = tmp_path / "env"
    code = main(["env", "create", str(prefix), "swapped-pkg", "-c", str(channel)])
    err = _errors(capsys)
    assert code == ExitCode.FAILURE
    assert len(err) == 1, err
    assert str(listed) in err[0] and indexed in err[0] and _sha256(listed) in err[0], err[0]
    assert not prefix.exists(), "nothing may be installed from a channel that does not match its index"


def test_package_test_refuses_a_package_that_differs_from_the_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], seed_channel: Path
) -> None:
    channel, listed, indexed = _swapped_channel(tmp_path)
    args = ["test", "swapped-pkg", "-c", str(channel), "-c", str(seed_channel), "--no-pip-check"]
    assert main(args) == ExitCode.FAILURE
    err = capsys.readouterr().err
    assert str(listed) in err and indexed in err, err


def test_a_truncated_package_is_refused(tmp_path: Path) -> None:
    channel = _channel(tmp_path / "channel", ("cut-pkg", "payload"))
    listed = channel / "noarch" / "cut-pkg-1.0-0.conda"
    data = listed.read_bytes()
    listed.unlink()
    listed.write_bytes(data[: len(data) // 2])
    with pytest.raises(EnvError, match=r"cut-pkg-1\.0-0\.conda does not match its channel.s index"):
        create_environment(tmp_path / "env", ["cut-pkg"], channels=[channel_url(channel)])


def test_an_intact_package_installs(tmp_path: Path) -> None:
    channel = _channel(tmp_path / "channel", ("fine-pkg", "payload"))
    env = create_environment(tmp_path / "env", ["fine-pkg"], channels=[channel_url(channel)])
    assert (env.prefix / "share" / "fine-pkg" / "data.txt").read_text() == "payload"
    assert not (env.prefix / IN_PROGRESS).exists()


# -- 6: an interrupted env create does not block the rerun ------------------------------------------------


def test_rerun_after_a_killed_install_removes_the_remains(tmp_path: Path) -> None:
    # what a killed install leaves: the marker, half the files, a conda-meta without all its records
    channel = _channel(tmp_path / "channel", ("whole-pkg", "payload"))
    prefix = tmp_path / "env"
    (prefix / "conda-meta").mkdir(parents=True)
    (prefix / "share" / "half").mkdir(parents=True)
    (prefix / "share" / "half" / "file.txt").write_text("half", encoding="utf-8")
    (prefix / IN_PROGRESS).write_text("12345\n", encoding="utf-8")
    env = create_environment(prefix, ["whole-pkg"], channels=[channel_url(channel)])
    assert (env.prefix / "share" / "whole-pkg" / "data.txt").is_file()
    assert not (prefix / "share" / "half").exists()
    assert not (prefix / IN_PROGRESS).exists()


def test_a_prefix_without_the_marker_is_never_removed(tmp_path: Path) -> None:
    channel = _channel(tmp_path / "channel", ("whole-pkg", "payload"))
    prefix = tmp_path / "env"
    prefix.mkdir()
    (prefix / "precious.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(EnvError, match="exists and is not empty"):
        create_environment(prefix, ["whole-pkg"], channels=[channel_url(channel)])
    assert (prefix / "precious.txt").read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_env_create_interrupted_mid_install_then_rerun_succeeds(
    tmp_path: Path, seed_channel: Path, sig: signal.Signals
) -> None:
    prefix = tmp_path / "env"
    command = [sys.executable, "-m", "fastconda", "env", "create", str(prefix), "python", "pip"]
    command += ["-c", str(seed_channel)]
    env = {**os.environ, "RATTLER_CACHE_DIR": str(tmp_path / "cold-cache")}  # cold: the install takes time
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while child.poll() is None and time.monotonic() < deadline:
            if prefix.is_dir() and any(p.name != IN_PROGRESS for p in prefix.iterdir()):
                break  # linking has started
            time.sleep(0.002)
        child.send_signal(sig)
    finally:
        child.wait(timeout=60)
    if sig == signal.SIGKILL:
        assert child.returncode == -signal.SIGKILL, "the install finished before it could be interrupted"
        assert prefix.is_dir() and any(prefix.iterdir()), "the killed install left something behind"
    else:
        assert child.returncode == 130
        assert not prefix.exists(), "an interrupted install is cleaned up at once"
    environment = create_environment(prefix, ["python", "pip"], channels=[channel_url(seed_channel)])
    done = subprocess.run([environment.python, "-c", "print(42)"], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "42"
    assert not (prefix / IN_PROGRESS).exists()


def test_a_cancelled_install_is_removed_only_after_its_linking_threads_stop(
    tmp_path: Path, seed_channel: Path
) -> None:
    """Ctrl-C inside ``asyncio.run`` cancels the install; rattler's linking threads write on for a
    while (~0.3 s measured), so a cleanup at once left their files behind (a CI failure on 3.13)."""
    prefix = tmp_path / "env"

    def entries() -> int:
        return sum(len(dirs) + len(files) for _, dirs, files in os.walk(prefix)) if prefix.is_dir() else 0

    async def cancel_mid_link() -> None:
        install = asyncio.ensure_future(
            rattler_tools._create(prefix, ["python", "pip"], [channel_url(seed_channel)], None)
        )
        while entries() < 20 and not install.done():
            await asyncio.sleep(0.001)
        assert not install.done(), "the install finished before it could be cancelled"
        install.cancel()  # what asyncio.run does on SIGINT
        await install

    with pytest.raises(asyncio.CancelledError), rattler_tools._claimed(prefix):
        asyncio.run(cancel_mid_link())
    assert not prefix.exists(), "the cancelled install is cleaned up"
    time.sleep(0.5)
    assert not prefix.exists(), "nothing was written into the prefix after the cleanup"


# -- 15: cache keys of file:// channels are percent-decoded ------------------------------------------------


def test_host_env_key_follows_the_index_of_a_channel_with_a_space(tmp_path: Path) -> None:
    from fastconda.cxx.wheel_route import _channels_key

    channel = _channel(tmp_path / "my channel", ("first-pkg", "payload"))
    url = channel_url(channel)
    assert "%20" in url
    before = _channels_key(["cpptango"], [url])
    make_conda(tmp_path / "built" / "second-pkg", "second-pkg")
    add_packages(channel, [tmp_path / "built" / "second-pkg" / "second-pkg-1.0-0.conda"])
    assert _channels_key(["cpptango"], [url]) != before, "a changed index must give a new key"


def test_prefill_marker_follows_the_index_of_a_channel_with_a_space(tmp_path: Path) -> None:
    channel = _channel(tmp_path / "my channel", ("first-pkg", "payload"))
    urls = [channel_url(channel)]
    markers = tmp_path / "markers"
    assert prefill_package_cache(["first-pkg"], channels=urls, marker_dir=markers)
    assert not prefill_package_cache(["first-pkg"], channels=urls, marker_dir=markers)
    repodata = channel / "noarch" / "repodata.json"
    index = json.loads(repodata.read_text(encoding="utf-8"))
    time.sleep(0.01)  # a new mtime
    repodata.write_text(json.dumps(index, indent=1), encoding="utf-8")
    assert prefill_package_cache(["first-pkg"], channels=urls, marker_dir=markers), "a changed index"


# -- 11: `fastconda test` never runs an entry point whose name is a path ----------------------------------


def _package_with_entry_point(folder: Path, name: str) -> Path:
    """A python package (not made by the wheel converter, which refuses such names) whose
    entry_points.txt names a console script *name*."""
    import io
    import tarfile

    from conda_package_streaming.create import conda_builder

    site = SITE_PACKAGES  # installed into an environment of the seed's python
    points = f"[console_scripts]\n{name} = sneaky_pkg:main\n"
    files = {
        f"{site}/sneaky_pkg/__init__.py": b"def main():\n    pass\n",
        f"{site}/sneaky_pkg-1.0.dist-info/entry_points.txt": points.encode(),
    }
    index = {
        "name": "sneaky-pkg", "version": "1.0", "build": "0", "build_number": 0, "depends": ["python"],
        "subdir": "linux-64", "platform": "linux", "arch": "x86_64", "timestamp": 1700000000000,
    }  # fmt: skip
    paths = [
        {
            "_path": p,
            "path_type": "hardlink",
            "sha256": hashlib.sha256(d).hexdigest(),
            "size_in_bytes": len(d),
        }
        for p, d in files.items()
    ]
    members = {
        **files,
        "info/index.json": json.dumps(index).encode(),
        "info/paths.json": json.dumps({"paths": paths, "paths_version": 1}).encode(),
        "info/files": "".join(f"{p}\n" for p in files).encode(),
    }
    folder.mkdir(parents=True)
    with conda_builder("sneaky-pkg-1.0-0", folder, compression_level=1) as tar:
        for path, data in members.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return folder / "sneaky-pkg-1.0-0.conda"


def test_package_test_does_not_run_an_entry_point_named_like_a_path(
    tmp_path: Path, seed_channel: Path
) -> None:
    from fastconda.settings import PackageTestSettings
    from fastconda.testing.package import Outcome, run_package_tests

    canary = tmp_path / "canary"
    evil = tmp_path / "evil.sh"
    evil.write_text(f"#!/bin/sh\ntouch {canary}\n", encoding="utf-8")
    evil.chmod(0o755)
    name = "../" * 40 + str(evil).lstrip("/")  # prefix/bin/<name> is evil.sh
    package = _package_with_entry_point(tmp_path / "pkg", name)
    settings = PackageTestSettings(pip_check=False, package_tests=False)
    result = run_package_tests(package, [channel_url(seed_channel)], settings, cwd=tmp_path)
    assert not canary.exists(), "a file outside the environment was run as an entry point"
    checks = [c for c in result.checks if c.kind == "entry-point"]
    assert [c.outcome for c in checks] == [Outcome.SKIPPED]
    assert "not a plain file name" in checks[0].output
