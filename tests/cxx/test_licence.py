"""The licence of a C++ server project (fastconda.cxx.licence): files found, SPDX id only when certain."""

from __future__ import annotations

from pathlib import Path

from fastconda.cxx.licence import project_licence, recognise
from tests.helpers import MIT_LICENCE as MIT

GPL3 = """                    GNU GENERAL PUBLIC LICENSE
                       Version 3, 29 June 2007

 Copyright (C) 2007 Free Software Foundation, Inc. <https://fsf.org/>
 Everyone is permitted to copy and distribute verbatim copies
 of this license document, but changing it is not allowed.
"""

APACHE = """
                                 Apache License
                           Version 2.0, January 2004
                        http://www.apache.org/licenses/
"""


def test_mit_and_apache_texts_are_recognised_whatever_their_layout() -> None:
    assert recognise(MIT) == "MIT"
    assert recognise(" ".join(MIT.split())) == "MIT"  # re-wrapped
    assert recognise(APACHE) == "Apache-2.0"


def test_mit_without_its_notice_condition_is_not_called_mit() -> None:
    # MIT-0 and similar drop the condition; calling them MIT would add a term the authors did not set
    without = MIT.replace("The above copyright notice and this permission notice shall be included", "")
    assert recognise(without) is None


def test_gnu_text_is_shipped_but_names_no_licence(tmp_path: Path) -> None:
    (tmp_path / "COPYING").write_text(GPL3)
    found = project_licence(tmp_path)
    assert (found.files, found.spdx) == (("COPYING",), None)
    assert found.note is not None
    assert "does not say whether later versions apply" in found.note


def test_licence_files_are_scikit_build_cores_defaults_at_the_top(tmp_path: Path) -> None:
    (tmp_path / "LICENSE").write_text(MIT)
    (tmp_path / "AUTHORS").write_text("someone\n")
    (tmp_path / "README.md").write_text("# x\n")
    (tmp_path / "doc").mkdir()
    (tmp_path / "doc" / "LICENSE").write_text(APACHE)
    found = project_licence(tmp_path)
    assert (found.files, found.spdx, found.note) == (("AUTHORS", "LICENSE"), "MIT", None)


def test_two_licence_texts_name_no_licence(tmp_path: Path) -> None:
    (tmp_path / "LICENSE").write_text(MIT)
    (tmp_path / "COPYING").write_text(APACHE)
    found = project_licence(tmp_path)
    assert (found.files, found.spdx) == (("COPYING", "LICENSE"), None)


def test_no_licence_file(tmp_path: Path) -> None:
    found = project_licence(tmp_path)
    assert (found.files, found.spdx) == ((), None)
    assert found.note == "no LICENSE or COPYING file: the package has no licence"
