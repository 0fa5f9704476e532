"""pogo-migrate on the Makefile constructs of real Pogo servers: no false warning, Linux's branch of a
conditional, one report line per construct, exit 3 only for what changes the build, and a version that
is never a silent guess. Each Makefile here is written for the test and reproduces one real construct
(the source is named in a comment); no third-party file is copied."""

from __future__ import annotations

import contextlib
import io
import json
import platform
import shutil
import subprocess
from pathlib import Path

import pytest

from fastconda.cli import main
from fastconda.cxx.pogo import read_project
from fastconda.cxx.recipe_route import read_server

from .conftest import EXAMPLE

HEADER = """\
MAKE_ENV = /usr/local/share/pogo/preferences
PACKAGE_NAME = PowerMeter
MAJOR_VERS   = 1
MINOR_VERS   = 2
RELEASE      = Release_$(MAJOR_VERS)_$(MINOR_VERS)
RELEASE_TYPE = OPTIMIZED
OUTPUT_TYPE = DEVICE
INC_DIR_USER= -I .
LIB_DIR_USER=
TANGO_REQUIRED = TRUE
include $(MAKE_ENV)/tango.opt
"""


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The bundled example's sources (PowerMeter + PowerSensor) with a Makefile each test writes."""
    root = Path(shutil.copytree(EXAMPLE, tmp_path / "PowerMeter"))
    (root / "Makefile").unlink()
    return root


def _write(root: Path, text: str) -> None:
    (root / "Makefile").write_text(text)


def _affecting(root: Path) -> list[str]:
    return [u.format() for u in read_project(root).unmapped if u.affects_build]


# What Pogo 7 writes for every server (tango-controls/pogo: LinuxMakefile.xtend, MakefileUtils.java;
# the servers tried in issue 18 carry it): SVC_OBJS = $(LIB_OBJS) + factory + main; LIB_OBJS ends with
# $(SVC_INHERITANCE_OBJ) and $(ADDITIONAL_OBJS), the latter unset when the class has no additional file;
# an inherited class brings <X>_CLASS/<X>_HOME/<X>_INCLUDES and its own object rules with recipes.
POGO7 = (
    HEADER
    + """\
POWERSENSOR_CLASS = PowerSensor
POWERSENSOR_HOME  = .

SVC_INCL =  $(PACKAGE_NAME).h $(PACKAGE_NAME)Class.h $(SVC_INHERITANCE_INCL)
SVC_INHERITANCE_INCL = $(POWERSENSOR_INCLUDES)

SVC_OBJS =      \\
\t\t$(LIB_OBJS) \\
\t\t$(OBJDIR)/ClassFactory.o  \\
        $(OBJDIR)/main.o

LIB_OBJS = \\
        $(OBJDIR)/$(PACKAGE_NAME).o \\
        $(OBJDIR)/$(PACKAGE_NAME)Class.o \\
        $(OBJDIR)/$(PACKAGE_NAME)StateMachine.o \\
\t\t$(SVC_INHERITANCE_OBJ) \\
        $(ADDITIONAL_OBJS)

SVC_INHERITANCE_OBJ =  \\
        $(SVC_POWERSENSOR_OBJ) \\

SVC_POWERSENSOR_OBJ = \\
        $(OBJDIR)/PowerSensor.o

include $(MAKE_ENV)/common_target.opt

POWERSENSOR_INCLUDES = \\
\t\t$(POWERSENSOR_HOME)/PowerSensor.h
$(OBJDIR)/PowerSensor.o:  $(POWERSENSOR_HOME)/PowerSensor.cpp $(POWERSENSOR_INCLUDES)
\t$(CXX) $(CXXFLAGS) -c $< -o $(OBJDIR)/PowerSensor.o
"""
)


def _before_rules(text: str) -> str:
    """*text* inserted where Pogo puts its settings: before the rules (after a rule, make reads a
    tab-indented line as that rule's recipe, and so does the migration)."""
    marker = "include $(MAKE_ENV)/common_target.opt"
    return POGO7.replace(marker, text + marker)


def test_pogo7_template_variables_are_known_and_an_empty_additional_objs_is_not_unset(project: Path) -> None:
    _write(project, POGO7)
    result = read_project(project)
    assert [u.format() for u in result.unmapped] == []
    assert "PowerSensor.cpp" in result.spec.sources
    assert "main.cpp" in result.spec.sources
    code, _, err = _cli("pogo-migrate", str(project))
    assert (code, err) == (0, "")


