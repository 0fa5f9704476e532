"""The imports a package test makes are what the distribution really installed (its RECORD), PEP 420
namespace packages included, not grayskull's guess from the project's name.

The shape is the issue's: a hatch project with ``packages = ["tango"]`` whose only package is
``tango/pyaml/`` (no ``tango/__init__.py``: at run time ``tango`` is PyTango's package).
"""

from __future__ import annotations

import subprocess
import textwrap
from importlib.resources import files
from pathlib import Path

import pytest

from fastconda.pipeline.build import build_project
from fastconda.templates import read_template
from fastconda.testing.installed import top_level_modules
from fastconda.tools.rattler import create_environment
from tests.helpers import SITE_PACKAGES, build_options

PYAML_PYPROJECT = """
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "tango-pyaml"
version = "0.2.0"
license = "MIT"
dependencies = ["pytango"]

[tool.hatch.build.targets.wheel]
packages = ["tango"]
"""


def test_namespace_folders_give_their_packages_at_any_depth() -> None:
    from fastconda.testing.toplevel import top_level_modules as in_site_packages

    assert in_site_packages(
        ["tango/pyaml/__init__.py", "tango/pyaml/x.py", "tango_pyaml-0.2.0.dist-info/RECORD"]
    ) == ("tango.pyaml",)
    record = [
        "ska/control/model/__init__.py",  # two namespace levels
        "ska/control/model/sub/__init__.py",
        "ska/docs/conf.py",  # a loose module next to a package: not code to import
        "plain.py",
        "_speedups.cpython-311-x86_64-linux-gnu.so",
        "../../../bin/Server",
        "__pycache__/plain.cpython-311.pyc",
    ]
    assert in_site_packages(record) == ("_speedups", "plain", "ska.control.model")
    # a namespace folder of plain modules (Sardana controllers, say) and nothing else: its modules
    assert in_site_packages(["ctrl/MotorCtrl.py", "ctrl/IORCtrl.py"]) == ("ctrl.IORCtrl", "ctrl.MotorCtrl")


def test_fastconda_test_finds_deep_namespace_packages_too() -> None:
    site = SITE_PACKAGES
    files = [f"{site}/ska/control/model/__init__.py", f"{site}/ska_control_model-1.0.dist-info/RECORD"]
    assert top_level_modules(files) == ("ska.control.model",)


def test_check_script_imports_what_the_distribution_installed(seed_url: str, tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    create_environment(prefix, ["python", "pip"], channels=[seed_url])
    site = prefix / SITE_PACKAGES
    (site / "nsdemo" / "pyaml").mkdir(parents=True)
    (site / "nsdemo" / "pyaml" / "__init__.py").write_text("VALUE = 1\n")
    info = site / "nsdemo_pyaml-0.2.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: nsdemo-pyaml\nVersion: 0.2.0\n")
    (info / "RECORD").write_text(
        "nsdemo/pyaml/__init__.py,,\nnsdemo_pyaml-0.2.0.dist-info/METADATA,,\nnsdemo_pyaml-0.2.0.dist-info/RECORD,,\n"
    )
    (tmp_path / "fastconda_check.py").write_text(read_template("recipe", "python/fastconda_check.py"))
    (tmp_path / "fastconda_toplevel.py").write_text(
        files("fastconda.testing").joinpath("toplevel.py").read_text()
    )
    python = str(prefix / "bin" / "python")
    good = subprocess.run(
        [python, "fastconda_check.py", "--dist", "nsdemo-pyaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert good.returncode == 0, good.stdout + good.stderr
    assert "import nsdemo.pyaml: ok" in good.stdout
    # an installed module that cannot be imported fails the check; an absent distribution too
    (site / "nsdemo" / "pyaml" / "__init__.py").write_text("import no_such_dependency\n")
    bad = subprocess.run(
        [python, "fastconda_check.py", "--dist", "nsdemo-pyaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1
    assert "FAILED import nsdemo.pyaml: ModuleNotFoundError" in bad.stderr
    absent = subprocess.run(
        [python, "fastconda_check.py", "--dist", "not-there"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert absent.returncode == 1
    assert "distribution not-there is not installed" in absent.stderr


@pytest.mark.slow
def test_namespace_package_project_builds_and_its_real_import_is_tested(
    seed_url: str, tmp_path: Path
) -> None:
    project = tmp_path / "tango-pyaml"
    (project / "tango" / "pyaml").mkdir(parents=True)
    (project / "pyproject.toml").write_text(textwrap.dedent(PYAML_PYPROJECT))
    (project / "tango" / "pyaml" / "__init__.py").write_text(
        "from tango import DevState\n\nOFF = DevState.OFF\n"
    )
    result = build_project(project, build_options((seed_url,), tmp_path / "channel"))
    assert [(t.command, t.passed) for t in result.tests] == [
        ("python fastconda_check.py --dist tango-pyaml", True)
    ]
    output = "\n".join(result.tests[0].output)
    assert "import tango.pyaml: ok" in output
    assert "import tango_pyaml" not in output  # grayskull's guess from the name
