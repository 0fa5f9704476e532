"""Legacy setuptools projects (setup.py / setup.cfg, no [build-system]): the facility rules read what they
declare without running them, and fill what grayskull could not recover offline.

The shapes are those of real facility projects from PyPI: tango-simlib 0.8.0 (``setup_requires=
["katversion"]``, ``scripts=[...]``, ``futures; python_version<'3'``, ``PyTango>=9.2.2``, a docs extra),
katcp 0.9.3 and katportalclient 0.2.2 (katversion, ``scripts=[]``, no ``[build-system]``).
"""

from __future__ import annotations

import dataclasses
import io
import shutil
import tarfile
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from fastconda.channel.local import add_packages, channel_url
from fastconda.errors import RecipeError
from fastconda.pipeline.build import build_project
from fastconda.pipeline.project import detect
from fastconda.pipeline.rules import apply_rules
from fastconda.wheel.convert import wheel_to_conda
from tests.helpers import build_options

# what grayskull writes (converted) when it cannot run a setup.py offline: nothing, and noarch
EMPTY_RECIPE = """
context:
  version: 0.0.0
package:
  name: tango_simlib
  version: ${{ version }}
source:
  url: file:///tmp/tango_simlib-0.0.0.tar.gz
  sha256: a9f307a83ca69489fb7129e4906fe2c227066a09b5d67714349dd3c8014125ab
build:
  number: 0
  noarch: python
  script: $PYTHON -m pip install . -vv
requirements:
  host:
    - python
    - pip
  run:
    - python
about:
  summary: Generic library for creating simulated TANGO devices.
"""

SIMLIB_SETUP = """
from setuptools import find_packages, setup

setup(
    name="tango_simlib",
    packages=find_packages(),
    setup_requires=["katversion"],
    use_katversion=True,
    install_requires=["future", "futures; python_version<'3'", "PyTango>=9.2.2"],
    scripts=["scripts/DishElementMaster-DS", "scripts/Weather-DS"],
    entry_points={"console_scripts": ["tango-yaml = tango_simlib.tango_yaml_tools.main:main"]},
)
"""


