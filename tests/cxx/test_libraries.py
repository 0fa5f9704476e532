"""Libraries besides Tango (the MySQL client library of TangoDatabase and TangoAccessControl).

The migration finds them in a Pogo project's sources, flags or ``host-requires`` setting and writes a
pkg-config lookup; the build reads the lookup back and adds the conda package to the host requirements
(checked here in the recipe it writes, and for a server compiling files beside its folder, the recipe's
sources). The real builds of servers that need MySQL's client library are in test_real_pogo.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from fastconda.cxx.libraries import detect, host_requirements
from fastconda.cxx.migrate import migrate
from fastconda.cxx.recipe_route import read_server, write_server_recipe
from fastconda.errors import ProjectError

LOOKUP = "pkg_search_module(MYSQL REQUIRED IMPORTED_TARGET mysqlclient libmariadb)"


def _include_mysql(project: Path) -> None:
    header = project / "PowerSensor.h"
    header.write_text("#include <mysql.h>\n" + header.read_text(encoding="utf-8"), encoding="utf-8")


def test_a_header_including_mysql_h_gives_a_pkg_config_lookup_and_a_host_requirement(
    pogo_project: Path,
) -> None:
    _include_mysql(pogo_project)
    result = migrate(pogo_project)
    assert result.project.spec.libraries == ("mysql",)
    assert LOOKUP in result.text
    assert "target_link_libraries(PowerMeter PRIVATE ${TANGO_TARGET} PkgConfig::MYSQL m)" in result.text
    (note,) = [n for n in result.project.notes if "MySQL" in n]
    assert "#include <mysql.h> in PowerSensor.h" in note and "mariadb-connector-c" in note
    server = read_server(pogo_project)
    assert server.lookups == (("mariadb-connector-c", "mysqlclient"),)
    assert server.host_requirements() == ("mariadb-connector-c",)
    assert server.host_note() == (
        "built against mariadb-connector-c (pkg-config mysqlclient in CMakeLists.txt) besides cpptango"
    )


def test_makefile_flags_of_the_library_become_its_pkg_config_target(pogo_project: Path) -> None:
    makefile = pogo_project / "Makefile"
    text = makefile.read_text(encoding="utf-8")
    text = text.replace("LFLAGS_USR = -lm", "LFLAGS_USR = -lm -lmysqlclient_r")
    text = text.replace("LIB_DIR_USER=\n", "LIB_DIR_USER= -L/usr/lib/x86_64-linux-gnu\n")
    text = text.replace("INC_DIR_USER= -I .", "INC_DIR_USER= -I . -I/usr/include/mysql")
    makefile.write_text(text, encoding="utf-8")
    result = migrate(pogo_project)
    spec = result.project.spec
    assert (spec.libraries, spec.link_libraries, spec.include_dirs, spec.link_dirs) == (
        ("mysql",),
        ("m",),
        (),
        (),
    )
    assert [u for u in result.unmapped if u.affects_build] == []
    notes = " | ".join(result.project.notes)
    assert (
        "(-lmysqlclient_r): found with pkg-config mysqlclient or libmariadb (instead of -lmysqlclient_r"
        in notes
    )
    assert "-L/usr/lib/x86_64-linux-gnu: the linker's own folder(s), left out" in notes


def test_host_requires_in_fastconda_toml_names_what_cannot_be_detected(pogo_project: Path) -> None:
    (pogo_project / "fastconda.toml").write_text('host-requires = ["mariadb-connector-c"]\n')
    result = migrate(pogo_project)
    assert LOOKUP in result.text
    assert any("(host-requires)" in n for n in result.project.notes)
    server = read_server(pogo_project)
    # a package fastconda has no lookup for is passed on as it is, after the detected ones
    assert server.host_requirements(("mariadb-connector-c", "libmodbus")) == (
        "mariadb-connector-c",
        "libmodbus",
    )
    assert server.host_note(("libmodbus",)).endswith("libmodbus (host-requires) besides cpptango")


def test_only_real_lookups_count() -> None:
    assert host_requirements("# pkg_check_modules(M mysqlclient)\nproject(X)\n") == {}
    text = "pkg_check_modules(DB REQUIRED IMPORTED_TARGET libmariadb>=3.1)\npkg_check_modules(T tango)\n"
    assert host_requirements(text) == {"mariadb-connector-c": "libmariadb>=3.1"}
    assert detect([], ["m"], ["/opt/include"]) == []


def test_recipe_holds_the_library_and_the_folder_beside_the_server(tmp_path: Path) -> None:
    """A server compiling ``../Shared/Parent.cpp`` (TangoAccessControl's ``../AbstractClasses``): the recipe
    copies both folders in their layout and configures the server's."""
    server_dir, shared = tmp_path / "Server", tmp_path / "Shared"
    server_dir.mkdir()
    shared.mkdir()
    (shared / "Parent.cpp").write_text("int parent;\n")
    (server_dir / "CMakeLists.txt").write_text(
        f"project(Server VERSION 1.2)\n{LOOKUP}\n"
        "add_executable(Server main.cpp ../Shared/Parent.cpp)\n"
        "target_include_directories(Server PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/../Shared)\n"
    )
    server = read_server(server_dir)
    assert (server.outside, server.subdir) == (("../Shared",), "Server")
    recipe = YAML(typ="safe").load(
        write_server_recipe(server, tmp_path / "recipe", host=server.host_requirements())
    )
    assert recipe["requirements"]["host"] == ["cpptango", "mariadb-connector-c"]
    assert [(s["path"], s["target_directory"]) for s in recipe["source"]] == [
        ("${{ source_dir }}", "Server"),
        (str(shared), "Shared"),
    ]
    assert recipe["context"]["cmake_source"] == "Server"


@pytest.mark.parametrize(
    ("written", "error"),
    [
        ("../Gone/Parent.cpp", r"CMakeLists.txt:2: names ../Gone, which does not exist"),
        (
            "../../../far/Parent.cpp",
            r"CMakeLists.txt:2: ../../../far is more than 2 folders above the project",
        ),
    ],
)
def test_a_path_beside_the_server_that_cannot_be_taken_is_a_clear_error(
    written: str, error: str, tmp_path: Path
) -> None:
    root = tmp_path / "a" / "b" / "Server"
    root.mkdir(parents=True)
    (root / "CMakeLists.txt").write_text(
        f"project(Server VERSION 1.0)\nadd_executable(Server main.cpp {written})\n"
    )
    with pytest.raises(ProjectError, match=error):
        read_server(root)