# Pogo-6 Makefiles (TangoAccessControl Release_1_0 in tango-controls/starter's history) name objects
# $(OBJS_DIR)/X.o with OBJS_DIR = obj/$(BIN_DIR) and BIN_DIR = $(OS) = $(shell get_os): only stems matter.
def test_shell_call_in_the_object_folder_is_not_reported_but_in_a_file_name_it_is(project: Path) -> None:
    objects = "\n".join(f"\t$(OBJS_DIR)/{s}.o \\" for s in ("PowerMeter", "PowerMeterClass", "main"))
    _write(
        project,
        HEADER + "BIN_DIR = $(shell uname -m)_$(shell uname -r)\nOBJS_DIR = obj/$(BIN_DIR)\n"
        f"SVC_OBJS = \\\n{objects}\n\t$(OBJS_DIR)/$(shell cat extra.txt).o\n",
    )
    unmapped = read_project(project).unmapped
    assert len(unmapped) == 1, unmapped
    assert "make function 'shell'" in unmapped[0].reason
    assert unmapped[0].text.startswith("SVC_OBJS")


def test_a_warning_names_the_variable_that_holds_the_construct(project: Path) -> None:
    # issue 18, seen on a real server: the value of an inner variable was shown under the outer one's name
    _write(
        project, POGO7 + "GIT_DEF = -DGIT_REV=$(shell git rev-parse HEAD)\nCXXFLAGS_USR = $(GIT_DEF) -Wall\n"
    )
    [item] = [u for u in read_project(project).unmapped if "shell" in u.reason]
    assert item.text.startswith("GIT_DEF = -DGIT_REV=$(shell")
    assert item.line == POGO7.count("\n") + 1


# Pogo-6 platform blocks as TangoAccessControl Release_1_0/2_2 have them (ifdef linux / ifdef _solaris,
# `make linux=1`; ifdef no_debug/else with tab-indented assignments), and ifeq on $(OS) or $(shell uname)
# as hand-edited Makefiles compare the platform.
PLATFORM = """
ifdef _solaris
\tCXXFLAGS_USR = -DSOLARIS
\tLFLAGS_USR = -lsocket
endif
ifdef linux
\tCXXFLAGS_USR = -DLINUX_BUILD
\tifeq ($(shell uname),Linux)
\t\tCXXFLAGS_USR += -DUNAME_LINUX
\telse
\t\tCXXFLAGS_USR += -DUNAME_OTHER
\tendif
else
\tCXXFLAGS_USR = -DNOT_LINUX
endif
ifeq ($(OS),Windows_NT)
\tLFLAGS_USR = -lws2_32
else ifeq ($(OS),Linux)
\tLFLAGS_USR = -lm
else
\tLFLAGS_USR = -lother
endif
ifndef LINUX
\tCXXFLAGS_USR += -DNO_LINUX
endif
"""


def test_conditionals_are_evaluated_for_linux_and_indented_assignments_are_assignments(project: Path) -> None:
    _write(project, _before_rules(PLATFORM))
    result = read_project(project)
    assert [u.format() for u in result.unmapped] == []
    assert result.spec.definitions == ("LINUX_BUILD", "UNAME_LINUX")
    assert result.spec.link_libraries == ("m",)


def test_an_undecidable_condition_is_reported_once_and_its_first_branch_read(project: Path) -> None:
    _write(
        project,
        _before_rules("ifeq ($(shell hostname),lab1)\n\tCXXFLAGS_USR = -DLAB1\n\tLFLAGS_USR = -lm\nendif\n"),
    )
    result = read_project(project)
    [item] = result.unmapped
    assert item.text.startswith("ifeq ($(shell hostname),lab1)")
    assert "not decidable" in item.reason
    assert result.spec.definitions == ("LAB1",)


def test_the_report_has_one_line_per_construct_with_its_line_numbers(project: Path) -> None:
    blocks = "".join(f"ifeq ($(shell hostname),lab{i})\nCXXFLAGS_USR += -DLAB{i}\nendif\n" for i in range(4))
    rule = "install:\n\tcp bin/PowerMeter /opt\n\tchmod +x /opt/PowerMeter\n"  # before Pogo's targets
    text = _before_rules(blocks + rule)
    _write(project, text)
    lines = text.splitlines()
    ifeqs = [str(n) for n, line in enumerate(lines, start=1) if line.startswith("ifeq")]
    install = lines.index("install:") + 1
    code, out, err = _cli("pogo-migrate", str(project))
    assert code == 3
    warnings = [line for line in err.splitlines() if "not migrated" in line]
    assert len(warnings) == 2, err
    assert f"Makefile:{', '.join(ifeqs)}: ifeq ($(shell hostname),lab0)" in err
    assert f"Makefile:{install}-{install + 2}: install: (make rule)" in err
    assert "2 Makefile construct(s) not migrated" in out


