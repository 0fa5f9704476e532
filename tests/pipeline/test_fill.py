"""Filling a channel with what the seed lacks, from PyPI wheels (``channel fill``, ``build --fill``).

Real wheels from PyPI (fetched by ``python -m tests.fetch``) in a wheelhouse made in the test, the real
seed channel, real conversion and indexing, real rattler solves and installs, the real engine for the
build. Wheels made in the test only where a real one cannot show the case (a newer version to be passed
over because of the lock record, a wheel with other bytes, a project whose conda name differs).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from fastconda.channel.local import channel_url, file_sha256, list_packages
from fastconda.cli import ExitCode, main
from fastconda.errors import MissingRequirements
from fastconda.tools.rattler_missing import check_requirements
from tests.wheel.wheelmaker import make_wheel

#: requests (pure) brings certifi, idna, urllib3 (pure) and charset-normalizer (binary); none is in the seed
REQUESTS = ["requests==2.34.2", "certifi==2026.10.19.post1", "idna==3.20", "urllib3==2.8.0"]
BINARY = "charset-normalizer==3.5.3"
OLD_SETUPTOOLS = "setuptools==80.9.0"  # the seed has a newer one: `setuptools <81` is missing from it
FILLED = {"requests", "certifi", "idna", "urllib3", "charset-normalizer"}


@pytest.fixture
def wheelhouse(tmp_path: Path, real_wheel: Callable[[str], Path]) -> Path:
    house = tmp_path / "wheelhouse"
    house.mkdir()
    for requirement in [*REQUESTS, BINARY, OLD_SETUPTOOLS]:
        shutil.copy2(real_wheel(requirement), house)
    # a newer charset-normalizer for another CPython: never chosen for the seed's Python
    make_wheel(house, "charset_normalizer", "9.9.0", tag="cp39-cp39-manylinux_2_17_x86_64")
    return house


@pytest.fixture
def empty_wheel_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The wheel cache is searched first: empty, so that the wheelhouse is what the fill finds."""
    cache = tmp_path / "wheel-cache"
    cache.mkdir()
    monkeypatch.setenv("FASTCONDA_WHEEL_CACHE", str(cache))
    return cache


def _fill(
    channel: Path, seed_url: str, wheelhouse: Path, *requirements: str, extra: tuple[str, ...] = ()
) -> int:
    argv = ["--json", "channel", "fill", str(channel), *requirements, "-c", seed_url]
    return main([*argv, "--find-links", str(wheelhouse), "--offline", *extra])


def _names(channel: Path) -> dict[str, dict[str, str]]:
    return {r["name"]: r for r in list_packages(channel)}


