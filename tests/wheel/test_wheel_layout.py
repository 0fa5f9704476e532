"""What a converted package contains, on small wheels built in the test."""

from __future__ import annotations

import csv
import hashlib
import io
import time
from pathlib import Path

import pytest

from fastconda.wheel import WheelOptions, wheel_to_conda
from tests.wheel.wheelmaker import make_wheel, read_conda, record_hash

PLACEHOLDER = "/opt/anaconda1anaconda2anaconda3"
ENTRY_POINTS = "[console_scripts]\ndemo = demo_pkg.cli:main\n[gui_scripts]\ndemo-gui = demo_pkg.gui:App.run\n"
METADATA = (
    "Summary: A demo\nLicense-Expression: MIT\nRequires-Python: >=3.9\n"
    "Project-URL: Documentation, https://demo.invalid/docs\nProject-URL: Source, https://git.invalid/demo\n"
    "Requires-Dist: Typing-Extensions>=4.5\n"
    "Requires-Dist: colorama; sys_platform == 'win32'\n"
    "Requires-Dist: tomli>=1.1; python_version < '3.11'\n"
    "Requires-Dist: numpy (<3,>=1.22)\n"
    "Requires-Dist: numpy!=1.25.0\n"
    "Requires-Dist: torch~=2.1\n"
    "Provides-Extra: fast\nRequires-Dist: orjson>=3; extra == 'fast'\n"
    "Provides-Extra: all\nRequires-Dist: demo-pkg[fast]; extra == 'all'\n"
)


def _pure(tmp_path: Path) -> Path:
    files: dict[str, bytes | str] = {
        "demo_pkg/__init__.py": "",
        "demo_pkg/cli.py": "def main():\n    return 0\n",
        "demo_pkg/__pycache__/cli.cpython-311.pyc": b"\x00bytecode",
        "demo_pkg-1.0.data/scripts/demo-tool": "#!python\nprint('hi')\n",
        "demo_pkg-1.0.data/data/share/demo/config.toml": "a = 1\n",
        "demo_pkg-1.0.dist-info/direct_url.json": '{"url": "file:///build"}',
        "demo_pkg-1.0.dist-info/licenses/LICENSE": "MIT text\n",
    }
    return make_wheel(tmp_path, files=files, metadata=METADATA, entry_points=ENTRY_POINTS)


def test_pure_wheel_becomes_noarch_python_with_entry_points(tmp_path: Path) -> None:
    package = wheel_to_conda(_pure(tmp_path), tmp_path / "out", WheelOptions(python="3.11"))
    assert package.path == tmp_path / "out" / f"demo-pkg-1.0-{package.build}.conda"
    assert package.build.startswith("pyh") and package.build.endswith("_0")
    assert package.subdir == "noarch"
    conda = read_conda(package.path)
    index = conda.json("index.json")
    assert index["noarch"] == "python"
    assert index["subdir"] == "noarch"
    assert index["name"] == "demo-pkg"
    assert index["license"] == "MIT"
    assert index["depends"] == [
        "numpy >=1.22,!=1.25.0,<3a0",
        "python >=3.9",
        "pytorch >=2.1,2.*",
        "typing_extensions >=4.5",
    ]
    assert conda.json("link.json") == {
        "noarch": {
            "type": "python",
            "entry_points": ["demo = demo_pkg.cli:main", "demo-gui = demo_pkg.gui:App.run"],
        },
        "package_metadata_version": 1,
    }
    assert package.entry_points == ("demo = demo_pkg.cli:main", "demo-gui = demo_pkg.gui:App.run")
    about = conda.json("about.json")
    assert about["summary"] == "A demo"
    assert about["doc_url"] == "https://demo.invalid/docs"
    assert about["dev_url"] == "https://git.invalid/demo"
    assert conda.info["info/licenses/LICENSE"] == b"MIT text\n"
    assert sorted(conda.pkg) == [
        "python-scripts/demo-tool",
        "share/demo/config.toml",
        "site-packages/demo_pkg-1.0.dist-info/INSTALLER",
        "site-packages/demo_pkg-1.0.dist-info/METADATA",
        "site-packages/demo_pkg-1.0.dist-info/RECORD",
        "site-packages/demo_pkg-1.0.dist-info/WHEEL",
        "site-packages/demo_pkg-1.0.dist-info/entry_points.txt",
        "site-packages/demo_pkg-1.0.dist-info/licenses/LICENSE",
        "site-packages/demo_pkg/__init__.py",
        "site-packages/demo_pkg/cli.py",
    ]
    assert conda.pkg["site-packages/demo_pkg-1.0.dist-info/INSTALLER"] == b"conda\n"
    assert conda.pkg["python-scripts/demo-tool"] == f"#!{PLACEHOLDER}/bin/python\nprint('hi')\n".encode()
    assert conda.modes["python-scripts/demo-tool"] == 0o755
    assert "info/has_prefix" in conda.info


def test_paths_json_matches_the_payload(tmp_path: Path) -> None:
    package = wheel_to_conda(_pure(tmp_path), tmp_path / "out")
    conda = read_conda(package.path)
    paths = conda.json("paths.json")
    assert paths["paths_version"] == 1
    assert [p["_path"] for p in paths["paths"]] == sorted(conda.pkg)
    for entry in paths["paths"]:
        data = conda.pkg[entry["_path"]]
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["size_in_bytes"] == len(data)
        assert entry["path_type"] == "hardlink"
        assert ("prefix_placeholder" in entry) == (entry["_path"] == "python-scripts/demo-tool")
    assert conda.info["info/files"].decode().splitlines() == sorted(conda.pkg)