# tango-controls/starter's Makefile (Pogo 7): no MAJOR_VERS/MINOR_VERS, -pie among the link flags,
# and after Pogo's common_target.opt a deployment target (put_ftp: scp ...) with two variables for it,
# one of them used by nothing.
STARTER = (
    HEADER.replace("MAJOR_VERS   = 1\nMINOR_VERS   = 2\n", "").replace(
        "RELEASE      = Release_$(MAJOR_VERS)_$(MINOR_VERS)\n", ""
    )
    + """\
LFLAGS_USR+= -Wl,-z,now -Wl,-z,relro -pie
CXXFLAGS_USR+= -Wall -Wextra -D_FORTIFY_SOURCE=2 -O1 -fpie -fstack-protector
SVC_OBJS =      \\
            $(OBJDIR)/$(PACKAGE_NAME).o \\
            $(OBJDIR)/$(PACKAGE_NAME)Class.o \\
\t\t\t$(OBJDIR)/PowerSensor.o \\
            $(OBJDIR)/main.o
include $(MAKE_ENV)/common_target.opt

WWW_HOST=webserv02
WWW_HOME=/ftp/pub/cs/tango
put_ftp:
\tscp -rp $(TANGO_HOME)/bin/win64/Starter.exe          $(WWW_HOME)/Starter/win64/Starter.exe
"""
)


def test_starter_like_makefile_warns_only_about_its_missing_version(project: Path) -> None:
    _write(project, STARTER)
    code, _, err = _cli("pogo-migrate", str(project))
    assert code == 3
    [warning] = [line for line in err.splitlines() if line.startswith("warning")]
    assert "no MAJOR_VERS/MINOR_VERS" in warning
    assert "used 0.1.0" in warning
    assert "put_ftp: (make target that `make` alone does not build)" in err
    assert "WWW_HOST = webserv02 (variable that nothing in the Makefile uses)" in err
    spec = read_project(project).spec
    assert spec.link_options == ("-Wl,-z,now", "-Wl,-z,relro", "-pie")


def test_housekeeping_rules_are_shown_but_do_not_make_exit_3(project: Path) -> None:
    _write(project, POGO7 + "clean:\n\trm -rf obj bin\n")
    code, _, err = _cli("pogo-migrate", str(project))
    assert code == 0
    assert "the build does not need it" in err


NO_VERSION = POGO7.replace("MAJOR_VERS   = 1\nMINOR_VERS   = 2\n", "").replace(
    "RELEASE      = Release_$(MAJOR_VERS)_$(MINOR_VERS)\n", ""
)


def test_a_server_without_a_version_says_it_used_0_1_0(project: Path) -> None:
    _write(project, NO_VERSION)
    code, out, err = _cli("--json", "pogo-migrate", str(project))
    assert code == 3
    assert (json.loads(out)["version"], json.loads(out)["version_from"]) == ("0.1.0", "default")
    assert "MAJOR_VERS/MINOR_VERS" in err
    assert "used 0.1.0" in err
    code, out, _ = _cli("pogo-migrate", str(project))
    assert "server PowerMeter 0.1.0 by default: no MAJOR_VERS/MINOR_VERS in the Makefile" in out


def test_the_default_version_warning_says_how_to_give_one(project: Path) -> None:
    _write(project, NO_VERSION)
    [warning] = _affecting(project)
    assert "no MAJOR_VERS/MINOR_VERS in the Makefile" in warning
    assert "none in the .xmi or a git tag: used 0.1.0; pass --version X.Y" in warning


def test_version_option_gives_the_version_of_a_server_without_one(project: Path) -> None:
    _write(project, NO_VERSION)
    code, out, err = _cli("--json", "pogo-migrate", "--version", "2.3", str(project))
    assert code == 0, err
    data = json.loads(out)
    assert (data["version"], data["version_from"], data["unmapped"]) == ("2.3", "--version", [])
    assert "project(PowerMeter VERSION 2.3 LANGUAGES CXX)" in (project / "CMakeLists.txt").read_text()
    code, out, _ = _cli("pogo-migrate", "--version", "2.3", str(project))
    assert "server PowerMeter 2.3 from --version" in out


def test_version_option_replaces_the_makefile_s_and_the_report_says_so(project: Path) -> None:
    _write(project, POGO7)
    result = read_project(project, requested_version="2.0.1")
    assert (result.spec.version, result.version_from) == ("2.0.1", "--version")
    assert "version 2.0.1 from --version: it replaces the Makefile's 1.2" in result.notes
    assert read_project(project).spec.version == "1.2"


@pytest.mark.parametrize("version", ["two", "1.2.3.4.5", "1.2-rc1", ""])
def test_a_version_cmake_cannot_take_is_a_usage_error(project: Path, version: str) -> None:
    _write(project, POGO7)
    code, _, err = _cli("pogo-migrate", "--version", version, str(project))
    assert code == 2
    assert f"--version {version!r}: not a version CMake accepts" in err
    assert not (project / "CMakeLists.txt").exists()


