"""The build backend's environment on a fresh cache: from the local channel with rattler, else pip.

Real parts only: the seed channel, channels of packages converted from wheels built here, rattler,
pip, hatchling; the wheel cache is an empty (or hand-filled) folder where a test must show which
source the environment came from.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fastconda._files import READY
from fastconda.channel.local import add_packages, channel_url
from fastconda.cli import ExitCode, main
from fastconda.errors import ProjectError
from fastconda.settings import Caches, load_settings
from fastconda.tools import pep517
from fastconda.wheel.convert import wheel_to_conda
from tests.conftest import REPO
from tests.wheel.wheelmaker import make_wheel

EXAMPLE = REPO / "examples" / "pytango-powersupply"


def _versions(python: Path, *names: str) -> dict[str, str | None]:
    """What the environment's own python says is installed."""
    code = (
        "import json, sys\nfrom importlib import metadata\nout = {}\nfor n in sys.argv[1:]:\n"
        "    try: out[n] = metadata.version(n)\n    except metadata.PackageNotFoundError: out[n] = None\n"
        "print(json.dumps(out))"
    )
    done = subprocess.run([python, "-c", code, *names], capture_output=True, text=True, check=True)
    result: dict[str, str | None] = json.loads(done.stdout)
    return result


def _channel(tmp_path: Path, name: str, wheels: list[Path]) -> str:
    """A local channel of the packages converted from *wheels*."""
    packages = [wheel_to_conda(w, tmp_path / f"{name}-pkgs").path for w in wheels]
    folder = tmp_path / name
    add_packages(folder, packages)
    return channel_url(folder)


