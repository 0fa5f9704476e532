"""What a failed command's output says, in one line: the cause a user needs first.

A build or test log ends with the tool's own summary (pip's "error: metadata-generation-failed",
rattler-build's "Script failed with status 1"); the cause sits above it: the last line of a Python
traceback, pip's ``╰─> ModuleNotFoundError: ...``, a compiler's ``file:line: error: ...``.
:func:`last_error_line` finds it; :func:`missing_module_hint` adds, for a ``ModuleNotFoundError``
in a test environment, whether the package that imports the module declares it, when that can be
known from the environment itself (its ``conda-meta`` records and the importer's metadata), and
nothing when it cannot.

Test scripts may name the check inside them that failed with a summary line ``FAILED <check>:
<error line>`` (``fastconda_check.py`` does, for each import and for the requirements check):
:func:`failed_checks` reads them.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Collection, Sequence
from pathlib import Path

MAX_LINE = 300  # characters of an error line shown on an error's first line
# decorations in front of a line: indentation, pip's boxes and its cross (U+00D7)
_DECORATION = re.compile("^[\\s│\u00d7╰─>|]+")
# `SomethingError: message` (dotted names too: tango.DevFailed, pkg.module.BadThing)
_EXCEPTION = re.compile(
    r"^(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Failed|Failure|Exit|Interrupt|Fault)\b(?::.*)?$"
)
# gcc/clang (`file:line:col: error: ...`), CMake
_COMPILER_ERROR = re.compile(r": (?:fatal )?error: |^CMake Error\b")
# an error line of a tool that is not a Python exception: `error: ...`, `ERROR: ...`, `fatal: ...`
_TOOL_ERROR = re.compile(r"^(?:error|ERROR|fatal|FATAL)\b:?\s+\S")
# pip's closing lines, which say only that something above failed
_GENERIC = re.compile(
    r"^(?:error: (?:subprocess-exited-with-error|metadata-generation-failed|"
    r"failed-wheel-build-for-install)|ERROR: Failed (?:building|to build)|"
    r"ERROR: Could not build wheels|note: |hint: )"
)
_FAILED_CHECK = re.compile(r"^FAILED (.+?): (.+)$")
_TRACEBACK = "Traceback (most recent call last):"
_FRAME = re.compile(r'^\s*File "([^"]+)", line \d+')
_IMPORTLIB = re.compile(r"/lib/python[\d.]+/importlib/")  # import_module(): the caller imports
_MISSING_MODULE = re.compile(r"^ModuleNotFoundError: No module named '([^']+)'$")


def _clean(line: str) -> str:
    return _DECORATION.sub("", line).strip()


def _short(line: str) -> str:
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…"


def last_error_line(lines: Sequence[str]) -> str:
    """The line of *lines* (a failed command's output) that says why it failed, or ``""``.

    In this order: the exception line of the last Python traceback; the last line that looks like
    an exception (pip prints the backend's as ``╰─> ModuleNotFoundError: ...``); the first
    compiler or CMake error (the first is the cause, the rest follow from it); the last ``error:``
    line that is not a tool's generic closing line; the last non-empty line.
    """
    exception = _traceback_exception(lines)
    if exception:
        return _short(exception)
    cleaned = [_clean(line) for line in lines]
    cleaned = [line for line in cleaned if line]
    for line in reversed(cleaned):
        if _EXCEPTION.match(line):
            return _short(line)
    for index, line in enumerate(cleaned):
        if _COMPILER_ERROR.search(line):
            below = cleaned[index + 1] if index + 1 < len(cleaned) else ""
            return _short(f"{line} {below}" if line.startswith("CMake Error") and below else line)
    for line in reversed(cleaned):
        if _TOOL_ERROR.match(line) and not _GENERIC.match(line):
            return _short(line)
    for line in reversed(cleaned):
        if not _GENERIC.match(line):
            return _short(line)
    return ""


def _traceback_exception(lines: Sequence[str]) -> str:
    """The exception line that ends the last traceback in *lines* (indented as a whole or not)."""
    found = ""
    for index, line in enumerate(lines):
        if line.strip() != _TRACEBACK:
            continue
        indent = len(line) - len(line.lstrip())
        for following in lines[index + 1 :]:
            if not following.strip():
                continue
            if len(following) - len(following.lstrip()) <= indent:
                found = _clean(following)
                break
    return found


def failed_checks(lines: Sequence[str]) -> list[tuple[str, str]]:
    """The ``FAILED <check>: <error line>`` summary lines of a test script, in order."""
    found = []
    for line in lines:
        match = _FAILED_CHECK.match(line.strip())
        if match:
            found.append((match.group(1), _short(match.group(2))))
    return found


def traceback_files(lines: Sequence[str], exception: str) -> list[str]:
    """The files of the frames of the last traceback in *lines* that ends with *exception*."""
    frames: list[str] = []
    current: list[str] | None = None
    for line in lines:
        stripped = line.strip()
        if stripped == _TRACEBACK:
            current = []
        elif current is not None:
            frame = _FRAME.match(line)
            if frame:
                current.append(frame.group(1))
            elif _clean(line) == exception:
                frames = current
                current = None
    return frames


def missing_module_hint(
    error: str, lines: Sequence[str], prefix: Path | None, *, tested: Collection[str] = ()
) -> str:
    """`` (the project imports X but does not declare it)`` when *error* says module X is missing and
    the test environment at *prefix* shows it: no package in it provides a top-level module X, the
    file that imports it belongs to an installed package, that package's metadata declares no
    requirement that is missing from the environment (under an extra or not: any of them could
    provide X under another name). "The project" when the importer is one of the *tested*
    packages, else the importer's name. ``""`` whenever any of that cannot be known.
    """
    match = _MISSING_MODULE.match(error)
    if match is None or prefix is None or not (prefix / "conda-meta").is_dir():
        return ""
    module = match.group(1)
    top = module.split(".")[0]
    records = _records(prefix)
    if not records or _provides(records, top):
        return ""  # the top-level package is there: a submodule is missing, another problem
    frames = [f for f in traceback_files(lines, error) if not f.startswith("<") and not _IMPORTLIB.search(f)]
    owner = _owner(frames[-1], records) if frames else None
    if owner is None:
        return ""
    metadata = next((f for f in owner.files if f.endswith(".dist-info/METADATA")), None)
    if metadata is None:
        return ""
    try:
        text = (prefix / metadata).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    if not _declares_only_installed(text, records, _python_version(records)):
        return ""
    who = "the project" if owner.name in tested else owner.name
    return f" ({who} imports {top} but does not declare it)"


@dataclasses.dataclass(frozen=True)
class _Record:
    """What the hint needs of a package's ``conda-meta`` record."""

    name: str
    version: str
    files: frozenset[str]


def _records(prefix: Path) -> list[_Record]:
    records = []
    for path in sorted((prefix / "conda-meta").glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []  # a record that cannot be read: nothing can be known
        if isinstance(data, dict):
            files = frozenset(str(f) for f in data.get("files") or ())
            records.append(_Record(str(data.get("name", "")), str(data.get("version", "")), files))
    return records


def _provides(records: Sequence[_Record], top: str) -> bool:
    """Whether an installed file is the top-level module or package *top* (site-packages or stdlib)."""
    pattern = re.compile(
        rf"^lib/python[\d.]+/(?:site-packages/|lib-dynload/)?{re.escape(top)}(?:/|\.py$|\.[\w.-]*\.so$|\.so$)"
    )
    return any(pattern.match(f) for r in records for f in r.files)


def _owner(path: str, records: Sequence[_Record]) -> _Record | None:
    """The installed package that holds *path*, a file as a traceback names it.

    The engine writes the prefix in its log as a variable, and not always the same one
    (``$PREFIX``, ``$SRC_DIR_run_env``): the longest tail of *path* that is a file of a package
    decides. A package's test files (``etc/conda/test-files/``) are not its code.
    """
    parts = path.split("/")
    for start in range(1, len(parts)):
        tail = "/".join(parts[start:])
        if tail.startswith("etc/conda/test-files/"):
            return None
        for record in records:
            if tail in record.files:
                return record
    return None


def _python_version(records: Sequence[_Record]) -> str:
    return next((r.version for r in records if r.name == "python"), "")


def _installed_names(records: Sequence[_Record]) -> set[str]:
    """Conda package names and the distribution names of every installed ``.dist-info``."""
    from packaging.utils import canonicalize_name  # ~10 ms with markers: only for a failure's hint

    names: set[str] = {canonicalize_name(r.name) for r in records}
    for record in records:
        for file in record.files:
            found = re.search(r"site-packages/([^/]+?)-[^/-]+\.dist-info/METADATA$", file)
            if found:
                names.add(canonicalize_name(found.group(1)))
    return names


def _declares_only_installed(metadata: str, records: Sequence[_Record], python: str) -> bool:
    """Whether every requirement in *metadata* (``Requires-Dist``, extras included) is installed."""
    from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    installed = _installed_names(records)
    environment = {"python_version": ".".join(python.split(".")[:2]), "python_full_version": python}
    for line in metadata.splitlines():
        if not line:
            break  # the headers end at the first empty line
        if not line.lower().startswith("requires-dist:"):
            continue
        try:
            requirement = Requirement(line.split(":", 1)[1].strip())
        except InvalidRequirement:
            return False
        if canonicalize_name(requirement.name) in installed:
            continue
        if requirement.marker is None:
            return False
        try:  # a requirement for another Python or platform does not count; one for an extra does
            applies = requirement.marker.evaluate(
                {**environment, "extra": ""} if python else {"extra": ""}
            ) or "extra" in str(requirement.marker)
        except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName):
            return False
        if applies:
            return False
    return True