def test_a_non_numeric_makefile_version_is_reported_and_the_xmi_s_taken(project: Path) -> None:
    _write(project, POGO7.replace("MINOR_VERS   = 2", "MINOR_VERS   = 2beta"))
    xmi = project / "PowerMeter.xmi"
    xmi.write_text(xmi.read_text().replace('reference="PM-100"/>', 'reference="PM-100" version="1.3"/>', 1))
    result = read_project(project)
    assert result.spec.version == "1.3"
    assert [(u.text, u.reason) for u in result.unmapped] == [
        ("MAJOR_VERS/MINOR_VERS = 1/2beta", "not a numeric version")
    ]
    assert "MAJOR_VERS/MINOR_VERS = 1/2beta is not a numeric version: version 1.3 from PowerMeter.xmi" in (
        result.notes
    )


def test_a_server_without_a_version_takes_the_xmi_s(project: Path) -> None:
    _write(project, NO_VERSION)
    xmi = project / "PowerMeter.xmi"
    xmi.write_text(xmi.read_text().replace('reference="PM-100"/>', 'reference="PM-100" version="3.4"/>', 1))
    result = read_project(project)
    assert result.spec.version == "3.4"
    assert any("version 3.4 from PowerMeter.xmi" in note for note in result.notes)
    assert result.unmapped == ()


@pytest.mark.skipif(shutil.which("git") is None, reason="no git")
def test_a_server_without_a_version_takes_its_git_tag(project: Path) -> None:
    _write(project, NO_VERSION)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run([*git, "add", "-A"], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=project, check=True)
    subprocess.run([*git, "tag", "PowerMeter-2_5"], cwd=project, check=True)
    result = read_project(project)
    assert result.spec.version == "2.5"
    assert any("from git tag" in note for note in result.notes)
    assert result.unmapped == ()
    code, out, _ = _cli("pogo-migrate", str(project))
    assert code == 0
    assert "server PowerMeter 2.5 from git tag, no MAJOR_VERS/MINOR_VERS in the Makefile" in out


def test_a_define_block_is_one_construct_and_its_lines_are_not_read_as_make_code(project: Path) -> None:
    # hand-edited Pogo Makefiles (a canned recipe for post-processing)
    _write(project, _before_rules("define COPY_CONF\nCXXFLAGS_USR = -DWRONG\ncp conf $(1)\nendef\n"))
    result = read_project(project)
    [item] = result.unmapped
    assert (item.reason, item.end_line - item.line) == ("make directive 'define'", 3)
    assert result.spec.definitions == ()


