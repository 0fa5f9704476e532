"""The licence of a C++ server project: its licence files and, when their text names one for certain, its
SPDX id.

Both routes ship the same files (``info/licenses/<name>``) and write the same ``license`` field. The files
are those at the project's top whose names scikit-build-core ships by default (``LICEN[CS]E*``, ``COPYING*``,
``NOTICE*``, ``AUTHORS*``), so the ``--via wheel`` route needs no setting of its own for them.

The SPDX id is read from the licence text only when the text decides it: the GNU licences are recognised
but give no id, since their text is the same for ``-only`` and ``-or-later`` (that choice is in the sources'
notices); a project with several licence texts gets no id either. A wrong licence on a package is worse
than none.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from pathlib import Path

from fastconda._files import read_text_head

#: scikit-build-core's default ``wheel.license-files``
FILE_PATTERNS = ("LICEN[CS]E*", "COPYING*", "NOTICE*", "AUTHORS*")
#: of those, the ones that hold a licence's text
_TEXT_PATTERNS = ("LICEN[CS]E*", "COPYING*")
_MAX_READ = 200_000  # characters of a licence file read for recognition


@dataclasses.dataclass(frozen=True)
class ProjectLicence:
    files: tuple[str, ...]  # names relative to the project root, sorted
    spdx: str | None  # the SPDX id, when the text names one for certain
    note: str | None = None  # why there is no id, for the build's notes


def _words(text: str) -> str:
    """Lower case, punctuation and line breaks as single spaces: layouts and quotes do not matter."""
    return " ".join(re.sub(r"[^a-z0-9.]+", " ", text.lower()).split())


# (SPDX id, phrases that must all be in the text, phrases that must not); phrases as _words() gives them
_KNOWN: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "MIT",
        (
            "permission is hereby granted free of charge to any person obtaining a copy",
            "the above copyright notice and this permission notice shall be included in all copies or "
            "substantial portions of the software",
            "the software is provided as is without warranty of any kind",
        ),
        (),
    ),
    ("Apache-2.0", ("apache license version 2.0 january 2004", "www.apache.org licenses"), ()),
    ("MPL-2.0", ("mozilla public license version 2.0",), ("incompatible with secondary licenses",)),
)
_GNU = re.compile(r"gnu (?:lesser |library |affero )?general public license version \d")


def recognise(text: str) -> str | None:
    """The SPDX id a licence text names for certain, else None."""
    words = _words(text[:_MAX_READ])
    found = [
        spdx
        for spdx, required, excluded in _KNOWN
        if all(p in words for p in required) and not any(p in words for p in excluded)
    ]
    return found[0] if len(found) == 1 else None


def project_licence(root: Path) -> ProjectLicence:
    """The licence files at the top of *root* and the SPDX id of their licence text, if certain."""
    try:
        names = sorted(
            p.name
            for p in root.iterdir()
            if p.is_file() and any(fnmatch.fnmatchcase(p.name, pat) for pat in FILE_PATTERNS)
        )
    except OSError:
        names = []
    texts = [n for n in names if any(fnmatch.fnmatchcase(n, pat) for pat in _TEXT_PATTERNS)]
    if not texts:
        return ProjectLicence(tuple(names), None, "no LICENSE or COPYING file: the package has no licence")
    if len(texts) > 1:
        note = f"several licence files ({', '.join(texts)}): the package ships them but names no licence"
        return ProjectLicence(tuple(names), None, note)
    try:
        text, _ = read_text_head(root / texts[0], _MAX_READ * 4)  # UTF-8: 4 bytes a character at most
    except OSError:
        text = ""
    spdx = recognise(text)
    if spdx is not None:
        return ProjectLicence(tuple(names), spdx)
    if _GNU.search(_words(text[:_MAX_READ])):
        note = (
            f"{texts[0]} is a GNU licence, whose text does not say whether later versions apply: the package "
            "ships it but names no licence"
        )
    else:
        note = (
            f"{texts[0]} is no licence fastconda recognises for certain: the package ships it but names no "
            "licence"
        )
    return ProjectLicence(tuple(names), None, note)