@pytest.mark.usefixtures("empty_wheel_cache")
def test_fill_adds_pure_binary_and_transitive_dependencies_and_records_them(
    seed_url: str, wheelhouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    channel = tmp_path / "filled"
    code = _fill(channel, seed_url, wheelhouse, "requests >=2.30", "packaging")
    out = capsys.readouterr().out
    assert code == ExitCode.OK
    added = json.loads(out)["added"]
    assert {entry["package"].split("/")[1].rsplit("-", 2)[0] for entry in added} == FILLED
    packages = _names(channel)
    assert set(packages) == FILLED  # packaging: the seed has it, it is not shadowed by a copy
    binary = packages["charset-normalizer"]
    assert binary["subdir"] == "linux-64"
    assert binary["version"] == "3.5.3"  # not the newer wheel for CPython 3.9
    assert packages["requests"]["subdir"] == "noarch"
    record = json.loads((channel / "fill-lock.json").read_text())
    for entry in record["packages"]:
        assert entry["wheel_sha256"] == file_sha256(wheelhouse / entry["wheel"])
        assert entry["sha256"] == file_sha256(channel / entry["package"])
    assert {e["requirement"] for e in record["packages"]} >= {"requests >=2.30", "certifi >=2023.5.7"}

    before = sorted(p.name for p in channel.rglob("*.conda"))
    assert _fill(channel, seed_url, wheelhouse, "requests >=2.30", "packaging") == ExitCode.OK
    assert json.loads(capsys.readouterr().out)["added"] == []  # a second fill adds nothing
    assert sorted(p.name for p in channel.rglob("*.conda")) == before


@pytest.mark.usefixtures("empty_wheel_cache")
def test_a_version_the_seed_lacks_is_filled_and_installs_with_the_fill_channel_first(
    seed_url: str, seed_channel: Path, wheelhouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    channel = tmp_path / "filled"
    assert _fill(channel, seed_url, wheelhouse, "setuptools <81") == ExitCode.OK
    assert _names(channel)["setuptools"]["version"] == "80.9.0"
    sections = {"run": ["python", "setuptools <81"]}
    check_requirements(sections, [channel_url(channel), seed_url])  # the fill channel first: satisfied
    # the other order: the seed's setuptools hides the filled one from the engine, and the check says so
    with pytest.raises(MissingRequirements) as raised:
        check_requirements(sections, [seed_url, channel_url(channel)])
    assert f"{seed_url} has setuptools " in str(raised.value)
    assert f"hides 80.9.0 in {channel_url(channel)} (channel priority is strict)" in str(raised.value)
    capsys.readouterr()
    prefix = tmp_path / "env"
    argv = ["env", "create", str(prefix), "python", "setuptools <81"]
    assert main([*argv, "-c", str(channel), "-c", seed_url]) == ExitCode.OK
    version = subprocess.run(
        [prefix / "bin" / "python", "-c", "import setuptools; print(setuptools.__version__)"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert version == "80.9.0"


@pytest.mark.usefixtures("empty_wheel_cache")
def test_offline_fill_names_what_it_cannot_find_with_the_pip_command_and_adds_nothing(
    seed_url: str, wheelhouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    channel = tmp_path / "filled"
    code = _fill(channel, seed_url, wheelhouse, "requests", "absent-xyz-tool >=2", "pytango >=99")
    err = capsys.readouterr().err
    assert code == ExitCode.FAILURE, err
    assert "no wheel for CPython 3." in err
    assert "found for: absent-xyz-tool >=2, pytango >=99" in err
    assert f"wheelhouse {wheelhouse}" in err
    assert "pip download --no-deps --only-binary=:all: --python-version 3." in err
    assert "'absent-xyz-tool>=2' 'pytango>=99'" in err
    assert "nothing was added to the channel" in err
    assert list_packages(channel) == []  # requests was found, but nothing is added unless all are
    assert not (channel / "fill-lock.json").exists()
    assert "Traceback" not in err


@pytest.mark.usefixtures("empty_wheel_cache")
def test_the_record_makes_another_fill_take_the_same_wheels_and_refuses_other_bytes(
    seed_url: str, wheelhouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = tmp_path / "first"
    assert _fill(first, seed_url, wheelhouse, "idna") == ExitCode.OK
    record = first / "fill-lock.json"
    newer = tmp_path / "newer"
    newer.mkdir()
    shutil.copy2(wheelhouse / "idna-3.20-py3-none-any.whl", newer)
    make_wheel(newer, "idna", "99.0")
    capsys.readouterr()

    assert _fill(tmp_path / "free", seed_url, newer, "idna") == ExitCode.OK  # no record: the newest
    assert _names(tmp_path / "free")["idna"]["version"] == "99.0"
    again = tmp_path / "again"
    assert _fill(again, seed_url, newer, "idna", extra=("--lock", str(record))) == ExitCode.OK
    assert _names(again)["idna"]["sha256"] == _names(first)["idna"]["sha256"]  # the same package

    tampered = tmp_path / "tampered"
    tampered.mkdir()
    make_wheel(tampered, "idna", "3.20")  # the recorded file name, other bytes
    capsys.readouterr()
    code = _fill(tmp_path / "third", seed_url, tampered, "idna", extra=("--lock", str(record)))
    err = capsys.readouterr().err
    assert code == ExitCode.FAILURE
    assert "idna-3.20-py3-none-any.whl: sha256 " in err
    assert f"recorded in {record}" in err


@pytest.mark.usefixtures("empty_wheel_cache")
def test_a_name_map_finds_the_wheel_of_a_project_with_another_conda_name(
    seed_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    house = tmp_path / "house"
    house.mkdir()
    make_wheel(house, "tango_helper_lib", "1.4")
    names = tmp_path / "names.toml"
    names.write_text('"tango-helper-lib" = "facility-helper"\n')
    channel = tmp_path / "filled"
    assert _fill(channel, seed_url, house, "facility-helper >=1") == ExitCode.FAILURE  # no such project
    assert "found for: facility-helper >=1" in capsys.readouterr().err
    code = _fill(channel, seed_url, house, "facility-helper >=1", extra=("--name-map", str(names)))
    assert code == ExitCode.OK, capsys.readouterr().err
    assert _names(channel)["facility-helper"]["version"] == "1.4"


@pytest.mark.usefixtures("empty_wheel_cache")
def test_dependencies_that_conflict_after_the_fill_are_named_with_the_solvers_reason(
    seed_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """clash-app needs clash-a and clash-b; they need clash-core <1 and >=1: each wheel is found and
    converts, yet clash-app cannot be installed. The error says why (the solver's lines, which name
    clash-core), not only that something conflicts, and the channel stays as it was."""
    house = tmp_path / "house"
    house.mkdir()
    make_wheel(house, "clash_app", "1.0", metadata="Requires-Dist: clash-a\nRequires-Dist: clash-b\n")
    make_wheel(house, "clash_a", "1.0", metadata="Requires-Dist: clash-core<1\n")
    make_wheel(house, "clash_b", "1.0", metadata="Requires-Dist: clash-core>=1\n")
    for version in ("0.5", "1.5"):
        make_wheel(house, "clash_core", version)
    channel = tmp_path / "filled"
    assert _fill(channel, seed_url, house, "clash-app") == ExitCode.FAILURE
    err = capsys.readouterr().err
    assert "clash-app: still not satisfiable after the fill (its dependencies conflict)" in err, err
    assert "clash-core" in err.partition("its dependencies conflict")[2]
    assert "change or pin the requirements the solver names" in err
    assert "nothing was added to the channel" in err
    assert list_packages(channel) == []


def test_fill_without_requirements_or_project_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["channel", "fill", str(tmp_path / "c"), "-c", str(tmp_path)]) == ExitCode.USAGE
    assert "name the requirements to fill" in capsys.readouterr().err


SERVER = """
import charset_normalizer
import requests
from tango.server import Device, attribute, run


class NetSupply(Device):
    @attribute(dtype=str)
    def backend(self):
        return f"requests {requests.__version__} charset_normalizer {charset_normalizer.__version__}"


def main():
    run((NetSupply,))
"""


def _net_supply(root: Path) -> Path:
    """A PyTango server whose dependencies the seed lacks: pure, binary, transitive, a version."""
    (root / "netsupply").mkdir(parents=True)
    (root / "netsupply" / "__init__.py").write_text("")
    (root / "netsupply" / "server.py").write_text(SERVER)
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
        '[project]\nname = "net-supply"\nversion = "0.3.0"\nlicense = "MIT"\n'
        'dependencies = ["pytango", "requests>=2.30", "charset-normalizer>=3", "setuptools<81"]\n\n'
        '[project.scripts]\nNetSupply = "netsupply.server:main"\n\n'
        '[tool.hatch.build.targets.wheel]\npackages = ["netsupply"]\n'
    )
    return root


@pytest.mark.slow
@pytest.mark.usefixtures("empty_wheel_cache")
def test_build_with_fill_builds_a_server_whose_dependencies_the_seed_lacks(
    seed_url: str, wheelhouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _net_supply(tmp_path / "net-supply")
    output, filled = tmp_path / "out", tmp_path / "filled"
    base = ["build", str(project), "-c", seed_url, "-o", str(output), "--offline"]
    assert main(base) == ExitCode.FAILURE
    err = capsys.readouterr().err
    head = "error: requirements missing from the channels: "
    assert head + "requests >=2.30 (run), charset-normalizer >=3 (run), setuptools <81 (run)" in err
    assert "fastconda build --fill DIR" in err

    with_fill = [*base, "--fill", str(filled), "--find-links", str(wheelhouse)]
    code = main(["--json", *with_fill])
    out, err = capsys.readouterr()
    assert code == ExitCode.OK, err
    result = json.loads(out)
    assert any(n.startswith("filled ") and "with 6 packages from wheels" in n for n in result["notes"])
    assert set(_names(filled)) == {*FILLED, "setuptools"}
    assert any("NetSupply --help" in t["command"] and t["passed"] for t in result["tests"])

    second = [*with_fill, "-o", str(tmp_path / "out-2")]  # builds again, into another channel
    assert main(["--json", *second]) == ExitCode.OK  # and fills nothing
    again = json.loads(capsys.readouterr().out)
    assert not any(n.startswith("filled ") for n in again["notes"])
    assert "fill" not in again["phases"]

    prefix = tmp_path / "env"
    channels = ["-c", str(output), "-c", str(filled), "-c", seed_url]
    assert main(["env", "create", str(prefix), "net-supply", *channels]) == ExitCode.OK
    script = (
        "from tango.test_context import DeviceTestContext\n"
        "from netsupply.server import NetSupply\n"
        "with DeviceTestContext(NetSupply) as proxy:\n    print(proxy.backend)\n"
    )
    done = subprocess.run(
        [prefix / "bin" / "python", "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    # the device server's own "Ready to accept request" may come after the client's line
    assert "requests 2.34.2 charset_normalizer 3.5.3" in done.stdout.splitlines(), done.stderr


@pytest.mark.usefixtures("empty_wheel_cache")
def test_fill_for_a_project_takes_what_its_recipe_needs(
    seed_url: str, wheelhouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _net_supply(tmp_path / "net-supply")
    channel = tmp_path / "filled"
    assert _fill(channel, seed_url, wheelhouse, extra=("--project", str(project))) == ExitCode.OK
    assert set(_names(channel)) == {*FILLED, "setuptools"}  # pytango, python, pip: the seed has them


def _sdist(folder: Path, project: Path) -> Path:
    """A source distribution of *project* as PyPI serves one: ``name-version.tar.gz``, one top folder."""
    target = folder / f"{project.name}.tar.gz"
    with tarfile.open(target, "w:gz") as archive:
        archive.add(project, arcname=project.name)
    return target


@pytest.mark.slow
def test_a_dependency_with_only_an_sdist_is_built_with_its_own_dependencies_filled(
    seed_url: str,
    wheelhouse: Path,
    real_sdist: Callable[[str], Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # tango-relay: published as an sdist only; it needs requests (wheels) and six (a real sdist, no wheel)
    relay = tmp_path / "src" / "tango_relay-0.1.0"
    (relay / "tango_relay").mkdir(parents=True)
    (relay / "tango_relay" / "__init__.py").write_text("import requests, six\nVERSION = '0.1.0'\n")
    (relay / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
        '[project]\nname = "tango-relay"\nversion = "0.1.0"\nlicense = "MIT"\n'
        'dependencies = ["requests>=2.30", "six"]\n'
    )
    for path in wheelhouse.glob("setuptools-*"):
        path.unlink()  # the seed's setuptools builds six
    _sdist(wheelhouse, relay)
    shutil.copy2(real_sdist("six==1.17.0"), wheelhouse)
    channel = tmp_path / "filled"
    code = _fill(channel, seed_url, wheelhouse, "tango-relay")
    out, err = capsys.readouterr()
    assert code == ExitCode.OK, err
    added = {e["package"].split("/")[1].rsplit("-", 2)[0]: e for e in json.loads(out)["added"]}
    assert set(added) == {"tango-relay", "six", *FILLED}
    assert added["tango-relay"]["wheel"] == "tango_relay-0.1.0.tar.gz"
    assert added["six"]["wheel"] == "six-1.17.0.tar.gz"  # built by the nested fill of tango-relay's build
    assert added["requests"]["wheel"] == "requests-2.34.2-py3-none-any.whl"
    record = json.loads((channel / "fill-lock.json").read_text())
    assert {e["package"] for e in record["packages"]} == {e["package"] for e in added.values()}
    packages = _names(channel)
    assert packages["six"]["version"] == "1.17.0"
    assert packages["tango-relay"]["subdir"] == "noarch"

    prefix = tmp_path / "env"
    assert main(["env", "create", str(prefix), "tango-relay", "-c", str(channel), "-c", seed_url]) == 0
    script = "import tango_relay, six; print(tango_relay.VERSION, six.__version__)"
    done = subprocess.run(
        [prefix / "bin" / "python", "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.stdout.strip() == "0.1.0 1.17.0", done.stderr

    capsys.readouterr()
    assert _fill(channel, seed_url, wheelhouse, "tango-relay") == ExitCode.OK
    assert json.loads(capsys.readouterr().out)["added"] == []  # a second fill adds (and builds) nothing