# A Pogo-6 Makefile as tango-controls' TangoAccessControl Release_1_0 has it (kept in the history of
# tango-controls/starter): no tango.opt, CLASS instead of PACKAGE_NAME, OS from $(shell get_os) inside
# the obj/$(BIN_DIR) folder of every object, platform blocks (ifdef _solaris with a nested ifdef _gcc,
# ifdef linux, ifdef no_debug/else with tab-indented assignments), its own INCLUDE_DIRS/LFLAGS with the
# Tango stack and MySQL, pattern and link rules, and targets make builds only when asked (install, tag).
POGO6 = """\
CLASS      = PowerMeter
MAJOR_VERS = 1
MINOR_VERS = 0
RELEASE    = Release_$(MAJOR_VERS)_$(MINOR_VERS)
OS         = $(shell /csadmin/common/scripts/get_os)
TANGO_HOME   =  /segfs/tango
CPP_SERVERS  =  $(TANGO_HOME)/cppserver

ifdef no_debug
\tDEBUG = -O
else
\tDEBUG = -g
endif

ifdef _solaris
CC = CC
BIN_DIR=$(OS)_CC
ifdef _gcc
CC = gcc
BIN_DIR = $(OS)_gcc
endif
MYSQL_LIB_DIR=/usr/local/mysql/lib
endif

ifdef linux
CC = c++
CC_SHLIB = $(CC)  -fPIC
BIN_DIR=$(OS)
MYSQL_INC_DIR=/segfs/mysql/include
MYSQL_LIB_DIR=/segfs/mysql/lib
endif

INCLUDE_DIRS =  -I$(MYSQL_INC_DIR) \\
\t\t\t\t-I$(TANGO_HOME)/include/$(BIN_DIR)\t-I.\t \\
                -I$(CPP_SERVERS)/include
OBJS_DIR    = obj/$(BIN_DIR)
LIB_DIRS    = -L $(MYSQL_LIB_DIR) \\
\t\t\t\t-L $(TANGO_HOME)/lib/$(BIN_DIR)
TARGET_LIB = $(CPP_SERVERS)/lib/$(BIN_DIR)/libtgclasses.a

ifdef _solaris
CXXFLAGS =  $(DEBUG) -D_PTHREADS $(INCLUDE_DIRS)
LFLAGS =  $(DEBUG) $(LIB_DIRS) -ltango -lposix4 -lsocket -lnsl
endif
ifdef linux
CXXFLAGS =  $(DEBUG) -D_REENTRANT $(INCLUDE_DIRS)
LFLAGS =  $(DEBUG) $(LIB_DIRS)  \\
\t\t\t\t-ltango\t\t\t\\
\t\t\t\t-llog4tango\t\t\\
\t\t\t\t-lomniORB4 \t\t\\
\t\t\t\t-lmysqlclient\t\\
\t\t\t\t-lz\t\t\t\t\\
\t\t\t\t-ldl -lpthread
endif

SVC_OBJS = $(OBJS_DIR)/PowerSensor.o\t\\
\t\t$(OBJS_DIR)/$(CLASS).o \\
\t\t$(OBJS_DIR)/main.o\t\\
\t\t$(OBJS_DIR)/ClassFactory.o\t\\
\t\t$(OBJS_DIR)/$(CLASS)Class.o\t\\
\t\t$(OBJS_DIR)/$(CLASS)StateMachine.o

SVC_INC = $(CLASS)Class.h \\
\t\t$(CLASS).h

$(OBJS_DIR)/%.o: %.cpp $(SVC_INC)
\t$(CC) $(CXXFLAGS) -c $< -o $(OBJS_DIR)/$*.o

all: $(CLASS)

$(CLASS):\tmake_obj_dir make_bin_dir $(SVC_OBJS)
\t$(CC) $(SVC_OBJS) -o $(CLASS) $(LFLAGS)
\t@mv $(CLASS) bin/$(BIN_DIR)/$(CLASS)

clean:
\trm -f $(OBJS_DIR)/*.o bin/$(BIN_DIR)/$(CLASS) core

make_obj_dir:
\t@mkdir -p obj/$(BIN_DIR)

make_bin_dir:
\t@mkdir -p bin/$(BIN_DIR)

install:
\tcp bin/$(BIN_DIR)/$(CLASS)  $(TANGO_HOME)/bin/$(BIN_DIR)

lib: clean
\t@make no_debug=1
\tar ruv $(TARGET_LIB)/$(CLASS).o

tag:
\t@cvstag "$(CLASS)-$(RELEASE)"
"""


def test_a_pogo6_makefile_maps_its_linux_settings_and_exits_0(project: Path) -> None:
    _write(project, POGO6)
    result = read_project(project)
    assert [u.format() for u in result.unmapped if u.affects_build] == []
    spec = result.spec
    assert (spec.name, spec.version, spec.build_type) == ("PowerMeter", "1.0", "Release")
    assert "PowerSensor.cpp" in spec.sources
    assert spec.definitions == ("_REENTRANT",)
    assert spec.link_libraries == ("z",)  # the Tango stack comes from the template
    assert spec.libraries == ("mysql",)  # -lmysqlclient: MySQL's client library, found with pkg-config
    assert not [d for d in (*spec.include_dirs, *spec.link_dirs) if d.startswith("/segfs")]
    code, _, err = _cli("pogo-migrate", str(project))
    assert code == 0, err
    [line] = [line for line in err.splitlines() if "make target that `make` alone does not build" in line]
    assert "install:" in line  # install, lib, tag... on one line


def test_a_skipped_branch_decides_nothing_and_deep_nesting_is_a_one_line_error(project: Path) -> None:
    skipped = "ifdef _solaris\nifeq ($(shell hostname),a)\nelse ifeq ($(shell hostname),b)\nendif\nendif\n"
    _write(project, _before_rules(skipped))
    assert read_project(project).unmapped == ()  # make never evaluates a condition inside a skipped branch
    _write(project, _before_rules("ifdef linux\n" * 100 + "endif\n" * 100))
    code, _, err = _cli("pogo-migrate", str(project))
    assert code == 1
    assert "conditionals nested over 64 deep" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("tag", "version"),
    [("v1.4", "1.4"), ("Serial-1_4", "1.4"), ("TangoAccessControl-Release_2_1", "2.1"), ("9.3.4-rc1", "")],
)
def test_the_version_of_a_git_tag(tag: str, version: str) -> None:
    from fastconda.cxx.pogo_identity import TAG_VERSION

    match = TAG_VERSION.match(tag)
    assert (match.group(1).replace("_", ".") if match else "") == version