def _project(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def _load(text: str) -> dict[str, object]:
    data = YAML(typ="safe").load(text)
    assert isinstance(data, dict)
    return data


def _refusal(root: Path) -> str:
    """The one-line error of the noarch rule on *root*, given grayskull's empty noarch recipe."""
    with pytest.raises(RecipeError) as info:
        apply_rules(EMPTY_RECIPE, detect(root))
    message = str(info.value)
    assert "\n" not in message
    assert "replace them by an entry point" in message
    return message


def test_scripts_as_a_literal_list_in_setup_py_are_read_without_running_it(tmp_path: Path) -> None:
    # running this setup.py would leave a file behind: the reader must only parse it
    setup = SIMLIB_SETUP + "open(__file__ + '.ran', 'w').close()\n"
    root = _project(tmp_path, {"setup.py": setup})
    message = _refusal(root)
    assert message.startswith(f"{root / 'setup.py'}:10: the project installs `scripts=` files")
    assert "(scripts/DishElementMaster-DS, scripts/Weather-DS)" in message
    assert not (root / "setup.py.ran").exists()


def test_scripts_through_a_variable_or_options_dict_are_read(tmp_path: Path) -> None:
    variable = """
        import setuptools
        SCRIPTS = ["bin/Server"]
        setuptools.setup(name="x", scripts=SCRIPTS + ["bin/other"])
    """
    assert "(bin/Server, bin/other)" in _refusal(_project(tmp_path / "a", {"setup.py": variable}))
    options = """
        from setuptools import setup
        options = dict(name="x", scripts=["bin/Server"])
        setup(**options)
    """
    assert "(bin/Server)" in _refusal(_project(tmp_path / "b", {"setup.py": options}))
    computed = 'from glob import glob\nfrom setuptools import setup\nsetup(scripts=glob("bin/*"))\n'
    message = _refusal(_project(tmp_path / "c", {"setup.py": computed}))
    assert "installs `scripts=` files, which" in message  # declared, names unknown


def test_scripts_in_setup_cfg_are_read(tmp_path: Path) -> None:
    cfg = """
        [metadata]
        name = server
        [options]
        packages = find:
        scripts =
            bin/Server
            bin/Other
    """
    root = _project(tmp_path, {"setup.cfg": cfg, "setup.py": "import setuptools\nsetuptools.setup()\n"})
    message = _refusal(root)
    assert message.startswith(f"{root / 'setup.cfg'} [options] scripts: the project installs")
    assert "(bin/Server, bin/Other)" in message


def test_only_declared_scripts_are_refused(tmp_path: Path) -> None:
    empty = 'from setuptools import setup\nsetup(name="katportalclient", scripts=[])\n'  # katportalclient
    apply_rules(EMPTY_RECIPE, detect(_project(tmp_path / "a", {"setup.py": empty})))
    apply_rules(EMPTY_RECIPE, detect(_project(tmp_path / "b", {"setup.py": 'print "python 2"\n'})))
    entry_points = 'from setuptools import setup\nsetup(entry_points={"console_scripts": ["a = b:c"]})\n'
    apply_rules(EMPTY_RECIPE, detect(_project(tmp_path / "c", {"setup.py": entry_points})))
    toml = '[build-system]\nrequires = ["setuptools"]\n[tool.setuptools]\nscript-files = ["bin/Server"]\n'
    assert "(bin/Server)" in _refusal(_project(tmp_path / "d", {"pyproject.toml": toml}))


def test_noarch_rule_refuses_scripts_whatever_grayskull_made_of_the_project(tmp_path: Path) -> None:
    # grayskull could not run setup.py (katversion missing offline): its recipe looks noarch and empty
    root = _project(tmp_path, {"setup.py": SIMLIB_SETUP})
    assert _refusal(root).startswith(f"{root / 'setup.py'}:10: the project installs `scripts=` files")


def test_project_without_build_system_gets_the_fallback_backend_in_host(tmp_path: Path) -> None:
    root = _project(tmp_path / "legacy", {"setup.py": "from setuptools import setup\nsetup(name='legacy')\n"})
    ruled = apply_rules(EMPTY_RECIPE, detect(root))
    host = _load(ruled.text)["requirements"]["host"]  # type: ignore[index]
    assert host == ["python", "pip", "setuptools >=40.8.0", "wheel", "python-installer"]
    assert any("PEP 517 fallback backend" in note for note in ruled.notes)
    # a pyproject.toml without [build-system] (katportalclient's: only [tool.black]) is the same
    _project(root, {"pyproject.toml": "[tool.black]\nline-length = 90\n"})
    ruled = apply_rules(EMPTY_RECIPE, detect(root))
    assert _load(ruled.text)["requirements"]["host"] == host  # type: ignore[index]
    # a project that names its build system gets no backend added (only the build script's installer)
    _project(root, {"pyproject.toml": '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "x"\n'})
    ruled = apply_rules(EMPTY_RECIPE, detect(root))
    assert _load(ruled.text)["requirements"]["host"] == ["python", "pip", "python-installer"]  # type: ignore[index]


SIMLIB_PKG_INFO = """\
Metadata-Version: 2.4
Name: tango_simlib
Version: 0.0.0
Summary: Generic library for creating simulated TANGO devices.
Requires-Python: >=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*, !=3.4.*
Provides-Extra: docs
Requires-Dist: future
Requires-Dist: futures; python_version < "3"
Requires-Dist: pyrsistent==0.16.0; python_version < "3"
Requires-Dist: pyrsistent; python_version >= "3"
Requires-Dist: numpy
Requires-Dist: PyTango>=9.2.2
Requires-Dist: msgpack>=1,<2
Requires-Dist: tango_simlib[docs]; extra == "all"
Requires-Dist: Sphinx; extra == "docs"

Generic library for creating simulated TANGO devices.
"""


def _sdist(folder: Path, name: str, pkg_info: str) -> Path:
    """A .tar.gz sdist holding PKG-INFO and setup.py, as the sdist build writes it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for member, text in ((f"{name}/PKG-INFO", pkg_info), (f"{name}/setup.py", SIMLIB_SETUP)):
            data = text.encode()
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_run_requirements_come_from_pkg_info_when_grayskull_recovered_none(tmp_path: Path) -> None:
    from fastconda.pipeline.pkg_info import read_sdist_metadata

    root = _project(tmp_path / "simlib", {"setup.py": "from setuptools import setup\nsetup()\n"})
    sdist = read_sdist_metadata(_sdist(tmp_path / "dist", "tango_simlib-0.0.0", SIMLIB_PKG_INFO))
    assert sdist is not None
    assert sdist.name == "tango_simlib"
    ruled = apply_rules(EMPTY_RECIPE, detect(root), sdist=sdist)
    run = _load(ruled.text)["requirements"]["run"]  # type: ignore[index]
    # markers evaluated for noarch python 3, extras dropped, PyPI names mapped to conda names
    assert run == ["python", "future", "pyrsistent", "numpy", "pytango >=9.2.2", "msgpack-python >=1,<2a0"]
    note = next(n for n in ruled.notes if "PKG-INFO" in n)
    assert note.startswith("grayskull recovered no run requirements for tango_simlib")
    # the package test looks up the distribution pip installs, by the sdist's name
    assert "python fastconda_check.py --dist tango_simlib" in ruled.text


def test_run_requirements_grayskull_recovered_are_kept(tmp_path: Path) -> None:
    from fastconda.pipeline.pkg_info import read_sdist_metadata

    root = _project(tmp_path / "simlib", {"setup.py": "from setuptools import setup\nsetup()\n"})
    sdist = read_sdist_metadata(_sdist(tmp_path / "dist", "tango_simlib-0.0.0", SIMLIB_PKG_INFO))
    recipe = EMPTY_RECIPE.replace("    - python\nabout", "    - python\n    - pytango >=9.4\nabout")
    ruled = apply_rules(recipe, detect(root), sdist=sdist)
    assert _load(ruled.text)["requirements"]["run"] == ["python", "pytango >=9.4"]  # type: ignore[index]
    assert not any("PKG-INFO" in n for n in ruled.notes)


KATVERSION_SETUP = """
from setuptools import setup

setup(
    name="kv-tool",
    version="0.3.0",
    packages=["kvtool"],
    setup_requires=["katversion"],  # not installable offline: grayskull cannot run this file
    use_katversion=True,
    install_requires=["packaging>=20", "futures; python_version<'3'"],
    extras_require={"docs": ["sphinx"]},
    entry_points={"console_scripts": ["kv-tool = kvtool:main"]},
)
"""


@pytest.mark.slow
# setuptools warns of the missing plugin's option (pypa/build forwards it as a warning) and goes on
@pytest.mark.filterwarnings("ignore:Unknown distribution option")
@pytest.mark.filterwarnings("ignore:Ignoring explicit version")  # katversion's, forwarded the same way
def test_legacy_setup_py_project_builds_offline_with_its_requirements(
    seed_url: str, tmp_path: Path, real_wheel: Callable[[str], Path]
) -> None:
    root = _project(
        tmp_path / "kv",
        {
            "setup.py": KATVERSION_SETUP,
            "___version___": "0.3.1\n",  # where katversion reads the version outside a git checkout
            "kvtool/__init__.py": "import packaging.version\n\ndef main():\n    print('usage: kv-tool')\n",
        },
    )
    # the sdist's backend gets katversion (its setup_requires) from the wheel cache, with setuptools
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for requirement in ("setuptools==84.2.1", "wheel==0.48.0", "katversion==1.3", "packaging==26.4"):
        shutil.copy(real_wheel(requirement), wheels)
    # and the recipe's host environment gets it (grayskull puts setup_requires there) as a conda package
    katversion = wheel_to_conda(wheels / real_wheel("katversion==1.3").name, tmp_path / "pkgs").path
    add_packages(tmp_path / "plugins", [katversion])
    channels = (channel_url(tmp_path / "plugins"), seed_url)
    options = dataclasses.replace(build_options(channels, tmp_path / "channel"), wheel_cache=wheels)
    result = build_project(root, options)
    assert result.version == "0.3.1"  # katversion's, not setup.py's literal (nor 0.0.0 without it)
    recipe = _load(result.recipe)
    assert recipe["requirements"] == {  # type: ignore[comparison-overlap]
        "host": ["python", "katversion", "pip", "setuptools >=40.8.0", "wheel", "python-installer"],
        # grayskull's `# [py<3]` for the Python 2 backport: false, as conda-build reads it
        "run": ["python", "packaging >=20", {"if": "false", "then": "futures"}],
    }
    assert recipe["build"]["noarch"] == "python"  # type: ignore[index]
    assert result.tests[0].command == "python fastconda_check.py --dist kv-tool"
    assert all(t.passed for t in result.tests)
    assert "import kvtool: ok" in "\n".join(result.tests[0].output)


def test_requirement_names_are_spelled_as_the_channels_spell_them(tmp_path: Path) -> None:
    """icepap 3.14: grayskull writes ``prompt_toolkit >=3``, the wheel stage names the package
    ``prompt-toolkit``; the test environment could not be solved. Only the spelling changes."""
    root = _project(tmp_path / "icepap", {"setup.py": "from setuptools import setup\nsetup()\n"})
    recipe = EMPTY_RECIPE.replace(
        "    - python\nabout",
        "    - python\n    - prompt_toolkit >=3\n    - python-build\n"
        "    - ${{ pin_compatible('numpy') }}\nabout",
    ).replace("    - pip\n", "    - pip\n    - setuptools_scm\n")
    ruled = apply_rules(recipe, detect(root))
    requirements = _load(ruled.text)["requirements"]
    assert requirements["run"] == [  # type: ignore[index]
        "python",
        "prompt-toolkit >=3",
        "python-build",  # grayskull's name for PyPI's build: another name, not another spelling
        "${{ pin_compatible('numpy') }}",
    ]
    assert "setuptools-scm" in requirements["host"]  # type: ignore[index]
    assert "prompt_toolkit → prompt-toolkit" in " ".join(ruled.notes)


def test_a_recipe_grayskull_left_without_noarch_for_a_python_selector_is_made_noarch(tmp_path: Path) -> None:
    """katcp 0.9.3, tango-simlib 0.8.0: ``futures; python_version<'3'`` makes grayskull write ``# [py<3]``
    and leave ``noarch`` out; nothing in such a project is specific to one Python. Compiled code is."""
    root = _project(tmp_path / "kv", {"setup.py": "from setuptools import setup\nsetup()\n"})
    recipe = EMPTY_RECIPE.replace("  noarch: python\n", "")
    ruled = apply_rules(recipe, detect(root))
    assert _load(ruled.text)["build"]["noarch"] == "python"  # type: ignore[index]
    assert any(n.startswith("noarch: python (grayskull left it out") for n in ruled.notes)
    compiled = recipe.replace("requirements:\n", "requirements:\n  build:\n    - ${{ compiler('c') }}\n")
    with pytest.raises(RecipeError, match=r"it compiles code \(\$\{\{ compiler\('c'\) \}\}\)"):
        apply_rules(compiled, detect(root))
