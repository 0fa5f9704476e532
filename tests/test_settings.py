"""Settings merge in a fixed order: defaults < [tool.fastconda] < FASTCONDA_* < flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastconda.errors import SettingsError
from fastconda.settings import PackageTestSettings, Settings, load_settings


def write_pyproject(folder: Path, body: str) -> Path:
    (folder / "pyproject.toml").write_text(f"[project]\nname = 'x'\n\n[tool.fastconda]\n{body}\n")
    return folder


def test_defaults_use_conda_forge_on_a_normal_machine(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={})
    assert settings.channels == ("conda-forge",)
    assert settings.offline is False
    assert settings == Settings(cache_dir=settings.cache_dir)


def test_each_layer_overrides_the_one_before(tmp_path: Path) -> None:
    project = write_pyproject(tmp_path, 'channels = ["file:///site"]\ncompression-level = 7\noffline = true')
    from_file = load_settings(project, environ={})
    assert from_file.channels == ("file:///site",)
    assert from_file.compression_level == 7
    from_env = load_settings(project, environ={"FASTCONDA_COMPRESSION_LEVEL": "9", "FASTCONDA_OFFLINE": "no"})
    assert (from_env.channels, from_env.compression_level, from_env.offline) == (("file:///site",), 9, False)
    from_flags = load_settings(
        project,
        environ={"FASTCONDA_COMPRESSION_LEVEL": "9"},
        overrides={"compression_level": 1, "offline": None},
    )
    assert from_flags.compression_level == 1
    assert from_flags.offline is True  # a flag that was not given (None) does not override


def test_pyproject_is_found_from_a_subfolder_and_relative_paths_are_resolved_against_it(
    tmp_path: Path,
) -> None:
    project = write_pyproject(tmp_path, 'wheel-cache = "wheels"')
    (project / "src" / "pkg").mkdir(parents=True)
    settings = load_settings(project / "src" / "pkg", environ={})
    assert settings.wheel_cache_dir == tmp_path / "wheels"


def test_env_list_is_comma_separated(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={"FASTCONDA_CHANNELS": "file:///a, conda-forge"})
    assert settings.channels == ("file:///a", "conda-forge")


def test_unknown_key_in_pyproject_names_file_and_known_keys(tmp_path: Path) -> None:
    project = write_pyproject(tmp_path, "chanels = []")
    with pytest.raises(SettingsError, match=r"pyproject.toml: unknown setting 'chanels'.*channels"):
        load_settings(project, environ={})


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"FASTCONDA_OFFLINE": "maybe"}, "FASTCONDA_OFFLINE: invalid value for 'offline'"),
        ({"FASTCONDA_COMPRESSION_LEVEL": "high"}, "FASTCONDA_COMPRESSION_LEVEL: invalid value"),
    ],
)
def test_bad_environment_values_say_which_variable(
    tmp_path: Path, environ: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(tmp_path, environ=environ)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", True), ("true", True), ("YES", True), (" on ", True), ("0", False), ("false", False),
     ("no", False), ("Off", False), ("", False)],
)  # fmt: skip
def test_every_documented_boolean_spelling_is_read_from_the_environment(
    tmp_path: Path, text: str, expected: bool
) -> None:
    assert load_settings(tmp_path, environ={"FASTCONDA_OFFLINE": text}).offline is expected
    settings = load_settings(tmp_path, environ={"FASTCONDA_TEST_PIP_CHECK": text})
    assert settings.test.pip_check is expected


def test_broken_toml_is_reported_with_its_path(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.fastconda\n")
    with pytest.raises(SettingsError, match=r"pyproject\.toml: cannot read"):
        load_settings(tmp_path, environ={})


def test_test_table_merges_pyproject_then_environment_then_flags(tmp_path: Path) -> None:
    project = write_pyproject(
        tmp_path,
        "[tool.fastconda.test]\ncommands = ['server --help', 'echo a,b']\npip-check = false\n"
        "pytest = 'tests'\nskip-imports = ['gui']\ntimeout = 30",
    )
    from_file = load_settings(project, environ={}).test
    assert from_file.commands == ("server --help", "echo a,b")
    assert (from_file.pip_check, from_file.pytest, from_file.skip_imports) == (
        False,
        tmp_path / "tests",
        ("gui",),
    )
    environ = {"FASTCONDA_TEST_TIMEOUT": "5", "FASTCONDA_TEST_COMMANDS": "one, two\nthree"}
    from_env = load_settings(project, environ=environ).test
    assert (from_env.timeout, from_env.commands, from_env.pip_check) == (5, ("one, two", "three"), False)
    flags = {"timeout": None, "pip_check": True, "imports": ["json"]}
    from_flags = load_settings(project, environ=environ, overrides={"test": flags}).test
    assert (from_flags.timeout, from_flags.pip_check, from_flags.imports) == (5, True, ("json",))


def test_test_table_defaults_and_unknown_keys(tmp_path: Path) -> None:
    assert load_settings(tmp_path, environ={}).test == PackageTestSettings()
    project = write_pyproject(tmp_path, "[tool.fastconda.test]\ncomands = []")
    with pytest.raises(
        SettingsError, match=r"unknown setting 'comands' in \[tool.fastconda.test\].*commands"
    ):
        load_settings(project, environ={})
    with pytest.raises(SettingsError, match="FASTCONDA_TEST_PIP_CHECK: invalid value"):
        load_settings(None, environ={"FASTCONDA_TEST_PIP_CHECK": "maybe"})
    with pytest.raises(SettingsError, match="unknown test setting 'nope'"):
        load_settings(None, environ={}, overrides={"test": {"nope": 1}})


def test_relative_cache_paths_from_the_environment_are_anchored_at_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # tools (the sdist backend, pip) later run in other folders: a relative path would point elsewhere
    monkeypatch.chdir(tmp_path)
    settings = load_settings(tmp_path, environ={"FASTCONDA_CACHE_DIR": ".cache/fc"})
    assert settings.cache_dir == tmp_path / ".cache" / "fc"
    assert settings.cache_dir.is_absolute()


def test_fastconda_toml_holds_the_same_settings_for_projects_without_a_pyproject(tmp_path: Path) -> None:
    # a CMake C++ server has no pyproject.toml: its settings are the top level of fastconda.toml
    (tmp_path / "fastconda.toml").write_text(
        'channels = ["file:///site"]\n\n[test]\nstart = "skip"\n'
        'commands = ["Server --help 2>&1 | grep -i usage"]\n'
    )
    settings = load_settings(tmp_path, environ={})
    assert settings.channels == ("file:///site",)
    assert settings.test.start == "skip"
    assert settings.test.commands == ("Server --help 2>&1 | grep -i usage",)
    assert load_settings(tmp_path, environ={"FASTCONDA_TEST_START": "ready"}).test.start == "ready"
    write_pyproject(tmp_path, 'channels = ["file:///other"]')  # in one folder, fastconda.toml wins
    assert load_settings(tmp_path, environ={}).channels == ("file:///site",)


def test_the_start_check_is_one_of_its_modes(tmp_path: Path) -> None:
    assert load_settings(tmp_path, environ={}).test.start == "init"
    (tmp_path / "fastconda.toml").write_text('[test]\nstart = "never"\n')
    expected = (
        r"fastconda.toml \[test\]: invalid value for 'start': expected one of 'init', 'ready', 'skip', got"
    )
    with pytest.raises(SettingsError, match=expected):
        load_settings(tmp_path, environ={})
    (tmp_path / "fastconda.toml").write_text('[test]\nstrat = "skip"\n')
    with pytest.raises(SettingsError, match=r"fastconda.toml: unknown setting 'strat' in \[test\]"):
        load_settings(tmp_path, environ={})
    (tmp_path / "fastconda.toml").write_text('chanels = ["x"]\n')
    with pytest.raises(SettingsError, match=r"fastconda.toml: unknown setting 'chanels' \(known: "):
        load_settings(tmp_path, environ={})