def test_an_unset_class_folder_is_reported_but_an_unset_object_list_is_not(project: Path) -> None:
    # Pogo 7 adds -I $(<PARENT>_HOME) to INC_DIR_USER for an inherited class; unset, the flag is wrong
    _write(project, POGO7.replace("INC_DIR_USER= -I .", "INC_DIR_USER= -I . -I $(METER_HOME)"))
    [item] = read_project(project).unmapped
    assert item.reason == "${METER_HOME} is not set in the Makefile"
    assert item.text.startswith("INC_DIR_USER =")


def test_cxxflags_added_in_a_pogo7_makefile_are_mapped(project: Path) -> None:
    # Pogo's tango.opt compiles with $(CXXFLAGS): a Pogo-7 Makefile that adds to it changes the build
    _write(project, _before_rules("CXXFLAGS += -DUSE_FEATURE -Wno-deprecated\nLFLAGS += -lgsl -ltango\n"))
    result = read_project(project)
    assert result.unmapped == ()
    assert result.spec.definitions == ("USE_FEATURE",)
    assert result.spec.compile_options == ("-Wno-deprecated",)
    assert result.spec.link_libraries == ("gsl",)


# TangoDatabase's Makefile (Pogo 7, in tango-controls/TangoDatabase): a variable whose name make computes
# from $(shell uname -p), read by the ifdef that follows, with tab-indented assignments in both branches.
COMPUTED_NAME = f"""
MYSQL_INC_DIR=/usr/include/mysql
INC_DIR_USER= -I .   -I $(MYSQL_INC_DIR)
ifdef linux
PROCESSOR  = $(shell uname -p)
$(PROCESSOR)=1
ifdef \t{platform.machine()}
\tMyNbBits=64
else
\tMyNbBits=32
endif
endif
MYSQL_LIB_DIR=/usr/lib$(MyNbBits)/mysql
LIB_DIR_USER= -L $(MYSQL_LIB_DIR)
"""


def test_a_computed_variable_name_is_an_assignment_and_the_ifdef_on_it_is_decided(project: Path) -> None:
    _write(project, _before_rules(COMPUTED_NAME))
    result = read_project(project)
    assert [u.format() for u in result.unmapped] == []
    # MySQL's folders (MyNbBits decided: lib64) are replaced by its pkg-config lookup, and the note says so
    assert (result.spec.libraries, result.spec.link_dirs, result.spec.include_dirs) == (("mysql",), (), ())
    assert any("(instead of -I/usr/include/mysql -L/usr/lib64/mysql)" in n for n in result.notes)
    assert "PROCESSOR: read by a conditional, evaluated for Linux" in result.notes


def test_a_computed_name_that_needs_make_is_reported_once(project: Path) -> None:
    _write(project, _before_rules("$(shell hostname)_FLAGS = -DLAB\n"))
    [item] = read_project(project).unmapped
    assert item.text == "$(shell hostname)_FLAGS = -DLAB"
    assert item.reason == "variable name not decidable without make (make function 'shell')"


def test_a_line_that_is_no_rule_is_not_called_one_and_no_recipe_follows_it(project: Path) -> None:
    _write(project, _before_rules("this is not make\n\tCXXFLAGS_USR += -DAFTER\n"))
    result = read_project(project)
    assert [(u.text, u.reason) for u in result.unmapped] == [("this is not make", "line make cannot read")]
    assert "AFTER" in result.spec.definitions


# TangoAccessControl's and TangoDatabase's Makefiles: after Pogo's targets, a `tag:` rule (svn copy) reads
# SVN_PATH, which reads SVN_TCS: both are the rule's, not unknown variables of the build.
SVN_TAG = """
SVN_TCS = https://svn.example.org/p/tango-cs/code
SVN_PATH = $(SVN_TCS)/classes/cpp/PowerMeter
tag:
\tsvn copy $(SVN_PATH)/trunk $(SVN_PATH)/tags/$(RELEASE)
"""


def test_variables_read_only_through_a_rule_s_variables_are_the_rule_s(project: Path) -> None:
    text = POGO7 + SVN_TAG
    _write(project, text)
    lines = text.splitlines()
    tcs, path = (
        lines.index(next(line for line in lines if line.startswith(v))) + 1 for v in ("SVN_TCS", "SVN_PATH")
    )
    code, _, err = _cli("pogo-migrate", str(project))
    assert code == 0, err
    assert f"Makefile:{tcs}, {path}: SVN_TCS = https://svn.example.org/p/tango-cs/code; SVN_PATH = " in err
    assert "(variable used only by make rules)" in err
    assert "does not know" not in err


# TangoDatabase's Makefile renames the executable after the build (DataBase → DataBaseds, the name its
# packages install): the CMake executable gets that name; the project (and so the package) keeps its own.
RENAME = "POST_PROCESSING = \\\n\tmv bin/$(BIN_DIR)/$(PACKAGE_NAME) bin/$(BIN_DIR)/$(PACKAGE_NAME)ds\n"


