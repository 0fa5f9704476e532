"""Requirements the channels cannot satisfy are named at once, before anything is built or installed.

The engine said only ``Failed to resolve dependencies`` (or ``Test failed`` after the whole build),
without the package's name; the user found one missing package per run. Real projects and packages
made in the test, the real seed channel, channels made from wheels with the wheel stage, real rattler.
``build``, ``test`` and ``env create`` say it in the same words: the list on the first line (with each
requirement's section), then per requirement where it came from, the versions the channels have, and
the command that fills it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fastconda.cli import ExitCode, main
from fastconda.settings import load_settings
from fastconda.wheel import WheelOptions, wheel_to_conda
from tests.wheel.wheelmaker import make_wheel

# two packages absent from the seed, one version the seed lacks (it has pytango 10)
DEPENDENCIES = ["packaging", "absent-one-xyz", "absent-two-xyz >=1", "pytango >=99"]
HEAD = "error: requirements missing from the channels: "


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    wheels = load_settings(overrides={"offline": True}).wheel_cache_dir
    monkeypatch.setenv("FASTCONDA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("FASTCONDA_WHEEL_CACHE", str(wheels))
    return tmp_path / "cache"


def _seed_pytango(err: str) -> None:
    """The closest version line names the seed's pytango (whatever its version), not 99."""
    line = next(line for line in err.splitlines() if line.strip().startswith("pytango >=99"))
    assert "the channels have pytango " in line
    assert "the channels have pytango 99" not in line


def _error_lines(err: str) -> list[str]:
    start = err.index(HEAD)
    return err[start:].splitlines()


def _wheel_channel(tmp_path: Path, name: str, requires: str = "") -> Path:
    """A channel made in the test from a wheel, with the wheel stage."""
    from fastconda.channel.local import add_packages

    (tmp_path / "wheels").mkdir(exist_ok=True)
    wheel = make_wheel(tmp_path / "wheels", name, metadata=requires)
    package = wheel_to_conda(wheel, tmp_path / "converted", WheelOptions(python="3.11")).path
    channel = tmp_path / f"channel-{name}"
    add_packages(channel, [package])
    return channel


def test_build_names_every_missing_requirement_before_the_engine(
    seed_url: str, tmp_path: Path, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "p"
    (project / "undecl").mkdir(parents=True)
    (project / "undecl" / "__init__.py").write_text("")
    listed = ", ".join(f'"{d}"' for d in DEPENDENCIES)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
        f'[project]\nname = "undecl-tool"\nversion = "0.1.0"\ndependencies = [{listed}]\n\n'
        '[tool.hatch.build.targets.wheel]\npackages = ["undecl"]\n'
    )
    output = tmp_path / "out-channel"
    code = main(["build", str(project), "-c", seed_url, "-o", str(output), "--offline"])
    err = capsys.readouterr().err
    assert code == ExitCode.FAILURE, err
    head, *details = _error_lines(err)
    assert head == HEAD + "absent-one-xyz (run), absent-two-xyz >=1 (run), pytango >=99 (run)"
    assert any(
        d.strip().startswith("absent-one-xyz (run, pyproject dependency): the channels have none")
        for d in details
    )
    assert any(d.strip().startswith("absent-two-xyz >=1 (run, pyproject dependency)") for d in details)
    _seed_pytango(err)
    fill = "fastconda channel fill DIR absent-one-xyz 'absent-two-xyz >=1' 'pytango >=99'"
    assert fill in err
    assert "`fastconda build --fill DIR` does it on the way" in err
    assert "packaging" not in head
    assert "rattler-build" not in err  # the engine never ran
    assert not output.exists() or not list(output.rglob("*.conda"))


def test_env_create_names_every_missing_requirement_in_the_same_words(
    seed_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    helper = _wheel_channel(tmp_path, "helper_pkg")  # in a second channel: satisfied, not named
    prefix = tmp_path / "env"
    argv = ["env", "create", str(prefix), "python", "helper-pkg", *DEPENDENCIES]
    code = main([*argv, "-c", helper.resolve().as_uri(), "-c", seed_url])
    err = capsys.readouterr().err
    assert code == ExitCode.FAILURE, err
    head, *details = _error_lines(err)
    assert head == HEAD + "absent-one-xyz (request), absent-two-xyz >=1 (request), pytango >=99 (request)"
    assert any(d.strip().startswith("absent-one-xyz (request): the channels have none") for d in details)
    _seed_pytango(err)
    assert "helper" not in head
    assert not prefix.exists()


def test_package_test_names_the_package_requirements_the_channels_lack(
    seed_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    requires = "".join(f"Requires-Dist: {d.replace(' ', '')}\n" for d in DEPENDENCIES)
    (tmp_path / "wheels").mkdir()
    wheel = make_wheel(tmp_path / "wheels", "needy_pkg", metadata=requires)
    package = wheel_to_conda(wheel, tmp_path / "converted", WheelOptions(python="3.11")).path
    code = main(["test", str(package), "-c", seed_url, "--no-pip-check"])
    err = capsys.readouterr().err
    assert code == ExitCode.FAILURE, err
    line = next(line for line in err.splitlines() if line.startswith("error: "))
    missing = "requirements missing from the channels: absent-one-xyz (run), absent-two-xyz >=1 (run), "
    assert line.endswith(missing + "pytango >=99 (run)"), line
    assert "absent-one-xyz (run): the channels have none" in err
    _seed_pytango(err)


OWN_RECIPE = """
package:
  name: own-tool
  version: "1.0"
build:
  noarch: python
  script: echo never built
requirements:
  host:
    - python
    - pip
    - absent-host-xyz
  run:
    - python
    - numpy >=999
tests:
  - script:
      - "true"
    requirements:
      run:
        - absent-test-xyz
"""


def test_a_projects_own_recipe_has_its_host_run_and_test_requirements_checked(
    seed_url: str, tmp_path: Path, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "own"
    (project / "recipe").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'own-tool'\nversion = '1.0'\n")
    (project / "recipe" / "recipe.yaml").write_text(OWN_RECIPE)
    output = tmp_path / "out-channel"
    code = main(["build", str(project), "-c", seed_url, "-o", str(output), "--offline"])
    err = capsys.readouterr().err
    assert code == ExitCode.FAILURE, err
    head, *details = _error_lines(err)
    assert head == HEAD + "absent-host-xyz (host), numpy >=999 (run), absent-test-xyz (test)"
    assert any(d.strip().startswith("absent-host-xyz (host, the project's recipe)") for d in details)
    assert any(
        d.strip().startswith("numpy >=999 (run, the project's recipe): the channels have numpy ")
        for d in details
    )
    assert not output.exists() or not list(output.rglob("*.conda"))
