"""pogo-migrate: Pogo Makefile + .xmi → a Pogo-free CMakeLists.txt; the report of what did not map."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from fastconda.cli import main
from fastconda.cxx.migrate import migrate
from fastconda.cxx.pogo import MARKER, read_project
from fastconda.errors import TangoError

from .conftest import EXAMPLE


def _cli(*argv: str) -> tuple[int, str, str]:
    import contextlib

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_example_maps_every_makefile_construct(pogo_project: Path) -> None:
    project = read_project(pogo_project)
    assert project.unmapped == ()
    assert project.class_name == "PowerMeter"
    spec = project.spec
    assert (spec.name, spec.version, spec.build_type) == ("PowerMeter", "1.2", "Release")
    assert spec.sources == (
        "PowerMeter.cpp",
        "PowerMeterClass.cpp",
        "PowerMeterStateMachine.cpp",
        "ClassFactory.cpp",
        "main.cpp",
        "PowerSensor.cpp",
    )
    assert spec.definitions == ("POWERMETER_SIMULATION",)
    assert spec.compile_options == ("-Wall",)
    assert spec.link_libraries == ("m",)
    assert any("tango.opt" in note for note in project.notes)


def test_migration_writes_cmakelists_leaves_sources_alone_and_is_idempotent(pogo_project: Path) -> None:
    before = {p.name: p.read_bytes() for p in pogo_project.iterdir()}
    first = migrate(pogo_project)
    assert first.written
    text = (pogo_project / "CMakeLists.txt").read_text()
    assert text.splitlines()[0].startswith(f"# {MARKER}")
    assert "find_package(Tango CONFIG QUIET)" in text
    assert "pkg_check_modules(TANGO QUIET IMPORTED_TARGET tango)" in text
    assert "project(PowerMeter VERSION 1.2 LANGUAGES CXX)" in text
    assert "MAKE_ENV" not in text
    assert {p.name: p.read_bytes() for p in pogo_project.iterdir() if p.name != "CMakeLists.txt"} == before
    second = migrate(pogo_project)
    assert (second.written, second.changed) == (False, False)
    assert (pogo_project / "CMakeLists.txt").read_text() == text


def test_dry_run_prints_the_file_and_writes_nothing(pogo_project: Path) -> None:
    code, out, _ = _cli("pogo-migrate", str(pogo_project), "--dry-run")
    assert code == 0
    assert "add_executable(PowerMeter" in out
    assert not (pogo_project / "CMakeLists.txt").exists()


def test_unmappable_makefile_constructs_are_reported_with_lines_and_exit_3(pogo_project: Path) -> None:
    makefile = pogo_project / "Makefile"
    makefile.write_text(
        makefile.read_text()
        + "\nifeq ($(shell hostname),lab1)\nEXTRA_FLAGS = -DLINUX\nendif\n"
        + "LFLAGS_USR += -Xlinker-magic\n"
        + "install:\n\tcp bin/PowerMeter /opt/tango/bin\n"
        + "include $(HOME)/site.mk\n"
    )
    code, out, err = _cli("--json", "pogo-migrate", str(pogo_project))
    assert code == 3
    report = json.loads(out)
    reasons = {(item["text"].split()[0], item["reason"].split()[0]) for item in report["unmapped"]}
    assert ("ifeq", "condition") in reasons  # undecidable without make: reported once
    assert ("EXTRA_FLAGS", "variable") in reasons
    assert ("-Xlinker-magic", "flag") in reasons
    install = next(item for item in report["unmapped"] if item["text"].startswith("install:"))
    assert install["end_line"] == install["line"] + 1  # the rule with its recipe, one construct
    assert ("include", "include") in reasons
    assert "not migrated: Makefile:" in err
    assert report["written"]  # done with warnings: the file is there, the report says what is missing


def test_non_pogo_directory_is_a_clear_error(tmp_path: Path) -> None:
    code, _, err = _cli("pogo-migrate", str(tmp_path))
    assert code == 1
    assert "is not a Pogo project: it has no Makefile" in err
    (tmp_path / "Makefile").write_text("all:\n\tgcc -o hello hello.c\n")
    code, _, err = _cli("pogo-migrate", str(tmp_path))
    assert code == 1
    assert "is not a Pogo Makefile" in err


def test_pogo_own_cmakelists_is_moved_aside_but_a_handwritten_one_is_kept(pogo_project: Path) -> None:
    pogo_cmake = "cmake_minimum_required(VERSION 3.0)\ninclude(${MAKE_ENV}/cmake_tango.opt)\n"
    (pogo_project / "CMakeLists.txt").write_text(pogo_cmake)
    result = migrate(pogo_project)
    assert result.backup == pogo_project / "CMakeLists.txt.pogo"
    assert result.backup.read_text() == pogo_cmake
    (pogo_project / "CMakeLists.txt").write_text("project(Mine)\n")
    with pytest.raises(TangoError, match="not written by fastconda pogo-migrate"):
        migrate(pogo_project)
    assert migrate(pogo_project, force=True).written


def test_inherited_pogo_class_brings_its_sources_and_include_folder(tmp_path: Path) -> None:
    project = Path(shutil.copytree(EXAMPLE, tmp_path / "PowerMeter"))
    parent = tmp_path / "AbstractMeter"
    parent.mkdir()
    for stem in ("AbstractMeter", "AbstractMeterClass", "AbstractMeterStateMachine"):
        (parent / f"{stem}.cpp").write_text("// parent\n")
    xmi = project / "PowerMeter.xmi"
    xmi.write_text(
        xmi.read_text().replace(
            '<inheritances classname="Device_Impl" sourcePath=""/>',
            '<inheritances classname="Device_Impl" sourcePath=""/>\n'
            '      <inheritances classname="AbstractMeter" sourcePath="../AbstractMeter"/>',
        )
    )
    result = read_project(project)
    assert result.parents == ("AbstractMeter",)
    assert "../AbstractMeter" in result.spec.include_dirs
    assert "../AbstractMeter/AbstractMeterClass.cpp" in result.spec.sources
    shutil.rmtree(parent)
    assert any("AbstractMeter" in u.text for u in read_project(project).unmapped)


def test_project_without_makefile_is_read_from_its_xmi(pogo_project: Path) -> None:
    """cppTango's own servers keep only the .xmi of Pogo's files: the .xmi names what Pogo's Makefile would
    compile (the class's files, additionalFiles with the path of the host Pogo ran on, ClassFactory, main)."""
    (pogo_project / "Makefile").unlink()
    xmi = pogo_project / "PowerMeter.xmi"
    extra = '    <additionalFiles name="PowerSensor" path="C:\\\\lab\\\\PowerMeter\\\\PowerSensor.cpp"/>\n'
    xmi.write_text(xmi.read_text().replace("  </classes>", extra + "  </classes>"))
    result = migrate(pogo_project, version="1.2")
    assert sorted(result.project.spec.sources) == sorted(
        ["PowerMeter.cpp", "PowerMeterClass.cpp", "PowerMeterStateMachine.cpp", "PowerSensor.cpp",
         "ClassFactory.cpp", "main.cpp"]
    )  # fmt: skip
    assert result.unmapped == ()
    assert result.text.splitlines()[0].endswith("from PowerMeter.xmi (Pogo class PowerMeter).")
    code, out, err = _cli("pogo-migrate", str(pogo_project))  # no --version: the one true warning
    assert code == 3
    assert "PowerMeter.xmi: no Makefile, so no MAJOR_VERS/MINOR_VERS" in err
    assert "no Makefile, no version in the .xmi or a git tag, 6 sources); 1 construct(s) not migrated" in out
    xmi.unlink()
    code, _, err = _cli("pogo-migrate", str(pogo_project))
    assert code == 1
    assert "it has no Makefile, and no single .xmi next to a main.cpp" in err