def test_a_post_processing_rename_names_the_executable(project: Path) -> None:
    _write(project, _before_rules(RENAME))
    result = read_project(project)
    assert [u.format() for u in result.unmapped] == []
    assert (result.spec.name, result.spec.executable) == ("PowerMeter", "PowerMeterds")
    assert (
        "POST_PROCESSING = mv bin//PowerMeter bin//PowerMeterds: the executable is built as PowerMeterds"
        in (result.notes)
    )
    code, _, err = _cli("pogo-migrate", str(project))
    assert code == 0, err
    text = (project / "CMakeLists.txt").read_text()
    assert "project(PowerMeter VERSION 1.2 LANGUAGES CXX)" in text
    assert "add_executable(PowerMeterds\n" in text
    assert "install(TARGETS PowerMeterds RUNTIME" in text
    server = read_server(project)
    assert (server.package, server.executable) == ("powermeter", "PowerMeterds")


@pytest.mark.parametrize(
    "command",
    [
        "chmod a+x $(OUTPUT_DIR)/$(PACKAGE_NAME)",
        "mv bin/$(PACKAGE_NAME) /opt/bin/Other",
        "mv bin/Other bin/X",
    ],
)
def test_post_processing_that_is_not_a_rename_of_the_server_stays_reported(
    project: Path, command: str
) -> None:
    _write(project, _before_rules(f"POST_PROCESSING = {command}\n"))
    result = read_project(project)
    assert result.spec.executable == "PowerMeter"
    [item] = result.unmapped
    assert item.reason == "post-build commands: add them to CMake by hand"


# What Pogo 9 writes (tango-controls/pogo's LinuxMakefile.xtend, MakefileUtils.java) for a class with
# dynamic attributes and an additional file: MAKE_ENV ?= $(TANGO_HOME), <Class>DynAttrUtils.o among
# LIB_OBJS (followed by a blank: \x20), ADDITIONAL_OBJS set, and the additional file's object rule after
# common_target.opt.
POGO9 = """\
MAKE_ENV ?= $(TANGO_HOME)
PACKAGE_NAME = PowerMeter
MAJOR_VERS   = 1
MINOR_VERS   = 0
RELEASE      = Release_$(MAJOR_VERS)_$(MINOR_VERS)
RELEASE_TYPE = DEBUG
OUTPUT_TYPE = DEVICE
#OUTPUT_DIR =
INC_DIR_USER= -I .
LIB_DIR_USER=
#LFLAGS_USR+=
#CXXFLAGS_USR+= -Wall
TANGO_REQUIRED = TRUE
include $(MAKE_ENV)/tango.opt
#POST_PROCESSING = \\
#\tmv bin/$(BIN_DIR)/$(PACKAGE_NAME) bin/$(BIN_DIR)/$(PACKAGE_NAME)_DS
SVC_INCL =  $(PACKAGE_NAME).h $(PACKAGE_NAME)Class.h
SVC_OBJS =      \\
\t\t$(LIB_OBJS) \\
\t\t$(OBJDIR)/ClassFactory.o  \\
        $(OBJDIR)/main.o
LIB_OBJS = \\
        $(OBJDIR)/$(PACKAGE_NAME).o \\
        $(OBJDIR)/$(PACKAGE_NAME)Class.o \\
        $(OBJDIR)/$(PACKAGE_NAME)StateMachine.o \\
\t\t$(OBJDIR)/$(PACKAGE_NAME)DynAttrUtils.o \\
        $(ADDITIONAL_OBJS)\x20
#------------ Object files for additional files ------------
ADDITIONAL_OBJS = \\
\t\t$(OBJDIR)/PowerSensor.o
include $(MAKE_ENV)/common_target.opt
$(OBJDIR)/PowerSensor.o:  PowerSensor.cpp $(SVC_INCL)
\t$(CXX) $(CXXFLAGS) -c $< -o $(OBJDIR)/PowerSensor.o
"""


def test_a_pogo9_makefile_with_dynamic_attributes_and_an_additional_file_migrates_silently(
    project: Path,
) -> None:
    _write(project, POGO9)
    (project / "PowerMeterDynAttrUtils.cpp").write_text("// dynamic attributes\n")
    code, _, err = _cli("pogo-migrate", str(project))
    assert (code, err) == (0, "")
    sources = read_project(project).spec.sources
    assert {"PowerMeterDynAttrUtils.cpp", "PowerSensor.cpp", "main.cpp"} <= set(sources)


