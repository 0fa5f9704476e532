"""Huge files in a project under build (a merge request from anyone): read up to a bound, never whole.

Each file is sparse (its size costs no disk): a reader that reads it whole allocates its size, which
tracemalloc sees. Files understood only whole (a Pogo Makefile, a .xmi, a CMakeLists.txt, a
pyproject.toml) are refused with a message that names them; files only scanned (a licence text, a
source searched for #include lines) are scanned up to the bound.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fastconda._files import MAX_PROJECT_FILE, read_project_file, read_text_head
from fastconda.cli import main
from fastconda.cxx.libraries import detect
from fastconda.cxx.licence import project_licence
from fastconda.cxx.recipe_route import read_server
from fastconda.errors import ProjectError
from tests.cxx.conftest import EXAMPLE
from tests.helpers import MIT_LICENCE

HUGE = 64 << 20  # bytes: sixteen times the bound, cheap as a sparse file
PEAK = 16 << 20  # bytes of Python memory a bounded read stays under


def _grow(path: Path, size: int = HUGE) -> None:
    """*path* (its text first, if it has one) extended with a hole to *size* bytes."""
    with path.open("ab") as handle:
        handle.truncate(size)


@contextlib.contextmanager
def _peak_below(limit: int) -> Iterator[None]:
    tracemalloc.start()
    try:
        yield
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < limit, f"peak {peak} bytes"


def _cli(*argv: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(list(argv))
    return code, err.getvalue()


def test_the_head_says_whether_it_is_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"abc\xff")
    assert read_text_head(path, 4) == ("abc\ufffd", True)
    assert read_text_head(path, 3) == ("abc", False)
    assert read_project_file(path, "a test file", 4) == "abc\ufffd"
    with pytest.raises(UnicodeDecodeError):
        read_project_file(path, "a test file", 4, errors="strict")
    with pytest.raises(ProjectError, match="f: over 3 bytes, too large for a test file"):
        read_project_file(path, "a test file", 3)


@pytest.mark.parametrize(
    ("name", "what"),
    [("Makefile", "a Pogo Makefile"), ("PowerMeter.xmi", "a Pogo .xmi file")],
)
def test_pogo_migrate_refuses_a_huge_pogo_file_by_name(tmp_path: Path, name: str, what: str) -> None:
    project = Path(shutil.copytree(EXAMPLE, tmp_path / "PowerMeter"))
    _grow(project / name)
    with _peak_below(PEAK):
        code, err = _cli("pogo-migrate", str(project))
    assert code == 1
    assert f"{project / name}: over 4 MiB, too large for {what}" in err
    assert "Traceback" not in err
    assert not (project / "CMakeLists.txt").exists()  # nothing written


def test_a_huge_cmakelists_is_refused_by_name(tmp_path: Path) -> None:
    project = Path(shutil.copytree(EXAMPLE, tmp_path / "PowerMeter"))
    assert _cli("pogo-migrate", str(project))[0] == 0
    read_server(project)  # the migrated CMakeLists.txt reads
    _grow(project / "CMakeLists.txt")
    with (
        _peak_below(PEAK),
        pytest.raises(ProjectError, match=r"CMakeLists\.txt: over 4 MiB, too large for a CMakeLists"),
    ):
        read_server(project)


def test_fastconda_build_refuses_a_huge_pyproject_before_anything_runs(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "1"\n', encoding="utf-8")
    _grow(project / "pyproject.toml")
    output = tmp_path / "channel"
    with _peak_below(PEAK):
        code, err = _cli("build", str(project), "-c", str(tmp_path), "-o", str(output), "--offline")
    assert code == 1
    assert f"{project / 'pyproject.toml'}: over 4 MiB, too large for a pyproject.toml" in err
    assert not output.exists()


@pytest.mark.parametrize(
    ("setup", "check"),
    [
        (
            lambda root: (root / "LICENSE").write_text(MIT_LICENCE, encoding="utf-8"),
            lambda root: project_licence(root).spdx == "MIT",
        ),
        (
            lambda root: (root / "Server.h").write_text("#include <mysql.h>\n", encoding="utf-8"),
            lambda root: [f.library.name for f in detect([root / "Server.h"], [], [])] == ["mysql"],
        ),
    ],
    ids=["licence text", "include scan"],
)
def test_a_huge_scanned_file_is_read_only_up_to_its_bound(
    tmp_path: Path, setup: Callable[[Path], object], check: Callable[[Path], bool]
) -> None:
    setup(tmp_path)
    (scanned,) = tmp_path.iterdir()
    _grow(scanned)
    with _peak_below(PEAK):
        assert check(tmp_path)


def test_the_bound_is_far_above_real_files() -> None:
    real = [p.stat().st_size for p in EXAMPLE.iterdir() if p.is_file()]
    assert max(real) * 50 < MAX_PROJECT_FILE
