"""Hostile wheels and name maps (issue 13: items 7, 10, 11 and 14).

Every wheel here is built in the test with ``zipfile``; a refused wheel gives one line that names the
wheel and the member (or the name map and the value), and writes nothing.
"""

from __future__ import annotations

import json
import os
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import pytest

from fastconda.cli import ExitCode, main
from fastconda.errors import WheelError
from fastconda.wheel import WheelOptions, load_name_map, wheel_to_conda
from tests.wheel.wheelmaker import make_wheel, read_conda, record_hash

MiB = 1 << 20
DIST = "demo_pkg-1.0.dist-info"


def _write_wheel(
    folder: Path,
    members: list[tuple[str, bytes | int]],
    *,
    record_sizes: dict[str, int] | None = None,
    compress: int = zipfile.ZIP_DEFLATED,
) -> Path:
    """A py3-none-any wheel of *members* (an int stands for that many zero bytes, streamed into the zip so
    the test never holds it) with a RECORD that lists them (sizes overridden by *record_sizes*)."""
    folder.mkdir(parents=True, exist_ok=True)
    meta = b"Metadata-Version: 2.1\nName: demo_pkg\nVersion: 1.0\n"
    wheel_info = b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    members = [*members, (f"{DIST}/METADATA", meta), (f"{DIST}/WHEEL", wheel_info)]
    rows = []
    for name, data in members:
        if isinstance(data, int):
            rows.append(f"{name},{_zeros_hash(data)},{(record_sizes or {}).get(name, data)}\n")
        else:
            rows.append(f"{name},{record_hash(data)},{(record_sizes or {}).get(name, len(data))}\n")
    record = "".join(rows) + f"{DIST}/RECORD,,\n"
    wheel = folder / "demo_pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", compression=compress) as archive:
        for name, data in [*members, (f"{DIST}/RECORD", record.encode())]:
            info = zipfile.ZipInfo(name, date_time=(2024, 5, 1, 12, 0, 0))
            info.compress_type = compress
            info.external_attr = 0o100644 << 16
            if isinstance(data, int):
                with archive.open(info, "w", force_zip64=data > 2**31) as out:
                    chunk = bytes(MiB)
                    for _ in range(data // MiB):
                        out.write(chunk)
                    out.write(bytes(data % MiB))
            else:
                archive.writestr(info, data)
    return wheel


def _zeros_hash(size: int) -> str:
    import base64
    import hashlib

    digest = hashlib.sha256()
    chunk = bytes(MiB)
    for _ in range(size // MiB):
        digest.update(chunk)
    digest.update(bytes(size % MiB))
    return "sha256=" + base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def _refused(wheel: Path, out: Path, *fragments: str, options: WheelOptions | None = None) -> str:
    with pytest.raises(WheelError) as info:
        wheel_to_conda(wheel, out, options)
    message = str(info.value)
    assert "\n" not in message
    for fragment in (wheel.name, *fragments):
        assert fragment in message, message
    assert not out.exists() or list(out.iterdir()) == [], "nothing may be left in the output folder"
    return message


def _errors(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The error lines on stderr (progress lines aside); never a traceback."""
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return [line for line in err.splitlines() if line.startswith("error:")]


# -- 7: resource exhaustion -------------------------------------------------------------------------


def test_zip_bomb_member_is_refused_before_it_is_decompressed(tmp_path: Path) -> None:
    # 64 MiB of zeros deflate ~1000:1; the real attack used four 1 GiB members (4 MB of wheel)
    wheel = _write_wheel(tmp_path, [("demo_pkg/__init__.py", b""), ("demo_pkg/bomb.bin", 64 * MiB)])
    assert wheel.stat().st_size < MiB
    tracemalloc.start()
    try:
        _refused(wheel, tmp_path / "out", "demo_pkg/bomb.bin", "ratio")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * MiB, f"{peak} bytes allocated: the member was decompressed"


def test_member_larger_than_record_says_is_refused_without_decompressing_it(tmp_path: Path) -> None:
    # incompressible, so the ratio bound does not apply: only RECORD's size (10 bytes) against the header's
    big = os.urandom(24 * MiB)
    wheel = _write_wheel(
        tmp_path,
        [("demo_pkg/__init__.py", b""), ("demo_pkg/big.bin", big)],
        record_sizes={"demo_pkg/big.bin": 10},
        compress=zipfile.ZIP_STORED,
    )
    del big
    tracemalloc.start()
    try:
        _refused(wheel, tmp_path / "out", "demo_pkg/big.bin", "RECORD", "10 bytes")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * MiB, f"{peak} bytes allocated: the member was read before its size was checked"


def test_total_unpacked_size_has_a_configurable_cap(tmp_path: Path) -> None:
    from fastconda.wheel.source import WheelLimits

    members: list[tuple[str, bytes | int]] = [(f"demo_pkg/part{i}.bin", os.urandom(MiB)) for i in range(3)]
    wheel = _write_wheel(tmp_path, [("demo_pkg/__init__.py", b""), *members], compress=zipfile.ZIP_STORED)
    options = WheelOptions(limits=WheelLimits(total=2 * MiB + MiB // 2))
    _refused(wheel, tmp_path / "out", "demo_pkg/part2.bin", "limit", options=options)
    # the default is generous: the same wheel converts
    assert wheel_to_conda(wheel, tmp_path / "ok").path.is_file()


def test_big_member_is_streamed_not_held_in_memory(tmp_path: Path) -> None:
    # Reading the member whole costs twice its size or more. What remains is bounded whatever the size:
    # zstd's multi-threaded compressor hands back its pending jobs at the end of a component (a few
    # jobs of 4x the window: ~8 MiB at level 1, 20-50 MiB at level 3, depending on the machine's load),
    # so the test compresses at level 1 to keep that out of the measurement.
    big = os.urandom(64 * MiB)
    wheel = _write_wheel(
        tmp_path, [("demo_pkg/__init__.py", b""), ("demo_pkg/big.bin", big)], compress=zipfile.ZIP_STORED
    )
    tracemalloc.start()
    try:
        package = wheel_to_conda(wheel, tmp_path / "out", WheelOptions(compression_level=1))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 24 * MiB, f"{peak} bytes allocated for a 64 MiB member: it was read whole"
    contents = read_conda(package.path)
    assert contents.pkg["site-packages/demo_pkg/big.bin"] == big
    paths = {p["_path"]: p for p in contents.json("paths.json")["paths"]}
    assert paths["site-packages/demo_pkg/big.bin"]["size_in_bytes"] == len(big)


def test_huge_metadata_file_is_refused_not_parsed(tmp_path: Path) -> None:
    import base64

    huge = b"Metadata-Version: 2.1\nName: demo_pkg\nVersion: 1.0\n\n" + base64.b64encode(os.urandom(15 * MiB))
    wheel = _write_wheel(tmp_path, [("demo_pkg/__init__.py", b"")], compress=zipfile.ZIP_STORED)
    with zipfile.ZipFile(wheel) as src:
        members = {i.filename: src.read(i) for i in src.infolist()}
    members[f"{DIST}/METADATA"] = huge
    record = "".join(
        f"{n},{record_hash(d)},{len(d)}\n" for n, d in members.items() if not n.endswith("RECORD")
    )
    members[f"{DIST}/RECORD"] = (record + f"{DIST}/RECORD,,\n").encode()
    wheel.unlink()
    with zipfile.ZipFile(wheel, "w") as dst:
        for name, data in members.items():
            dst.writestr(name, data)
    _refused(wheel, tmp_path / "out", f"{DIST}/METADATA", "bytes")


def test_cli_limit_is_configurable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    members: list[tuple[str, bytes | int]] = [("demo_pkg/big.bin", os.urandom(2 * MiB))]
    wheel = _write_wheel(tmp_path / "w", members, compress=zipfile.ZIP_STORED)
    out = tmp_path / "out"
    assert main(["wheel", str(wheel), "-o", str(out), "--max-unpacked-size", "0.001"]) == ExitCode.FAILURE
    err = _errors(capsys)
    assert len(err) == 1 and "demo_pkg/big.bin" in err[0] and "limit" in err[0], err
    assert main(["wheel", str(wheel), "-o", str(out), "--max-unpacked-size", "0"]) == ExitCode.USAGE
    assert main(["wheel", str(wheel), "-o", str(out)]) == ExitCode.OK


def test_cli_refuses_a_zip_bomb_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wheel = _write_wheel(tmp_path / "w", [("demo_pkg/__init__.py", b""), ("demo_pkg/bomb.bin", 64 * MiB)])
    assert main(["wheel", str(wheel), "-o", str(tmp_path / "out")]) == ExitCode.FAILURE
    err = _errors(capsys)
    assert len(err) == 1 and wheel.name in err[0] and "demo_pkg/bomb.bin" in err[0], err


# -- 14: duplicate entries ---------------------------------------------------------------------------


def test_duplicate_zip_entries_are_named_as_such(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, files={"demo_pkg/__init__.py": "VALUE = 1\n"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns "Duplicate name"
        with zipfile.ZipFile(wheel, "a") as archive:
            archive.writestr("demo_pkg/__init__.py", "import os\n")
    message = _refused(wheel, tmp_path / "out", "demo_pkg/__init__.py", "duplicate")
    assert "modified after it was built" not in message


# -- 11 and 10: name maps and entry points -------------------------------------------------------------


@pytest.mark.parametrize("value", ["Bad Name!", "../../evil", "x/..", ".hidden", "UPPER", "a\\b"])
def test_name_map_values_must_be_conda_names(tmp_path: Path, value: str) -> None:
    names = tmp_path / "names.json"
    names.write_text(json.dumps({"demo-pkg": value}), encoding="utf-8")
    with pytest.raises(WheelError) as info:
        load_name_map(names)
    assert str(names) in str(info.value) and repr(value) in str(info.value)


def test_name_map_value_given_to_the_library_is_checked_too(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path)
    options = WheelOptions(name_map={"demo-pkg": "Bad Name!"})
    _refused(wheel, tmp_path / "out", "'Bad Name!'", options=options)


@pytest.mark.parametrize("value", ["x/..", "Bad Name!"])
def test_cli_bad_name_map_value_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    wheel = make_wheel(tmp_path)
    names = tmp_path / "names.toml"
    names.write_text(f'"demo-pkg" = "{value}"\n', encoding="utf-8")
    out = tmp_path / "out"
    assert main(["wheel", str(wheel), "-o", str(out), "--name-map", str(names)]) == ExitCode.FAILURE
    err = _errors(capsys)
    assert len(err) == 1 and str(names) in err[0] and value in err[0], err
    assert not out.exists() or list(out.iterdir()) == []


@pytest.mark.parametrize(
    "line",
    [
        "..\\..\\evil = demo_pkg:main",
        "bad name = demo_pkg:main",
        "..evil = demo_pkg:main",
        "tool = ..evil:main",
        "tool = demo_pkg:main..x",
        "tool = 1pkg:main",
    ],
)
def test_unsafe_entry_points_are_refused(tmp_path: Path, line: str) -> None:
    wheel = make_wheel(tmp_path, entry_points=f"[console_scripts]\n{line}\n")
    _refused(wheel, tmp_path / "out", "entry point", repr(line.split("=", maxsplit=1)[0].strip()))


def test_ordinary_entry_points_still_convert(tmp_path: Path) -> None:
    points = "[console_scripts]\npip3.11 = pip._internal.cli.main:main\nf2py = numpy.f2py.f2py2e:main\n"
    package = wheel_to_conda(make_wheel(tmp_path, entry_points=points), tmp_path / "out")
    assert package.entry_points == ("f2py = numpy.f2py.f2py2e:main", "pip3.11 = pip._internal.cli.main:main")


def test_memory_error_is_one_line_naming_the_wheel(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fake: a real MemoryError would need the machine's memory exhausted. It is raised where a wheel's
    # contents are decompressed, the step that ran out of memory in the report.
    from fastconda.wheel import convert

    def exhausted(*_args: object, **_kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(convert, "read_wheel", exhausted)
    wheel = make_wheel(tmp_path)
    assert main(["wheel", str(wheel), "-o", str(tmp_path / "out")]) == ExitCode.FAILURE
    err = _errors(capsys)
    assert len(err) == 1 and wheel.name in err[0] and "memory" in err[0], err


def test_memory_error_anywhere_in_the_cli_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fake, as above: the handler of a command runs out of memory outside any stage's own handling.
    from fastconda.cli import wheel as wheel_cli

    def exhausted(*_args: object, **_kwargs: object) -> int:
        raise MemoryError

    monkeypatch.setattr(wheel_cli, "load_settings", exhausted)
    assert main(["wheel", str(make_wheel(tmp_path))]) == ExitCode.FAILURE
    err = _errors(capsys)
    assert len(err) == 1 and "memory" in err[0], err