def test_an_object_without_a_source_is_reported_under_the_list_that_names_it(project: Path) -> None:
    text = POGO9.replace("$(OBJDIR)/PowerSensor.o\n", "$(OBJDIR)/PowerSensor.o $(OBJDIR)/Missing.o\n", 1)
    _write(project, text)  # and no PowerMeterDynAttrUtils.cpp
    lines = text.splitlines()
    lib_objs, additional = (lines.index(f"{v} = \\") + 1 for v in ("LIB_OBJS", "ADDITIONAL_OBJS"))
    code, _, err = _cli("pogo-migrate", str(project))
    assert code == 3
    assert err.splitlines() == [
        f"warning: not migrated: Makefile:{lib_objs}, {additional}: PowerMeterDynAttrUtils.o; Missing.o "
        "(object with no source file (.cpp, .cc, .cxx or .C) in the project)"
    ]


# TangoAccessControl before 2014 (tango-controls/TangoAccessControl's history): the inherited AccessControl
# class lives at an absolute sourcePath of the original build host; its three objects are in
# SVC_INHERITANCE_OBJ. One cause, one report line.
def test_a_parent_class_that_is_absent_is_one_warning_not_one_per_object(project: Path) -> None:
    xmi = project / "PowerMeter.xmi"
    xmi.write_text(
        xmi.read_text().replace(
            '<inheritances classname="Device_Impl" sourcePath=""/>',
            '<inheritances classname="Device_Impl" sourcePath=""/>\n'
            '      <inheritances classname="Absent" sourcePath="/segfs/tango/templates/Absent"/>',
        )
    )
    objects = "$(OBJDIR)/Absent.o $(OBJDIR)/AbsentClass.o $(OBJDIR)/AbsentStateMachine.o"
    text = POGO7.replace("$(SVC_POWERSENSOR_OBJ) \\\n", f"$(SVC_POWERSENSOR_OBJ) {objects}\n")
    assert objects in text
    _write(project, text)
    [warning] = _affecting(project)
    assert "inherits Absent (sourcePath '/segfs/tango/templates/Absent')" in warning
    assert "the parent class's sources were not found" in warning


def test_variables_read_only_by_what_the_build_does_not_read_are_shown_not_warned(project: Path) -> None:
    # OUTPUT_DIR is replaced by CMake's build folder; DEPLOY is read by nothing, so is what only it reads
    extra = (
        "ARCH_DIR = linux-x86_64\nOUTPUT_DIR = $(HOME)/DeviceServers/$(ARCH_DIR)\n"
        "WEB = /var/www\nDEPLOY = $(WEB)/servers\n"
    )
    _write(project, _before_rules(extra))
    code, _, err = _cli("pogo-migrate", str(project))
    assert code == 0, err
    assert "ARCH_DIR = linux-x86_64 (variable read only by OUTPUT_DIR, which the build does not use)" in err
    assert "WEB = /var/www (variable read only by DEPLOY, which the build does not use)" in err
    assert "DEPLOY = $(WEB)/servers (variable that nothing in the Makefile uses)" in err
    assert "warning" not in err


def test_a_variable_the_build_reads_through_an_unknown_one_is_mapped_not_reported(project: Path) -> None:
    _write(
        project,
        _before_rules("MY_DEFS = -DMY_DEF\nMY_FLAGS = $(MY_DEFS) -Wall\nCXXFLAGS_USR += $(MY_FLAGS)\n"),
    )
    result = read_project(project)
    assert [u.format() for u in result.unmapped] == []
    assert "MY_DEF" in result.spec.definitions


def test_a_target_specific_variable_is_a_rule_not_a_computed_assignment(project: Path) -> None:
    _write(project, _before_rules("$(OBJDIR)/PowerMeter.o: $(EXTRA)=1\n"))
    result = read_project(project)
    assert result.unmapped == ()
    assert any(note.endswith("rule for ./PowerMeter.o: CMake compiles it") for note in result.notes)


# tango-controls/starter has no MAJOR_VERS/MINOR_VERS but a CHANGELOG.md whose newest entry names the release
# ("#### Starter-7.5 (15/04/2020):"): the warning suggests it; the version is not taken from it unasked.
@pytest.mark.parametrize(
    ("changelog", "suggested"),
    [
        ("# Changelog\n\n#### PowerMeter-7.5 (15/04/2020):\n    Fix a bug.\n\n#### PowerMeter-7.4:\n", "7.5"),
        ("# Changelog\n\n## [Unreleased]\n- needs python 3.10\n\n## [2.1.0] - 2024-01-02\n", "2.1.0"),
    ],
)
def test_the_default_version_warning_suggests_the_changelog_s_newest_entry(
    project: Path, changelog: str, suggested: str
) -> None:
    _write(project, NO_VERSION)
    (project / "CHANGELOG.md").write_text(changelog)
    result = read_project(project)
    assert result.spec.version == "0.1.0"
    [warning] = _affecting(project)
    assert f"pass --version {suggested} (CHANGELOG.md's newest entry)" in warning