def _tinydep(folder: Path, version: str, metadata: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return make_wheel(folder, "tinydep", version, metadata=metadata)


def _hatch_project(root: Path, requires: str = '"hatchling>=1.30"') -> Path:
    (root / "src" / "plain").mkdir(parents=True)
    (root / "src" / "plain" / "__init__.py").write_text("VALUE = 1\n")
    (root / "pyproject.toml").write_text(
        f'[build-system]\nrequires = [{requires}]\nbuild-backend = "hatchling.build"\n\n'
        '[project]\nname = "plain"\nversion = "0.1"\n\n'
        '[tool.hatch.build.targets.wheel]\npackages = ["src/plain"]\n'
    )
    return root


def _envs(cache: Path) -> list[Path]:
    return sorted(p for p in (cache / "build-envs").iterdir() if p.is_dir())


def test_an_empty_cache_builds_offline_from_the_channel_and_reuses_the_environment(
    seed_url: str, tmp_path: Path
) -> None:
    empty_wheels = tmp_path / "no-wheels"
    empty_wheels.mkdir()
    caches = Caches(tmp_path / "cache", empty_wheels, offline=True)
    project = _hatch_project(tmp_path / "plain")
    sdist = pep517.build_sdist(project, tmp_path / "one", caches=caches, channels=[seed_url])
    assert sdist.name == "plain-0.1.tar.gz"
    (env,) = _envs(tmp_path / "cache")
    assert _versions(env / "bin" / "python", "hatchling")["hatchling"] == "1.33.0"  # the seed's
    made = (env / READY).stat().st_ino
    pep517.build_sdist(project, tmp_path / "two", caches=caches, channels=[seed_url])
    assert _envs(tmp_path / "cache") == [env]
    assert (env / READY).stat().st_ino == made  # reused, not made again


def test_the_environment_holds_the_requested_version_from_the_channel(seed_url: str, tmp_path: Path) -> None:
    wheels = [_tinydep(tmp_path / "w1", "1.0"), _tinydep(tmp_path / "w2", "2.0")]
    both = _channel(tmp_path, "both", wheels)
    empty_wheels = tmp_path / "no-wheels"
    empty_wheels.mkdir()
    caches = Caches(tmp_path / "cache", empty_wheels, offline=True)
    python = pep517.backend_env(["tinydep<2"], caches, channels=[both, seed_url])
    assert _versions(python, "tinydep") == {"tinydep": "1.0"}
    newest = pep517.backend_env(["tinydep>=1.5"], caches, channels=[both, seed_url])
    assert _versions(newest, "tinydep") == {"tinydep": "2.0"}


def test_a_version_the_channel_lacks_comes_from_the_wheel_cache(seed_url: str, tmp_path: Path) -> None:
    only_new = _channel(tmp_path, "new", [_tinydep(tmp_path / "w2", "2.0")])
    wheels = tmp_path / "wheels"
    _tinydep(wheels, "1.0")
    python = pep517.backend_env(["tinydep<2"], Caches(tmp_path / "cache", wheels, offline=True),
                                channels=[only_new, seed_url])  # fmt: skip
    assert _versions(python, "tinydep") == {"tinydep": "1.0"}


def test_an_extra_the_channel_cannot_express_falls_back_to_pip(seed_url: str, tmp_path: Path) -> None:
    # conda packages have no extras: the channel's tinydep lacks what tinydep[fast] needs
    extra = 'Provides-Extra: fast\nRequires-Dist: speedup>=1; extra == "fast"\n'
    wheels = tmp_path / "wheels"
    channel = _channel(tmp_path, "chan", [_tinydep(wheels, "1.0", extra)])
    make_wheel(wheels, "speedup", "1.1")
    python = pep517.backend_env(["tinydep[fast]"], Caches(tmp_path / "cache", wheels, offline=True),
                                channels=[channel, seed_url])  # fmt: skip
    assert _versions(python, "tinydep", "speedup") == {"tinydep": "1.0", "speedup": "1.1"}


def test_a_requirement_no_source_has_is_a_one_line_error_naming_it(seed_url: str, tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    caches = Caches(tmp_path / "cache", wheels, offline=True)
    with pytest.raises(ProjectError) as info:
        pep517.backend_env(["hatchling", "nosuchbackend>=1.0"], caches, channels=[seed_url])
    message = str(info.value)
    assert len(message.splitlines()) == 1, message
    assert "nosuchbackend>=1.0" in message
    assert str(wheels) in message and "channel" in message
    assert [
        p.name for p in (tmp_path / "cache" / "build-envs").iterdir() if not p.name.endswith(".lock")
    ] == []


@pytest.mark.parametrize("source", ["channel", "wheels"])
def test_the_remains_of_an_interrupted_creation_are_replaced(
    seed_url: str, tmp_path: Path, source: str
) -> None:
    channels = [seed_url] if source == "channel" else []
    caches = Caches(
        tmp_path / "cache", load_settings(overrides={"offline": True}).wheel_cache_dir, offline=True
    )
    env = pep517.backend_env(["hatchling"], caches, channels=channels).parent.parent
    shutil.rmtree(env)
    (env / "bin").mkdir(parents=True)  # what a killed maker leaves: a folder without the ready marker
    (env / "bin" / "half").write_text("")
    python = pep517.backend_env(["hatchling"], caches, channels=channels)
    assert (env / READY).is_file() and not (env / "bin" / "half").exists()
    assert _versions(python, "hatchling")["hatchling"] == "1.33.0"


def test_concurrent_builds_make_one_environment_and_both_use_it(seed_url: str, tmp_path: Path) -> None:
    caches = Caches(tmp_path / "cache", tmp_path / "no-wheels", offline=True)
    with ThreadPoolExecutor(max_workers=2) as pool:
        found = list(
            pool.map(lambda _: pep517.backend_env(["hatchling"], caches, channels=[seed_url]), range(2))
        )
    assert found[0] == found[1]
    (env,) = _envs(tmp_path / "cache")
    assert (env / READY).is_file()
    assert _versions(found[0], "hatchling")["hatchling"] == "1.33.0"


def test_fastconda_build_on_a_fresh_cache_works_offline_with_no_wheels(
    seed_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    empty_wheels = tmp_path / "no-wheels"
    empty_wheels.mkdir()
    monkeypatch.setenv("FASTCONDA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("FASTCONDA_WHEEL_CACHE", str(empty_wheels))
    argv = ["build", str(EXAMPLE), "-c", seed_url, "-o", str(tmp_path / "out"), "--offline", "--json"]
    assert main(argv) == ExitCode.OK, capsys.readouterr()
    result = json.loads(capsys.readouterr().out)
    assert result["name"] == "tango-powersupply" and not result["skipped"]
    (env,) = _envs(tmp_path / "cache")
    assert _versions(env / "bin" / "python", "hatchling")["hatchling"] == "1.33.0"


FIXVERSION = '''\
def use_fixed_version(dist, attr, value):
    """A setup() keyword, as katversion's use_katversion: the version comes from a file."""
    if value:
        with open("VERSION.txt") as handle:
            dist.metadata.version = handle.read().strip()
'''


def test_setup_requires_of_a_legacy_project_are_in_the_backends_environment(
    seed_url: str, tmp_path: Path, real_wheel: Callable[[str], Path]
) -> None:
    """tango-simlib 0.8.0 (real): ``setup_requires=["katversion"]`` and ``use_katversion=True``; the
    backend asks for katversion (PEP 517 ``get_requires_for_build_sdist``), which was never installed,
    so the sdist silently came out as version 0.0.0. A plugin of the same shape, as a real wheel."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for backend in ("setuptools==84.2.1", "wheel==0.48.0"):  # one source holds the whole environment
        shutil.copy(real_wheel(backend), wheels)
    make_wheel(
        wheels, "fixversion", "1.0",
        files={"fixversion/__init__.py": FIXVERSION},
        entry_points="[distutils.setup_keywords]\nuse_fixed_version = fixversion:use_fixed_version\n",
    )  # fmt: skip
    project = tmp_path / "legacy"
    (project / "legacy").mkdir(parents=True)
    (project / "legacy" / "__init__.py").write_text("")
    (project / "VERSION.txt").write_text("0.4.2\n")
    (project / "setup.py").write_text(
        "from setuptools import setup\n"
        "setup(name='legacy', packages=['legacy'], setup_requires=['fixversion'], use_fixed_version=True)\n"
    )
    caches = Caches(tmp_path / "cache", wheels, offline=True)
    sdist = pep517.build_sdist(project, tmp_path / "one", caches=caches, channels=[seed_url])
    assert sdist.name == "legacy-0.4.2.tar.gz"
    asked = list((tmp_path / "cache" / "build-requires").glob("*.json"))
    assert [json.loads(p.read_text()) for p in asked] == [["fixversion"]]  # asked once, kept
    again = pep517.build_sdist(project, tmp_path / "two", caches=caches, channels=[seed_url])
    assert again.name == "legacy-0.4.2.tar.gz"
