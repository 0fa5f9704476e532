"""Real Pogo servers, as cppTango 9.3.4 ships them (Debian's ``tango`` source package, ``cppserver/``).

``python -m tests.fetch_pogo`` gets the source package (nothing of it is committed). None of these servers
has Pogo's Makefile: cppTango builds them with automake and hand-written CMake files, and keeps their
``.xmi`` (Starter and TangoAccessControl also Pogo's own CMakeLists.txt). ``pogo-migrate`` reads them from
the ``.xmi``; the one thing it cannot know is the version, and it says so (the only warning, a true one).

All four build against the cxx seed channel: TangoTest and Starter against its cpptango, DataBase and
TangoAccessControl also against its MySQL client library (``mariadb-connector-c``, which the migration finds
in their sources and flags); TangoAccessControl compiles the AccessControl class it inherits from the folder
beside it (``../AbstractClasses``, its repository's layout). Without a MySQL server, those two stop in their
device's initialisation with a Tango exception (CANNOT_CONNECT_MYSQL): the start check passes with that note.
The builds are the real engine's, the package tests the ones the packages carry, the installs rattler's,
and TangoTest is started with -nodb and read from a PyTango client. Each server is built once per route
and session, 15-30 s each on 2 cores; DataBase only by the recipe route (TangoAccessControl takes the
MySQL library through both, and the wheel route has nothing else of DataBase's to test).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from fastconda.cli import ExitCode, main
from fastconda.cxx.makefile import group
from fastconda.cxx.migrate import migrate
from fastconda.errors import BuildFailed
from fastconda.pipeline.build import build_project
from fastconda.pipeline.options import BuildResult
from fastconda.tools.rattler import create_environment
from tests.conftest import needs, needs_debian
from tests.fetch_pogo import DSC, ROOT, SERVERS, UNAVAILABLE, dsc_files, is_ready, verify
from tests.helpers import build_options
from tests.wheel.wheelmaker import read_conda

from .conftest import start_nodb

needs_servers = needs(
    ""
    if is_ready()
    else "Debian's tango source package is not in the test cache ("
    + (UNAVAILABLE.read_text().strip() if UNAVAILABLE.is_file() else "never fetched")
    + "): run `python -m tests.fetch_pogo` while online"
)
pytestmark = [needs_servers]


@dataclasses.dataclass(frozen=True)
class Server:
    folder: str  # under cppserver/
    name: str
    version: str  # what the user passes after reading the warning: the version the project states elsewhere
    hint: str = "--version X.Y"  # what the warning suggests
    #: what the start check notes when the server stops in its device's initialisation (no hardware,
    #: the wrong host): a Tango exception, which passes with that note; "" when it becomes ready
    start_note: str = ""
    mysql: bool = False  # built against MySQL's client library
    routes: tuple[str, ...] = ("recipe", "wheel")  # the routes the slow tests build it by
    executable: str = ""  # what its Makefile.am builds, when that is not the class name

    @property
    def program(self) -> str:
        return self.executable or self.name


TANGOTEST = Server(
    "tangotest", "TangoTest", "3.0"
)  # its hand-written CMakeLists.txt: project(... VERSION 3.0)
STARTER = Server(
    "starter",
    "Starter",
    "7.3",
    hint="--version 7.3 (CHANGELOG.md's newest entry)",
    # it segfaults under -nodb (it reads properties through get_database(), NULL without a database);
    # with Tango's file database it starts and stops in init_device: it must run on its own host
    start_note="This server must run on",
)
# no MySQL server here: both stop in init_device with the Tango exception CANNOT_CONNECT_MYSQL
NO_MYSQL = "CANNOT_CONNECT_MYSQL: Failed to connect to TANGO database"
DATABASE = Server(  # its CMakeLists.txt: MAJOR_VERSION 5, MINOR_VERSION 16
    "database",
    "DataBase",
    "5.16",
    start_note=NO_MYSQL,
    mysql=True,
    routes=("recipe",),
    executable="DataBaseds",  # its Makefile.am's bin_PROGRAMS
)
ACCESS = Server("tangoaccesscontrol", "TangoAccessControl", "2.1", start_note=NO_MYSQL, mysql=True)
BUILDABLE = (TANGOTEST, STARTER, DATABASE, ACCESS)
BUILDS = [pytest.param(s, r, id=f"{s.name}-{r}") for s in BUILDABLE for r in s.routes]


def copy_server(server: Server, parent: Path) -> Path:
    """*server*'s folder copied under *parent*; TangoAccessControl laid out as in its own repository
    (the class it inherits in ``../AbstractClasses``, where its .xmi and Pogo's CMakeLists look)."""
    root = Path(shutil.copytree(SERVERS / server.folder, parent / server.name))
    if server is ACCESS:
        shutil.copytree(SERVERS / "AbstractClass" / "AccessControl", parent / "AbstractClasses")
    return root


def version_warning(server: Server) -> str:
    return (
        f"{server.name}.xmi: no Makefile, so no MAJOR_VERS/MINOR_VERS (none in the .xmi or a git tag: "
        f"used 0.1.0; pass {server.hint})"
    )


def test_fetched_files_are_checked_against_the_pinned_dsc(tmp_path: Path) -> None:
    """The fetch step keeps only what verifies: the pinned .dsc, and each file with the .dsc's size and sha256
    (a copy of the .dsc and the small Debian tarball here; the upstream tarball replaced by a wrong one)."""
    downloads = ROOT / "downloads"
    assert verify(downloads) == ""
    shutil.copy(downloads / DSC, tmp_path / DSC)
    for name, size, _ in dsc_files(downloads / DSC):
        if ".orig." in name:
            (tmp_path / name).write_bytes(b"\0" * size)  # the right size, not the right bytes
        else:
            shutil.copy(downloads / name, tmp_path / name)
    assert verify(tmp_path).endswith(f"does not match the size and sha256 in {DSC}")
    (tmp_path / DSC).write_text((downloads / DSC).read_text().replace("Version:", "Version: 1"))
    assert "not the pinned" in verify(tmp_path)


@pytest.mark.parametrize("server", [TANGOTEST, STARTER, DATABASE, ACCESS], ids=lambda s: s.name)
def test_migration_warns_only_of_the_missing_version(server: Server, tmp_path: Path) -> None:
    root = copy_server(server, tmp_path)
    # cppTango's own CMakeLists.txt (not Pogo's) must be replaced on purpose; Pogo's is moved aside
    first = migrate(root, force=True)
    assert group([u for u in first.unmapped if u.affects_build]) == [version_warning(server)]
    assert first.project.spec.version == "0.1.0"
    again = migrate(root, version=server.version)
    assert [u for u in again.unmapped if u.affects_build] == []
    assert again.project.spec.version == server.version
    assert (
        migrate(root, version=server.version).changed is False
    )  # idempotent, Pogo's CMakeLists aside or not


def test_migration_takes_the_sources_from_the_xmi_and_pogos_cmakelists(tmp_path: Path) -> None:
    starter = migrate(copy_server(STARTER, tmp_path), version=STARTER.version)
    assert starter.backup is not None and starter.backup.name == "CMakeLists.txt.pogo"
    # the .xmi's additionalFiles; Pogo's CMakeLists.txt lists the same
    assert sorted(starter.project.spec.sources) == sorted(
        ["Starter.cpp", "StarterClass.cpp", "StarterStateMachine.cpp", "CheckProcessUtil.cpp",
         "PingThread.cpp", "StarterUtil.cpp", "StartProcessThread.cpp", "ClassFactory.cpp", "main.cpp"]
    )  # fmt: skip
    access = migrate(copy_server(ACCESS, tmp_path), version=ACCESS.version)
    assert access.project.parents == ("AccessControl",)
    assert "../AbstractClasses/AccessControl.cpp" in access.project.spec.sources
    assert "DbUtils.cpp" in access.project.spec.sources
    # Pogo's CMakeLists.txt: USER_LIBS mysqlclient_r, USER_INCL_DIR /usr/include/mysql, USER_LIB_DIR
    # /usr/lib/x86_64-linux-gnu: MySQL's client library, found with pkg-config instead
    spec = access.project.spec
    assert (spec.libraries, spec.link_libraries, spec.include_dirs) == (
        ("mysql",),
        (),
        ("../AbstractClasses",),
    )
    assert spec.link_dirs == ()
    assert any("(-lmysqlclient_r)" in note for note in access.project.notes)


def test_database_needs_mysql_for_its_include_of_mysql_h(tmp_path: Path) -> None:
    database = migrate(copy_server(DATABASE, tmp_path), version=DATABASE.version, force=True)
    assert database.project.spec.libraries == ("mysql",)
    assert any("#include <mysql.h> in DataBase.h" in note for note in database.project.notes)
    assert "pkg_search_module(MYSQL REQUIRED IMPORTED_TARGET mysqlclient libmariadb)" in database.text
    # no Pogo Makefile: the name its users run is automake's (bin_PROGRAMS=DataBaseds), not the class's
    assert database.project.spec.executable == "DataBaseds"
    said = "Makefile.am: bin_PROGRAMS = DataBaseds: the executable is built as DataBaseds"
    assert said in database.project.notes
    starter = migrate(copy_server(STARTER, tmp_path), version=STARTER.version, force=True)
    assert starter.project.spec.executable == "Starter"  # the same name: nothing to say
    assert not any("bin_PROGRAMS" in note for note in starter.project.notes)


def test_migration_in_debians_layout_says_the_inherited_class_is_missing(tmp_path: Path) -> None:
    # two levels of its own: the search for the class near the project sees no other test's files
    root = Path(shutil.copytree(SERVERS / ACCESS.folder, tmp_path / "a" / "b" / "tangoaccesscontrol"))
    warnings = group([u for u in migrate(root, version=ACCESS.version).unmapped if u.affects_build])
    assert warnings == [
        "TangoAccessControl.xmi: inherits AccessControl (sourcePath '../AbstractClasses') (the parent "
        "class's sources were not found: add them to the CMakeLists.txt)"
    ]  # true: Debian moved it to ../AbstractClass/AccessControl, and the build would not link


def test_migration_in_debians_layout_finds_the_inherited_class_in_its_new_folder(tmp_path: Path) -> None:
    """The .xmi's sourcePath (../AbstractClasses) is the upstream layout; Debian's source package has
    the class in ../AbstractClass/AccessControl. The one folder near the project that holds
    AccessControl.h and its source is taken, and the note says which; two such folders are not
    guessed between."""
    cppserver = tmp_path / "source" / "cppserver"  # the search goes two levels up: to source/
    root = Path(shutil.copytree(SERVERS / ACCESS.folder, cppserver / "tangoaccesscontrol"))
    shutil.copytree(SERVERS / "AbstractClass", cppserver / "AbstractClass")
    migrated = migrate(root, version=ACCESS.version)
    assert [u for u in migrated.unmapped if u.affects_build] == []
    spec = migrated.project.spec
    assert "../AbstractClass/AccessControl" in spec.include_dirs
    assert "../AbstractClass/AccessControl/AccessControl.cpp" in spec.sources
    assert (
        "inherits AccessControl: sourcePath '../AbstractClasses' does not exist here; its sources are "
        "taken from ../AbstractClass/AccessControl"
    ) in migrated.project.notes
    shutil.copytree(cppserver / "AbstractClass", cppserver.parent / "AbstractClass")  # a second copy
    again = migrate(root, version=ACCESS.version, force=True)
    warnings = group([u for u in again.unmapped if u.affects_build])
    assert len(warnings) == 1 and "found in several folders: " in warnings[0], warnings
    assert "../../AbstractClass/AccessControl, ../AbstractClass/AccessControl" in warnings[0]


def test_cli_exit_status_says_whether_anything_is_left(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = copy_server(TANGOTEST, tmp_path)
    assert main(["pogo-migrate", str(root), "--force"]) == ExitCode.WARNINGS
    assert (
        "no version in the .xmi or a git tag, 5 sources); 1 construct(s) not migrated"
        in capsys.readouterr().out
    )
    assert main(["pogo-migrate", str(root), "--version", TANGOTEST.version]) == ExitCode.OK
    assert f"server TangoTest {TANGOTEST.version} from --version, 5 sources" in capsys.readouterr().out


# --- built by both routes: slow ------------------------------------------------------------------------

ROUTES = ("recipe", "wheel")


@pytest.fixture(scope="module")
def build(
    cxx_channel: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[Server, str], BuildResult]:
    """``build(server, route)``: the server migrated and built into a channel of its own, once per module."""
    done: dict[tuple[str, str], BuildResult | BuildFailed] = {}

    def get(server: Server, route: str) -> BuildResult:
        key = (server.name, route)
        if key not in done:
            scratch = tmp_path_factory.mktemp(f"{server.name}-{route}")
            root = copy_server(server, scratch)
            migrate(root, version=server.version, force=True)
            output = scratch / "channel"
            options = build_options((cxx_channel.resolve().as_uri(),), output, via=route)
            try:
                done[key] = build_project(root, options)
            except BuildFailed as exc:
                done[key] = exc
        result = done[key]
        if isinstance(result, BuildFailed):
            pytest.fail(f"{server.name} by the {route} route: {result}", pytrace=False)
        return result

    return get


def _install(result: BuildResult, cxx_channel: Path, prefix: Path) -> Path:
    channels = [result.package.parent.parent.resolve().as_uri(), cxx_channel.resolve().as_uri()]
    create_environment(prefix, [result.name], channels=channels)
    return prefix / "bin"


@pytest.mark.slow
@needs_debian
@pytest.mark.parametrize(("server", "route"), BUILDS)
def test_builds_offline_and_its_package_tests_pass(
    server: Server, route: str, build: Callable[[Server, str], BuildResult], cxx_channel: Path, tmp_path: Path
) -> None:
    result = build(server, route)
    assert (result.name, result.version) == (server.name.lower(), server.version)
    depends = read_conda(result.package).json("index.json")["depends"]
    assert any(d.startswith("cpptango >=9.3.4") for d in depends), depends
    assert any(d.startswith("mariadb-connector-c >=3.") for d in depends) == server.mysql, depends
    check = f"bash tango_server_check.sh {server.program}"
    assert [(t.command, t.passed) for t in result.tests] == [(check, True)]
    notes = [n for n in result.notes if "Tango exception" in n]  # the start check's
    if server.start_note:
        assert len(notes) == 1 and server.start_note in notes[0], result.notes
    else:
        assert not notes, result.notes


@pytest.mark.slow
@needs_debian
@pytest.mark.parametrize(("server", "route"), BUILDS)
def test_installed_server_answers_help(
    server: Server, route: str, build: Callable[[Server, str], BuildResult], cxx_channel: Path, tmp_path: Path
) -> None:
    bin_dir = _install(build(server, route), cxx_channel, tmp_path / "env")
    env = {k: v for k, v in os.environ.items() if k not in {"LD_LIBRARY_PATH", "TANGO_HOST"}}
    done = subprocess.run(
        [bin_dir / server.program, "--help"], capture_output=True, text=True, timeout=60, env=env, check=False
    )
    assert "usage" in (done.stdout + done.stderr).lower(), done.stdout + done.stderr


TANGOTEST_CLIENT = """
import sys, tango
device = tango.DeviceProxy(sys.argv[1])
device.ampli = 2.5
print(device.state(), device.ampli, len(device.double_spectrum_ro), device.long_scalar_w)
"""


@pytest.mark.slow
@needs_debian
@pytest.mark.parametrize("route", ROUTES)
def test_installed_tangotest_starts_and_answers_a_pytango_client(
    route: str,
    build: Callable[[Server, str], BuildResult],
    cxx_channel: Path,
    pytango_python: Path,
    tmp_path: Path,
) -> None:
    bin_dir = _install(build(TANGOTEST, route), cxx_channel, tmp_path / "env")
    env = {k: v for k, v in os.environ.items() if k not in {"LD_LIBRARY_PATH", "TANGO_HOST"}}
    with start_nodb(bin_dir / "TangoTest", tmp_path / "server.log", env=env) as device:
        done = subprocess.run(
            [pytango_python, "-c", TANGOTEST_CLIENT, device],
            capture_output=True, text=True, timeout=60, env=env, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    state, ampli, length, _ = done.stdout.split()
    assert (state, float(ampli)) == ("RUNNING", 2.5)
    assert int(length) > 0
