"""Real wheels from PyPI, downloaded once into <repo>/.cache/test-wheels and reused offline afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WHEEL_CACHE = Path(os.environ.get("FASTCONDA_TEST_WHEELS", REPO / ".cache" / "test-wheels"))
# Binary wheels are fetched for CPython 3.11 on x86_64 Linux, the deployment target.
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux2010_x86_64")


def _cached(requirement: str) -> Path | None:
    name, _, version = requirement.partition("==")
    stem = f"{name.replace('-', '_').lower()}-{version}-"
    matches = sorted(p for p in WHEEL_CACHE.glob("*.whl") if p.name.lower().startswith(stem))
    return matches[0] if matches else None


def _download(requirement: str) -> str:
    command = [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--no-deps", "--quiet"]
    command += ["--disable-pip-version-check", "-d", str(WHEEL_CACHE), "--python-version", "3.11"]
    command += ["--implementation", "cp", "--abi", "cp311", "--abi", "abi3", "--abi", "none"]
    for platform in (*PLATFORMS, "any"):
        command += ["--platform", platform]
    try:
        done = subprocess.run(
            [*command, requirement], capture_output=True, text=True, timeout=300, check=False
        )
    except subprocess.TimeoutExpired:
        return "pip download timed out"
    return done.stderr.strip().splitlines()[-1] if done.returncode and done.stderr.strip() else ""


@pytest.fixture(scope="session")
def real_wheel() -> Callable[[str], Path]:
    """``real_wheel("numpy==2.4.6")``: the cached wheel, downloaded first if needed (skip when offline)."""
    WHEEL_CACHE.mkdir(parents=True, exist_ok=True)

    def get(requirement: str) -> Path:
        found = _cached(requirement)
        if found is None:
            problem = _download(requirement)
            found = _cached(requirement)
            if found is None:
                pytest.skip(f"{requirement} is not in {WHEEL_CACHE} and cannot be downloaded: {problem}")
        return found

    return get
