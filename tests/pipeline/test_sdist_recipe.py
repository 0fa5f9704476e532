"""When grayskull fails on a project, the recipe comes from the sdist's own metadata (with a note).

The project below has the shape of pyhdbpp 2.1.3 and fandango 16.1.2 (real, from PyPI): a
``setup.cfg`` with ``url = https://...`` makes grayskull crash while it writes its YAML (ruamel's
``RepresenterError: cannot represent an object: 'https://...'``); before, ``fastconda build`` stopped
at "recipe failed: grayskull on ...", with no cause.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from fastconda.pipeline.build import build_project
from fastconda.pipeline.pkg_info import SdistMetadata
from fastconda.pipeline.sdist_recipe import recipe_from_sdist
from tests.helpers import build_options

SETUP_CFG = """\
[metadata]
name = gsk-demo
version = attr: gskdemo.VERSION
url = https://gitlab.com/example/gsk-demo
description = a demo whose setup.cfg grayskull cannot write back
license = LGPL-3+

[options]
packages = find:
install_requires =
    packaging >=20
    futures; python_version<'3'

[options.entry_points]
console_scripts =
    gsk-demo = gskdemo:main
"""


def _project(root: Path) -> Path:
    (root / "gskdemo").mkdir(parents=True)
    (root / "setup.cfg").write_text(SETUP_CFG)
    (root / "setup.py").write_text("import setuptools\nsetuptools.setup()\n")
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools", "wheel"]\nbuild-backend = "setuptools.build_meta"\n'
    )
    (root / "gskdemo" / "__init__.py").write_text(
        textwrap.dedent(
            """\
            import packaging.version

            VERSION = "1.2.0"

            def main():
                import argparse
                argparse.ArgumentParser(prog="gsk-demo").parse_args()
            """
        )
    )
    return root


@pytest.mark.slow
def test_grayskull_failure_falls_back_on_the_sdists_metadata(seed_url: str, tmp_path: Path) -> None:
    result = build_project(_project(tmp_path / "gsk"), build_options((seed_url,), tmp_path / "channel"))
    note = next(n for n in result.notes if n.startswith("grayskull failed"))
    assert "RepresenterError: cannot represent an object: 'https://gitlab.com/example/gsk-demo'" in note
    assert "the recipe comes from the sdist's own metadata" in note
    recipe = YAML(typ="safe").load(result.recipe)
    assert recipe["requirements"]["run"] == ["python", "packaging >=20"]  # the py2 backport's marker is false
    assert recipe["build"]["python"]["entry_points"] == ["gsk-demo = gskdemo:main"]
    assert "license" not in recipe["about"]  # the engine takes SPDX only
    assert "the sdist's licence 'LGPL-3+' is not an SPDX expression: left out of the recipe" in result.notes
    assert (result.name, result.version) == ("gsk-demo", "1.2.0")
    assert [t.command for t in result.tests] == [
        "python fastconda_check.py --dist gsk-demo",
        "gsk-demo --help",
    ]
    assert all(t.passed for t in result.tests)


def test_recipe_from_sdist_reads_pyproject_scripts_and_leaves_expressions_out(tmp_path: Path) -> None:
    import io
    import tarfile

    sdist = tmp_path / "tool-0.3.tar.gz"
    pyproject = b'[build-system]\nrequires = ["hatchling>=1.20"]\nbuild-backend = "hatchling.build"\n'
    pyproject += b'[project]\nname = "tool"\n[project.scripts]\ntool = "tool.cli:main [extra]"\n'
    with tarfile.open(sdist, "w:gz") as tar:
        info = tarfile.TarInfo("tool-0.3/pyproject.toml")
        info.size = len(pyproject)
        tar.addfile(info, io.BytesIO(pyproject))
    metadata = SdistMetadata(
        "Tool", "0.3", ("click>=8", "pytest; extra == 'test'"), summary="${{ evil }}", license="mit"
    )
    text, notes = recipe_from_sdist(sdist, metadata)
    recipe = YAML(typ="safe").load(text)
    assert notes == []
    assert recipe["package"]["name"] == "tool"
    assert recipe["context"]["version"] == "0.3"
    assert recipe["requirements"]["host"] == ["python", "pip", "hatchling >=1.20"]
    assert recipe["requirements"]["run"] == ["python", "click >=8"]
    assert recipe["build"]["python"]["entry_points"] == ["tool = tool.cli:main"]
    assert recipe["about"] == {"license": "MIT"}  # the summary would be an engine expression
    assert recipe["source"]["url"] == sdist.resolve().as_uri()
