"""Real wheels → .conda → a channel → ``fastconda test`` passes, and the install matches pip's.

For each wheel: the package installs with rattler from the converted-wheel channel plus the seed channel,
every top-level module imports, ``pip check`` is clean, every console script answers ``--help``, and the
installed file set (and content, outside scripts and metadata) equals ``pip install --target`` of the
same wheel.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fastconda.testing.package import Outcome, run_package_tests
from fastconda.wheel import CondaPackage
from tests.helpers import SITE_PACKAGES, TESTED_BINARY, TESTED_PURE

_METADATA = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
_SITE = re.compile(rf"^{re.escape(SITE_PACKAGES)}/")


def _comparable(relative: str) -> bool:
    parts = relative.split("/")
    if "__pycache__" in parts:
        return False
    return not (len(parts) >= 2 and parts[-2].endswith(".dist-info") and parts[-1] in _METADATA)


def _pip_target(wheel: Path, target: Path) -> dict[str, str]:
    """``pip install --target`` offline: relative path → sha256."""
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--no-compile"]
    command += ["--disable-pip-version-check", "--quiet", "--target", str(target), str(wheel)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    files: dict[str, str] = {}
    for path in target.rglob("*"):
        if path.is_file() or path.is_symlink():
            relative = path.relative_to(target).as_posix()
            if _comparable(relative):
                files[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


def _conda_installed(prefix: Path, name: str) -> dict[str, str]:
    """Files rattler installed for package ``name``, in pip's --target layout: relative path → sha256."""
    record = next(
        p for p in (prefix / "conda-meta").glob("*.json") if json.loads(p.read_text())["name"] == name
    )
    files: dict[str, str] = {}
    for path in json.loads(record.read_text())["files"]:
        relative = _SITE.sub("", path)
        if _comparable(relative):
            files[relative] = hashlib.sha256((prefix / path).read_bytes()).hexdigest()
    return files


def _check(
    requirement: str,
    converted: dict[str, CondaPackage],
    real_wheel: Callable[[str], Path],
    channels: list[str],
    tmp_path: Path,
) -> None:
    package = converted[requirement]
    with ThreadPoolExecutor(max_workers=1) as pool:  # pip runs while fastconda tests
        pip_files = pool.submit(_pip_target, real_wheel(requirement), tmp_path / "pip-target")
        result = run_package_tests(package.path, channels, keep=True, cwd=tmp_path)
        pip = pip_files.result()
    try:
        failures = "\n".join(f"{c.kind} {c.name}:\n{c.output}" for c in result.failures)
        assert result.ok, failures
        kinds = {c.kind for c in result.checks if c.outcome is Outcome.PASSED}
        assert {"install", "pip-check"} <= kinds
        scripts = {p.split(" = ")[0] for p in package.entry_points}
        helped = {c.name.removesuffix(" --help") for c in result.checks if c.kind == "entry-point"}
        assert helped == scripts
        conda = _conda_installed(result.prefix, package.name)
        # pip special-cases its own wheel: it adds a versioned pipX.Y script the wheel does not declare
        pip.pop(f"bin/pip{sys.version_info.major}.{sys.version_info.minor}", None)
        assert sorted(conda) == sorted(pip)
        differ = sorted(p for p in conda if conda[p] != pip[p] and not p.startswith("bin/"))
        assert differ == []
        for script in scripts:
            assert os.access(result.prefix / "bin" / script, os.X_OK)
    finally:
        shutil.rmtree(result.prefix.parent, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.parametrize("requirement", TESTED_PURE)
def test_pure_wheel_installs_and_passes_fastconda_test(
    requirement: str,
    converted: dict[str, CondaPackage],
    real_wheel: Callable[[str], Path],
    fast_channels: list[str],
    tmp_path: Path,
) -> None:
    _check(requirement, converted, real_wheel, fast_channels, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("requirement", TESTED_BINARY)
def test_binary_wheel_installs_and_passes_fastconda_test(
    requirement: str,
    converted: dict[str, CondaPackage],
    real_wheel: Callable[[str], Path],
    fast_channels: list[str],
    tmp_path: Path,
) -> None:
    _check(requirement, converted, real_wheel, fast_channels, tmp_path)
