"""A wheel that is not intact or not safe is refused with a clear WheelError, and nothing is written."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from fastconda.errors import WheelError
from fastconda.wheel import wheel_to_conda
from tests.wheel.wheelmaker import make_wheel


def _convert_fails(wheel: Path, out: Path, *fragments: str) -> str:
    with pytest.raises(WheelError) as info:
        wheel_to_conda(wheel, out)
    message = str(info.value)
    assert wheel.name in message
    for fragment in fragments:
        assert fragment in message
    assert not out.exists() or list(out.iterdir()) == [], "nothing may be left in the output directory"
    return message


def test_tampered_file_is_refused(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, tamper={"demo_pkg/__init__.py": b"import os; os.system('evil')\n"})
    _convert_fails(wheel, tmp_path / "out", "demo_pkg/__init__.py", "does not match RECORD")


def test_tampered_file_of_the_same_size_is_refused_by_its_hash(tmp_path: Path) -> None:
    # same length as the recorded "VALUE = 1\n": only the hash comparison can catch it
    wheel = make_wheel(tmp_path, tamper={"demo_pkg/__init__.py": b"VALUE = 2\n"})
    _convert_fails(wheel, tmp_path / "out", "demo_pkg/__init__.py", "does not match RECORD")


def test_file_missing_from_record_is_refused(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, unrecorded={"demo_pkg/extra.py": b"x = 1\n"})
    _convert_fails(wheel, tmp_path / "out", "demo_pkg/extra.py", "not listed in RECORD")


def test_record_listing_a_missing_file_is_refused(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as src:
        members = {i.filename: src.read(i) for i in src.infolist()}
    record = "demo_pkg-1.0.dist-info/RECORD"
    members[record] += b"demo_pkg/gone.py,sha256=AAAA,4\n"
    wheel.unlink()
    with zipfile.ZipFile(wheel, "w") as dst:
        for name, data in members.items():
            dst.writestr(name, data)
    _convert_fails(wheel, tmp_path / "out", "demo_pkg/gone.py", "not in the wheel")


def test_missing_record_is_refused(tmp_path: Path) -> None:
    wheel = tmp_path / "demo_pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("demo_pkg/__init__.py", "")
        archive.writestr("demo_pkg-1.0.dist-info/METADATA", "Name: demo_pkg\nVersion: 1.0\n")
    _convert_fails(wheel, tmp_path / "out", "RECORD")


@pytest.mark.parametrize(
    "bad", ["../escape.py", "demo_pkg/../../escape.py", "/etc/cron.d/evil", "C:/evil.py"]
)
def test_unsafe_paths_are_refused(tmp_path: Path, bad: str) -> None:
    wheel = make_wheel(tmp_path, files={"demo_pkg/__init__.py": "", bad: "x = 1\n"})
    _convert_fails(wheel, tmp_path / "out", bad)


def test_symlink_member_is_refused(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, files={"demo_pkg/__init__.py": ""})
    with zipfile.ZipFile(wheel, "a") as archive:
        link = zipfile.ZipInfo("demo_pkg/passwd")
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "../../../../etc/passwd")
    _convert_fails(wheel, tmp_path / "out", "demo_pkg/passwd", "link")


def test_corrupt_zip_is_refused(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, files={"demo_pkg/__init__.py": "x = 1\n" * 1000})
    data = bytearray(wheel.read_bytes())
    data[100:140] = b"\xff" * 40  # inside the first compressed member
    wheel.write_bytes(bytes(data))
    _convert_fails(wheel, tmp_path / "out", "corrupt zip")


def test_truncated_zip_is_refused(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path)
    wheel.write_bytes(wheel.read_bytes()[:200])
    _convert_fails(wheel, tmp_path / "out", "corrupt zip")


def test_non_wheel_file_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "demo_pkg-1.0.tar.gz"
    other.write_bytes(b"not a wheel")
    _convert_fails(other, tmp_path / "out", "not a wheel")


def test_bad_wheel_file_name_is_refused(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path)
    renamed = wheel.rename(tmp_path / "demo.whl")
    _convert_fails(renamed, tmp_path / "out", "not a valid wheel file name")


def test_dist_info_not_matching_the_file_name_is_refused(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, name="other_pkg")
    renamed = wheel.rename(tmp_path / "demo_pkg-1.0-py3-none-any.whl")
    _convert_fails(renamed, tmp_path / "out", ".dist-info")


def test_unknown_platform_tag_is_refused(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, tag="cp311-cp311-win_amd64")
    _convert_fails(wheel, tmp_path / "out", "win_amd64", "platform")


def test_musllinux_wheel_is_refused(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, tag="cp311-cp311-musllinux_1_2_x86_64")
    _convert_fails(wheel, tmp_path / "out", "musllinux")


def test_binary_wheel_for_another_python_is_refused(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, tag="cp310-cp310-manylinux_2_17_x86_64")
    with pytest.raises(WheelError, match=r"cp310-cp310.*not for CPython 3\.11"):
        from fastconda.wheel import WheelOptions

        wheel_to_conda(wheel, tmp_path / "out", WheelOptions(python="3.11"))


def test_requires_python_not_met_is_refused(tmp_path: Path) -> None:
    from fastconda.wheel import WheelOptions

    wheel = make_wheel(tmp_path, metadata="Requires-Python: >=3.99\n")
    with pytest.raises(WheelError, match=r"requires Python >=3\.99"):
        wheel_to_conda(wheel, tmp_path / "out", WheelOptions(python="3.11"))


def test_failure_while_writing_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastconda.wheel import writer

    def boom(target: Path, components: object) -> None:
        target.write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer, "_zip", boom)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.conda").write_bytes(b"old")
    with pytest.raises(WheelError, match="No space left"):
        wheel_to_conda(make_wheel(tmp_path), out)
    assert sorted(p.name for p in out.iterdir()) == ["keep.conda"]