def test_record_describes_the_installed_layout(tmp_path: Path) -> None:
    package = wheel_to_conda(_pure(tmp_path), tmp_path / "out")
    conda = read_conda(package.path)
    record = conda.pkg["site-packages/demo_pkg-1.0.dist-info/RECORD"].decode()
    rows = {row[0]: row for row in csv.reader(io.StringIO(record))}
    assert rows["demo_pkg/cli.py"][1] == record_hash(conda.pkg["site-packages/demo_pkg/cli.py"])
    assert rows["../../../bin/demo-tool"][1:] == ["", ""]  # rewritten at install time: no hash
    assert rows["../../../share/demo/config.toml"][2] == "6"
    assert "demo_pkg-1.0.dist-info/direct_url.json" not in rows
    assert rows["demo_pkg-1.0.dist-info/RECORD"][1:] == ["", ""]
    assert not any("__pycache__" in p for p in rows)


def test_extras_are_included_only_when_asked_and_self_references_expand(tmp_path: Path) -> None:
    wheel = _pure(tmp_path)
    plain = wheel_to_conda(wheel, tmp_path / "a")
    assert not any(d.startswith("orjson") for d in plain.depends)
    full = wheel_to_conda(wheel, tmp_path / "b", WheelOptions(extras=("all",)))
    assert "orjson >=3" in full.depends
    assert not any(d.startswith("demo") for d in full.depends)
    assert full.build != plain.build, "different depends must give a different build string"
    unknown = wheel_to_conda(wheel, tmp_path / "c", WheelOptions(extras=("nope",)))
    assert any("'nope'" in w for w in unknown.warnings)


def test_markers_follow_the_target_python(tmp_path: Path) -> None:
    old = wheel_to_conda(_pure(tmp_path), tmp_path / "a", WheelOptions(python="3.10"))
    assert "tomli >=1.1" in old.depends
    new = wheel_to_conda(_pure(tmp_path), tmp_path / "b", WheelOptions(python="3.12"))
    assert not any(d.startswith(("tomli", "colorama")) for d in new.depends)


def test_user_name_map_overrides_the_builtin_table(tmp_path: Path) -> None:
    options = WheelOptions(name_map={"torch": "pytorch-cpu", "Demo_Pkg": "demo"})
    package = wheel_to_conda(_pure(tmp_path), tmp_path / "out", options)
    assert package.name == "demo"
    assert "pytorch-cpu >=2.1,2.*" in package.depends


def test_same_wheel_gives_the_same_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wheel = _pure(tmp_path)
    first = wheel_to_conda(wheel, tmp_path / "a")
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 3600)
    second = wheel_to_conda(wheel, tmp_path / "b")
    assert first.sha256 == second.sha256
    assert first.path.read_bytes() == second.path.read_bytes()
    assert hashlib.sha256(first.path.read_bytes()).hexdigest() == first.sha256


def test_binary_wheel_gets_python_pins_and_real_launchers(tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path,
        tag="cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
        files={"demo_pkg/__init__.py": "", "demo_pkg/_speed.cpython-311-x86_64-linux-gnu.so": b"\x7fELF..."},
        metadata="Requires-Dist: numpy>=1.22\n",
        entry_points=ENTRY_POINTS,
    )
    package = wheel_to_conda(wheel, tmp_path / "out", WheelOptions(platform="linux-64"))
    assert package.subdir == "linux-64"
    assert package.build.startswith("py311h")
    conda = read_conda(package.path)
    index = conda.json("index.json")
    assert index["depends"] == ["numpy >=1.22", "python >=3.11,<3.12.0a0", "python_abi 3.11.* *_cp311"]
    assert index["constrains"] == ["__glibc >=2.17"]
    assert (index["platform"], index["arch"], index["subdir"]) == ("linux", "x86_64", "linux-64")
    assert "noarch" not in index and "info/link.json" not in conda.info
    site = "lib/python3.11/site-packages"
    assert f"{site}/demo_pkg/_speed.cpython-311-x86_64-linux-gnu.so" in conda.pkg
    launcher = conda.pkg["bin/demo"].decode()
    assert launcher.startswith(f"#!{PLACEHOLDER}/bin/python\n")
    assert "from demo_pkg.cli import main" in launcher
    assert "from demo_pkg.gui import App" in conda.pkg["bin/demo-gui"].decode()
    assert conda.modes["bin/demo"] == 0o755
    has_prefix = conda.info["info/has_prefix"].decode().splitlines()
    assert has_prefix == [f"{PLACEHOLDER} text bin/demo", f"{PLACEHOLDER} text bin/demo-gui"]
    by_path = {p["_path"]: p for p in conda.json("paths.json")["paths"]}
    assert by_path["bin/demo"]["prefix_placeholder"] == PLACEHOLDER
    assert by_path["bin/demo"]["file_mode"] == "text"
    record = conda.pkg[f"{site}/demo_pkg-1.0.dist-info/RECORD"].decode()
    assert "../../../bin/demo,," in record


def test_abi3_wheel_targets_the_requested_python(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, tag="cp38-abi3-manylinux_2_28_x86_64")
    package = wheel_to_conda(wheel, tmp_path / "out", WheelOptions(python="3.12", platform="linux-64"))
    assert "python_abi 3.12.* *_cp312" in package.depends
    assert any(p.startswith("lib/python3.12/") for p in read_conda(package.path).pkg)


def test_headers_in_a_pure_wheel_are_refused_but_data_scripts_are_fine(tmp_path: Path) -> None:
    from fastconda.errors import WheelError

    wheel = make_wheel(tmp_path, files={"demo_pkg-1.0.data/headers/demo.h": "int x;\n"})
    with pytest.raises(WheelError, match="headers"):
        wheel_to_conda(wheel, tmp_path / "out")
