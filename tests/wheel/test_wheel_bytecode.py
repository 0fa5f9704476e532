"""``WheelOptions(bytecode=True)``: packages made for the running interpreter carry its byte code."""

from __future__ import annotations

import importlib.util
import marshal
import sys
from pathlib import Path

import pytest

from fastconda.errors import WheelError
from fastconda.wheel import WheelOptions, wheel_to_conda
from tests.wheel.wheelmaker import make_wheel, read_conda

RUNNING = f"{sys.version_info.major}.{sys.version_info.minor}"
TAG = sys.implementation.cache_tag


def _wheel(tmp_path: Path) -> Path:
    return make_wheel(
        tmp_path,
        files={
            "demo_pkg/__init__.py": "VALUE = 1\n",
            "demo_pkg/sub/mod.py": "def f():\n    return 42\n",
            "demo_pkg/templates/broken.py": "this is not python {{ jinja }}\n",
            "demo_pkg/data.txt": "not code\n",
        },
    )


def test_byte_code_is_hash_based_unchecked_and_runs(tmp_path: Path) -> None:
    package = wheel_to_conda(_wheel(tmp_path), tmp_path, WheelOptions(python=RUNNING, bytecode=True))
    pkg = read_conda(package.path).pkg
    pyc = pkg[f"site-packages/demo_pkg/sub/__pycache__/mod.{TAG}.pyc"]
    source = pkg["site-packages/demo_pkg/sub/mod.py"]
    assert pyc[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(pyc[4:8], "little") == 0b01  # PEP 552: hash-based, source not checked
    assert pyc[8:16] == importlib.util.source_hash(source)
    namespace: dict[str, object] = {}
    exec(marshal.loads(pyc[16:]), namespace)  # the byte code we just wrote
    assert namespace["f"]() == 42  # type: ignore[operator]
    assert f"site-packages/demo_pkg/__pycache__/__init__.{TAG}.pyc" in pkg
    # what does not compile is shipped as source only, as compileall does
    assert not any("broken" in p and p.endswith(".pyc") for p in pkg)
    assert not any(p.startswith("site-packages/demo_pkg/__pycache__/data") for p in pkg)
    record = pkg["site-packages/demo_pkg-1.0.dist-info/RECORD"].decode()
    assert f"demo_pkg/sub/__pycache__/mod.{TAG}.pyc,sha256=" in record


def test_no_byte_code_unless_asked(tmp_path: Path) -> None:
    package = wheel_to_conda(_wheel(tmp_path), tmp_path, WheelOptions(python=RUNNING))
    assert not any(p.endswith(".pyc") for p in read_conda(package.path).pkg)


def test_byte_code_for_another_python_is_refused(tmp_path: Path) -> None:
    other = "3.99"
    with pytest.raises(WheelError, match=f"running Python {RUNNING}, not for Python {other}"):
        wheel_to_conda(_wheel(tmp_path), tmp_path / "out", WheelOptions(python=other, bytecode=True))
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_byte_code_changes_the_file_name(tmp_path: Path) -> None:
    # a channel keeps the first file of a name: a package with other content needs another name
    wheel = _wheel(tmp_path)
    plain = wheel_to_conda(wheel, tmp_path / "a", WheelOptions(python=RUNNING))
    compiled = wheel_to_conda(wheel, tmp_path / "b", WheelOptions(python=RUNNING, bytecode=True))
    assert plain.path.name != compiled.path.name


def test_test_suites_get_no_byte_code(tmp_path: Path) -> None:
    files = {"demo_pkg/__init__.py": "A = 1\n", "demo_pkg/tests/test_a.py": "B = 2\n"}
    wheel = make_wheel(tmp_path, files=files)
    pkg = read_conda(wheel_to_conda(wheel, tmp_path, WheelOptions(python=RUNNING, bytecode=True)).path).pkg
    assert f"site-packages/demo_pkg/__pycache__/__init__.{TAG}.pyc" in pkg
    assert "site-packages/demo_pkg/tests/test_a.py" in pkg
    assert not any(p.startswith("site-packages/demo_pkg/tests/__pycache__") for p in pkg)
