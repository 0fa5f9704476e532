"""The seed channel: built offline from the host Python and cached wheels, usable by rattler."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fastconda.errors import ChannelError, SeedError
from fastconda.seed.bootstrap import bootstrap, get_profile, profiles
from fastconda.settings import load_settings
from fastconda.tools.rattler import create_environment
from tests.helpers import CACHE_TAG, SITE_PACKAGES, assert_consistent, snapshot


def test_profiles_resolve_extends() -> None:
    assert set(profiles()) >= {"python", "tango"}
    tango = get_profile("tango")
    assert {"pip", "setuptools", "hatchling", "pytango", "numpy"} <= set(tango.wheels)
    with pytest.raises(SeedError, match="unknown seed profile 'nope'"):
        get_profile("nope")


@pytest.mark.slow
def test_env_from_seed_runs_python_pytango_and_install_time_entry_points(
    seed_channel: Path, tmp_path: Path
) -> None:
    prefix = tmp_path / "env"
    env = create_environment(
        prefix, ["python", "pytango", "numpy", "pip", "wheel"], channels=[seed_channel.as_uri()]
    )
    names = {p.name for p in env.packages}
    assert {"python", "python_abi", "pytango", "numpy", "pip", "wheel", "packaging"} <= names

    run = subprocess.run(
        [prefix / "bin" / "python", "-c", "import sys, tango, numpy; print(sys.prefix)"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert run.stdout.splitlines()[0] == str(prefix)

    # bin/pip is not in the pip package: rattler wrote it at install time from link.json
    pip = prefix / "bin" / "pip"
    assert pip.read_text().startswith(f"#!{prefix}/bin/python")
    version = subprocess.run([pip, "--version"], capture_output=True, text=True, check=True).stdout
    assert str(prefix / SITE_PACKAGES / "pip") in version
    assert (
        subprocess.run([prefix / "bin" / "wheel", "version"], capture_output=True, check=False).returncode
        == 0
    )


@pytest.mark.slow
def test_seed_env_imports_from_shipped_byte_code_and_sysconfig_names_the_env(
    seed_channel: Path, tmp_path: Path
) -> None:
    # rattler does not compile byte code at install: the seed packages carry it, or every process in a
    # fresh build/test env recompiles what it imports (`pip install .`: 3.3 s instead of 0.9 s)
    prefix = tmp_path / "env"
    create_environment(prefix, ["python", "pip"], channels=[seed_channel.as_uri()])
    run = subprocess.run(
        [prefix / "bin" / "python", "-v", "-c", "import json, pip._internal.cli.main, sysconfig;"
         "print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )  # fmt: skip
    loaded = [line.split("from", 1)[1].strip(" '") for line in run.stderr.splitlines()
              if line.startswith("# code object from")]  # fmt: skip
    from_source = [path for path in loaded if not path.endswith(".pyc")]
    # only modules whose text names the install prefix (relocated at install) are compiled at import
    assert all("_sysconfigdata" in path for path in from_source), from_source
    assert len(loaded) > 30
    assert "bytecode is stale" not in run.stderr
    assert f"/pip/_internal/cli/__pycache__/main.{CACHE_TAG}.pyc" in run.stderr
    assert run.stdout.strip() == str(prefix / SITE_PACKAGES)


def test_bootstrap_with_unchanged_inputs_is_a_no_op(seed_channel: Path) -> None:
    before = snapshot(seed_channel)
    result = bootstrap(seed_channel, "tango", load_settings(overrides={"offline": True}))
    assert result.changed is False
    assert snapshot(seed_channel) == before


def test_changed_profile_rebuilds_only_what_changed(seed_channel: Path, tmp_path: Path) -> None:
    channel = tmp_path / "ch"
    shutil.copytree(seed_channel, channel)
    result = bootstrap(channel, "python", load_settings(overrides={"offline": True}))
    assert result.changed is True
    assert all(p.cached for p in result.packages), "every package of the python profile was already made"
    removed = {name.split("-")[0] for name in result.removed}
    assert {"pytango", "numpy"} <= removed
    names = assert_consistent(channel)
    assert "pytango" not in names
    assert {"python", "pip", "hatchling", "setuptools"} <= set(names)


def test_missing_wheel_offline_names_the_package_and_how_to_get_it(tmp_path: Path) -> None:
    settings = load_settings(overrides={"offline": True, "wheel_cache": tmp_path / "empty-cache"})
    with pytest.raises(SeedError) as info:
        bootstrap(tmp_path / "ch", "python", settings)
    message = str(info.value)
    assert "no wheel for pip in the wheel cache" in message
    assert "pip download --only-binary=:all:" in message
    assert not (tmp_path / "ch").exists()


def test_folder_that_is_not_a_channel_is_refused_before_any_work(tmp_path: Path) -> None:
    (tmp_path / "thesis.tex").write_text("\\begin{document}")
    before = snapshot(tmp_path)
    with pytest.raises(ChannelError, match="exists and is not a conda channel"):
        bootstrap(tmp_path, "python", load_settings(overrides={"offline": True}))
    assert snapshot(tmp_path) == before


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill", "ctrl-c"])
def test_interrupted_bootstrap_leaves_the_previous_channel_intact(
    seed_channel: Path, tmp_path: Path, sig: signal.Signals
) -> None:
    channel = tmp_path / "ch"
    shutil.copytree(seed_channel, channel)
    original = set(assert_consistent(channel))
    env = {
        **os.environ,
        # a cold package cache makes the run long enough (python is rebuilt) to be cut at many points
        "FASTCONDA_CACHE_DIR": str(tmp_path / "cache"),
        "FASTCONDA_WHEEL_CACHE": str(load_settings().wheel_cache_dir),
        "FASTCONDA_OFFLINE": "1",
    }
    command = [
        sys.executable,
        "-m",
        "fastconda",
        "-q",
        "channel",
        "bootstrap",
        str(channel),
        "--profile",
        "python",
    ]
    for delay in (0.3, 1.0, 2.5, 4.0):
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(sig)
        proc.wait(timeout=60)
        names = set(assert_consistent(channel))
        # either the old index or the new one, never a mix with missing files
        assert names == original or "pytango" not in names
    # and the next run completes the job
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "pytango" not in assert_consistent(channel)
    assert not list(channel.rglob(".fastconda-tmp-*"))
