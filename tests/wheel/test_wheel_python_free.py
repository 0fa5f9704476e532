"""Wheels with nothing for Python (a C++ program built by scikit-build-core) and extra conda dependencies."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastconda.errors import WheelError
from fastconda.wheel import WheelOptions, wheel_to_conda
from tests.wheel.wheelmaker import make_wheel, read_conda

ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 64
SERVER = {
    "powermeter-1.2.data/data/bin/PowerMeter": ELF,
    "powermeter-1.2.data/data/share/powermeter/PowerMeter.xmi": "<xmi/>\n",
    "powermeter-1.2.dist-info/licenses/LICENSE": "GPL text\n",
}
EXECUTABLE = frozenset({"powermeter-1.2.data/data/bin/PowerMeter"})


def _server_wheel(
    folder: Path,
    *,
    tag: str = "py3-none-linux_x86_64",
    files: dict[str, str] | None = None,
    metadata: str = "",
    entry_points: str = "",
) -> Path:
    return make_wheel(
        folder,
        "powermeter",
        "1.2",
        tag=tag,
        files={**SERVER, **(files or {})},
        metadata=metadata,
        entry_points=entry_points,
        executable=EXECUTABLE,
    )


def test_data_only_platform_wheel_becomes_a_package_without_python(tmp_path: Path) -> None:
    package = wheel_to_conda(_server_wheel(tmp_path), tmp_path / "out", WheelOptions(platform="linux-64"))
    conda = read_conda(package.path)
    index = conda.json("index.json")
    assert index["depends"] == []
    assert (index["subdir"], index["platform"], index["arch"]) == ("linux-64", "linux", "x86_64")
    assert "noarch" not in index and "info/link.json" not in conda.info
    assert package.build.startswith("h") and package.build.endswith("_0")
    # the files at the prefix root, and nothing of pip's (no dist-info without a Python to list it)
    assert sorted(conda.pkg) == ["bin/PowerMeter", "share/powermeter/PowerMeter.xmi"]
    assert conda.modes["bin/PowerMeter"] == 0o755
    assert conda.info["info/licenses/LICENSE"] == b"GPL text\n"


def test_data_only_pure_wheel_becomes_noarch_generic(tmp_path: Path) -> None:
    wheel = _server_wheel(tmp_path, tag="py3-none-any")
    conda = read_conda(wheel_to_conda(wheel, tmp_path / "out").path)
    index = conda.json("index.json")
    assert (index["subdir"], index["noarch"], index["depends"]) == ("noarch", "generic", [])
    assert "platform" not in index and "info/link.json" not in conda.info


@pytest.mark.parametrize(
    ("tag", "files", "metadata", "entry_points"),
    [
        ("cp311-cp311-linux_x86_64", {}, "", ""),  # built for one Python's ABI
        ("py3-none-linux_x86_64", {"powermeter/__init__.py": ""}, "", ""),  # has Python code
        ("py3-none-linux_x86_64", {"powermeter-1.2.data/scripts/pm": "#!python\n"}, "", ""),  # a script
        ("py3-none-linux_x86_64", {}, "Requires-Dist: numpy\n", ""),  # needs Python packages
        ("py3-none-linux_x86_64", {}, "", "[console_scripts]\npm = powermeter:main\n"),
    ],
)
def test_wheels_with_anything_for_python_keep_their_python_dependency(
    tmp_path: Path, tag: str, files: dict[str, str], metadata: str, entry_points: str
) -> None:
    wheel = _server_wheel(tmp_path, tag=tag, files=files, metadata=metadata, entry_points=entry_points)
    package = wheel_to_conda(wheel, tmp_path / "out", WheelOptions(python="3.11", platform="linux-64"))
    assert any(d.startswith("python ") for d in package.depends)
    assert any(p.endswith(".dist-info/METADATA") for p in read_conda(package.path).pkg)


def test_extra_depends_are_added_and_change_the_build_string(tmp_path: Path) -> None:
    wheel = _server_wheel(tmp_path)
    plain = wheel_to_conda(wheel, tmp_path / "plain", WheelOptions(platform="linux-64"))
    options = WheelOptions(platform="linux-64", extra_depends=("cpptango  >=9.3.4,<9.4", "zeromq"))
    linked = wheel_to_conda(wheel, tmp_path / "linked", options)
    assert linked.depends == ("cpptango >=9.3.4,<9.4", "zeromq")
    assert read_conda(linked.path).json("index.json")["depends"] == ["cpptango >=9.3.4,<9.4", "zeromq"]
    assert linked.build != plain.build


def test_extra_depends_join_the_python_ones_of_a_binary_wheel(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, tag="cp311-cp311-linux_x86_64", metadata="Requires-Dist: numpy>=1.22\n")
    options = WheelOptions(platform="linux-64", extra_depends=("libhdf5 >=1.14,<1.15",))
    package = wheel_to_conda(wheel, tmp_path / "out", options)
    assert package.depends == (
        "libhdf5 >=1.14,<1.15",
        "numpy >=1.22",
        "python >=3.11,<3.12.0a0",
        "python_abi 3.11.* *_cp311",
    )


@pytest.mark.parametrize("spec", ["", "Cpp Tango", "cpptango >=9 <10 h1 extra", ">=9.3"])
def test_an_extra_dependency_that_is_no_conda_spec_is_refused(tmp_path: Path, spec: str) -> None:
    with pytest.raises(WheelError, match="is not a conda spec"):
        wheel_to_conda(_server_wheel(tmp_path), tmp_path / "out", WheelOptions(extra_depends=(spec,)))
    assert not list(tmp_path.glob("out/*.conda"))
