"""The ``--via wheel`` route mirrors the project into its cached build tree with ``sync_tree``.

The mirror must equal the project (minus build folders and the mirror's own ``pyproject.toml``): a
file deleted from the project and still in the mirror would still be compiled into the server.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastconda.cxx.wheel_route import sync_tree


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_mirror_follows_additions_changes_and_deletions(tmp_path: Path) -> None:
    project, mirror = tmp_path / "project", tmp_path / "mirror"
    (project / "src").mkdir(parents=True)
    (project / "src" / "Old.cpp").write_text("int old;\n")
    (project / "src" / "Keep.cpp").write_text("int keep;\n")
    (project / "gone").mkdir()
    (project / "gone" / "x.h").write_text("#pragma once\n")
    (project / "build").mkdir()
    (project / "build" / "junk.o").write_bytes(b"\0")
    (project / "pyproject.toml").write_text("[project]\nname = 'theirs'\n")
    mirror.mkdir()
    (mirror / "pyproject.toml").write_text("[project]\nname = 'mirror'\n")

    sync_tree(project, mirror)
    assert _files(mirror) == {
        "gone/x.h": b"#pragma once\n",
        "pyproject.toml": b"[project]\nname = 'mirror'\n",
        "src/Keep.cpp": b"int keep;\n",
        "src/Old.cpp": b"int old;\n",
    }

    kept = mirror / "src" / "Keep.cpp"
    os.utime(kept, (1_000_000, 1_000_000))
    (project / "src" / "Old.cpp").unlink()
    (project / "gone" / "x.h").unlink()
    (project / "gone").rmdir()
    (project / "src" / "New.cpp").write_text("int added;\n")
    sync_tree(project, mirror)

    assert _files(mirror) == {
        "pyproject.toml": b"[project]\nname = 'mirror'\n",
        "src/Keep.cpp": b"int keep;\n",
        "src/New.cpp": b"int added;\n",
    }
    assert not (mirror / "gone").exists()
    # an unchanged file keeps its time stamp, so ninja does not rebuild it
    assert kept.stat().st_mtime == 1_000_000


def test_project_that_compiles_files_beside_it_is_mirrored_with_them(tmp_path: Path) -> None:
    """TangoAccessControl compiles ``../AbstractClasses/AccessControl.cpp``: the mirror holds both folders
    in their layout (the project in ``subdir``), and a file gone from the folder beside it goes too."""
    server, shared, mirror = tmp_path / "Server", tmp_path / "Shared", tmp_path / "mirror"
    server.mkdir()
    (server / "main.cpp").write_text("int main;\n")
    (server / "pyproject.toml").write_text("[project]\nname = 'theirs'\n")  # not at the mirror's top
    shared.mkdir()
    (shared / "Parent.cpp").write_text("int parent;\n")
    (shared / "Old.cpp").write_text("int old;\n")
    (tmp_path / "one.cpp").write_text("int one;\n")
    sync_tree(server, mirror, subdir="Server", extra=[(shared, "Shared"), (tmp_path / "one.cpp", ".")])
    assert _files(mirror) == {
        "Server/main.cpp": b"int main;\n",
        "Server/pyproject.toml": b"[project]\nname = 'theirs'\n",
        "Shared/Old.cpp": b"int old;\n",
        "Shared/Parent.cpp": b"int parent;\n",
        "one.cpp": b"int one;\n",
    }
    (shared / "Old.cpp").unlink()
    sync_tree(server, mirror, subdir="Server", extra=[(shared, "Shared")])
    assert sorted(_files(mirror)) == ["Server/main.cpp", "Server/pyproject.toml", "Shared/Parent.cpp"]
