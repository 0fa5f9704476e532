"""``fastconda wheel``: wheels in, packages out (or into a channel); bad input is one clear line, exit 1."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from fastconda.channel.local import list_packages
from fastconda.cli import ExitCode, main
from tests.wheel.wheelmaker import make_wheel, read_conda

GOOD_META = (
    "Requires-Dist: foo-bar>=1.2\n"
    "Requires-Dist: colorama; sys_platform == 'win32'\n"
    "Provides-Extra: fast\n"
    "Requires-Dist: speedups~=2.1; extra == 'fast'\n"
)


def _good(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return make_wheel(folder, metadata=GOOD_META, entry_points="[console_scripts]\ndemo = demo_pkg:main\n")


def _json(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    data: dict[str, object] = json.loads(capsys.readouterr().out)
    return data


def test_pure_and_binary_wheels_become_packages_in_the_output_folder(
    tmp_path: Path, real_wheel: Callable[[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    wheels = [str(_good(tmp_path / "w")), str(real_wheel("psutil==7.2.2"))]
    out = tmp_path / "dist"
    assert main(["wheel", *wheels, "-o", str(out), "--python", "3.11", "--json"]) == ExitCode.OK
    packages = _json(capsys)["packages"]
    assert isinstance(packages, list)
    assert [(p["name"], p["subdir"]) for p in packages] == [("demo-pkg", "noarch"), ("psutil", "linux-64")]
    assert sorted(p.name for p in out.iterdir()) == sorted(Path(p["path"]).name for p in packages)
    demo = packages[0]
    assert demo["depends"] == ["foo-bar >=1.2", "python"], "markers evaluated, extras left out"
    assert demo["entry_points"] == ["demo = demo_pkg:main"]
    link = read_conda(Path(demo["path"])).json("link.json")
    assert link["noarch"]["entry_points"] == ["demo = demo_pkg:main"]


def test_channel_option_adds_the_packages_atomically_and_writes_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    wheel = _good(tmp_path / "w")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    channel = tmp_path / "channel"
    assert main(["wheel", str(wheel), "--channel", str(channel)]) == ExitCode.OK
    assert "1 added" in capsys.readouterr().out
    assert [(r["name"], r["subdir"]) for r in list_packages(channel)] == [("demo-pkg", "noarch")]
    assert list(work.iterdir()) == []
    assert main(["wheel", str(wheel), "--channel", str(channel)]) == ExitCode.OK
    assert "0 added, 1 unchanged" in capsys.readouterr().out


def _non_wheel(folder: Path) -> Path:
    path = folder / "demo_pkg-1.0.tar.gz"
    path.write_bytes(b"not a wheel")
    return path


def _corrupt(folder: Path) -> Path:
    path = folder / "demo_pkg-1.0-py3-none-any.whl"
    path.write_bytes(b"PK\x03\x04 this is not a zip archive at all")
    return path


def _tampered(folder: Path) -> Path:
    return make_wheel(folder, tamper={"demo_pkg/__init__.py": b"import os; os.system('evil')\n"})


def _traversal(folder: Path) -> Path:
    return make_wheel(folder, files={"demo_pkg/__init__.py": "", "../escape.py": "x = 1\n"})


def _unknown_platform(folder: Path) -> Path:
    return make_wheel(folder, tag="cp311-cp311-plan9_x86_64")


def _symlink(folder: Path) -> Path:
    wheel = make_wheel(folder)
    with zipfile.ZipFile(wheel, "a") as archive:
        link = zipfile.ZipInfo("demo_pkg/passwd")
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "../../../../etc/passwd")
    return wheel


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (_non_wheel, "not a wheel"),
        (_corrupt, "corrupt zip"),
        (_tampered, "does not match RECORD"),
        (_traversal, "../escape.py"),
        (_unknown_platform, "plan9_x86_64"),
        (_symlink, "link"),
    ],
)
def test_bad_input_is_one_clear_line_exit_1_and_nothing_written(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make: Callable[[Path], Path],
    fragment: str,
) -> None:
    good = _good(tmp_path / "good")
    (tmp_path / "bad").mkdir()
    bad = make(tmp_path / "bad")
    out, channel = tmp_path / "out", tmp_path / "channel"
    code = main(["wheel", str(good), str(bad), "-o", str(out), "--channel", str(channel), "--python", "3.11"])
    assert code == ExitCode.FAILURE
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = [line for line in captured.err.splitlines() if not line.startswith("convert [")]
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"error: {bad.name}: ")
    assert fragment in lines[0]
    assert not out.exists(), "a good wheel before the bad one is not written either"
    assert not channel.exists()


def test_name_map_file_in_toml_or_yaml_renames_dependencies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wheel = _good(tmp_path / "w")
    toml = tmp_path / "names.toml"
    toml.write_text('[names]\nfoo_bar = "foobar"\ndemo-pkg = "demo"\n')
    yaml = tmp_path / "names.yaml"
    yaml.write_text("Foo.Bar: foo-bar-conda\n")
    for mapping, expected in ((toml, ("demo", "foobar >=1.2")), (yaml, ("demo-pkg", "foo-bar-conda >=1.2"))):
        out = tmp_path / mapping.suffix[1:]
        assert main(["wheel", str(wheel), "-o", str(out), "--name-map", str(mapping), "--json"]) == 0
        (package,) = _json(capsys)["packages"]  # type: ignore[misc]
        assert (package["name"], package["depends"][0]) == expected


def test_broken_name_map_is_an_error_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mapping = tmp_path / "names.yaml"
    mapping.write_text("a: [1\n")
    out = tmp_path / "out"
    assert main(["wheel", str(_good(tmp_path / "w")), "-o", str(out), "--name-map", str(mapping)]) == 1
    assert "names.yaml: not valid YAML" in capsys.readouterr().err
    assert not out.exists()


def test_extras_are_included_on_request_and_unknown_extras_warn_with_exit_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wheel = _good(tmp_path / "w")
    args = ["wheel", str(wheel), "-o", str(tmp_path / "out"), "--json"]
    assert main([*args, "--extras", "fast"]) == ExitCode.OK
    (package,) = _json(capsys)["packages"]  # type: ignore[misc]
    assert "speedups >=2.1,2.*" in package["depends"]
    assert main([*args, "--extras", "fast,nope", "--build-number", "1"]) == ExitCode.WARNINGS
    captured = capsys.readouterr()
    assert "extra 'nope' is not provided" in captured.err
    assert json.loads(captured.out)["packages"][0]["build"].endswith("_1")
