"""The ``--via wheel`` route: the migrated Pogo example → scikit-build-core wheel → .conda, installed and run.

Real parts only: the cxx seed channel (cpptango from Debian's .debs), scikit-build-core with cmake and ninja
from their PyPI wheels (the wheel cache), the host's g++, rattler. The projects are built from stable folders
in ``.cache/test-cxx-wheel`` so that the cached build trees make later sessions incremental (~2 s).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from fastconda.channel.local import add_packages
from fastconda.cxx.migrate import migrate
from fastconda.cxx.recipe_route import read_server
from fastconda.cxx.wheel_route import WheelRoute, build_server_package
from fastconda.errors import BuildFailed
from fastconda.settings import Caches, load_settings
from fastconda.templates import template_path
from fastconda.tools.rattler import create_environment
from tests.conftest import CACHE, needs_debian
from tests.wheel.wheelmaker import read_conda

from .conftest import EXAMPLE

pytestmark = [pytest.mark.slow, needs_debian]

PROJECTS = CACHE / "test-cxx-wheel"


def _migrated_example(name: str) -> Path:
    """A migrated copy of the Pogo example in a stable folder (its build tree is cached by path)."""
    root = PROJECTS / name / "PowerMeter"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(EXAMPLE, root)
    migrate(root)
    return root


def _build(root: Path, channel: Path, work: Path) -> WheelRoute:
    settings = load_settings(overrides={"offline": os.environ.get("FASTCONDA_OFFLINE", "") or None})
    return build_server_package(
        read_server(root),
        channels=[str(channel)],
        work=work,
        caches=Caches.of(settings),
    )


@pytest.fixture(scope="module")
def route(cxx_channel: Path, tmp_path_factory: pytest.TempPathFactory) -> WheelRoute:
    return _build(_migrated_example("good"), cxx_channel, tmp_path_factory.mktemp("work"))


def test_wheel_holds_only_the_server_for_any_python(route: WheelRoute) -> None:
    assert route.wheel.name == "powermeter-1.2-py3-none-linux_x86_64.whl"
    names = zipfile.ZipFile(route.wheel).namelist()
    assert [n for n in names if ".dist-info/" not in n] == ["powermeter-1.2.data/data/bin/PowerMeter"]
    assert set(route.phases) == {"env", "wheel", "convert"}


def test_package_depends_on_the_tango_it_was_built_against_not_python(route: WheelRoute) -> None:
    index = read_conda(route.package).json("index.json")
    assert index["subdir"] == "linux-64"
    glibc = str(os.confstr("CS_GNU_LIBC_VERSION")).split()[1]  # the host's: its compiler built the server
    assert index["depends"] == [f"__glibc >={glibc},<3.0.a0", "cpptango >=9.3.4,<9.4"]
    assert "noarch" not in index
    assert "license" not in index  # the example has no licence file: no licence is made up
    assert not [name for name in read_conda(route.package).info if name.startswith("info/licenses/")]


def test_installed_server_links_the_env_tango_and_passes_the_package_test(
    route: WheelRoute, cxx_channel: Path, tmp_path: Path
) -> None:
    local = tmp_path / "channel"
    add_packages(local, [route.package])
    env = create_environment(
        tmp_path / "env", ["powermeter"], channels=[local.resolve().as_uri(), cxx_channel.resolve().as_uri()]
    )
    server = env.prefix / "bin" / "PowerMeter"
    clean = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    ldd = subprocess.run(["ldd", server], capture_output=True, text=True, check=True, env=clean).stdout
    tango = [line for line in ldd.splitlines() if "libtango.so" in line]
    assert tango, ldd
    found = Path(tango[0].split("=>")[1].split("(")[0].strip())  # env/bin/../lib/libtango.so.9: RPATH $ORIGIN
    assert found.resolve().parent == (env.prefix / "lib").resolve(), ldd
    assert "not found" not in ldd, ldd
    check = template_path("recipe", "cxx/tango_server_check.sh")
    done = subprocess.run(
        ["bash", check, "PowerMeter"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=tmp_path,
        env={**clean, "PATH": f"{env.prefix / 'bin'}:{os.environ['PATH']}"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ready to accept requests" in done.stdout


def test_broken_source_fails_with_the_compiler_error(cxx_channel: Path, tmp_path: Path) -> None:
    root = _migrated_example("broken")
    sensor = root / "PowerSensor.cpp"
    sensor.write_text(sensor.read_text() + "\nint broken( {\n", encoding="utf-8")
    with pytest.raises(BuildFailed) as failed:
        _build(root, cxx_channel, tmp_path / "work")
    assert failed.value.phase == "wheel"
    # the compiler's error line, naming the project's file (not the scratch copy's)
    assert re.search(rf"{re.escape(str(sensor))}:\d+:\d+: error: ", failed.value.reason), failed.value.reason
    assert "error:" in failed.value.reason
    assert set(failed.value.phases) == {"env", "wheel"}
