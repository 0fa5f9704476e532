"""The wheel → conda stage: :func:`wheel_to_conda` composes read, target, metadata, layout and write."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fastconda._files import copy_file_atomic
from fastconda.errors import WheelError
from fastconda.progress import Progress, ProgressEvent, null_progress
from fastconda.wheel.bytecode import BYTECODE_FORMAT
from fastconda.wheel.layout import PackageFile, package_files
from fastconda.wheel.metadata import read_metadata
from fastconda.wheel.source import WheelContents, WheelLimits, read_wheel
from fastconda.wheel.target import Target, python_free, resolve_target, without_python
from fastconda.wheel.writer import InfoInputs, info_files, write_conda

__all__ = ["CondaPackage", "WheelOptions", "wheel_to_conda", "wheels_to_conda"]

log = logging.getLogger(__name__)
_LICENSE_NAMES = ("LICENSE", "LICENCE", "COPYING", "NOTICE", "AUTHORS")
_CONDA_SPEC = re.compile(r"^[a-z0-9_][a-z0-9_.+-]*(?:\s+\S+){0,2}$")


@dataclass(frozen=True)
class WheelOptions:
    """How to convert a wheel."""

    #: target Python "X.Y"; None = the wheel's own CPython tag for binary wheels, else the running interpreter
    python: str | None = None
    #: extra PyPI → conda names; they override the built-in table (names.toml)
    name_map: Mapping[str, str] = field(default_factory=dict)
    #: extras whose requirements are included
    extras: tuple[str, ...] = ()
    build_number: int = 0
    #: zstd level of the .conda components
    compression_level: int = 3
    #: conda subdir for binary wheels; None = this machine's
    platform: str | None = None
    #: also ship the modules' byte code, compiled by the running interpreter (which must be the target
    #: Python): for packages made for this interpreter, like the seed channel's (see wheel/bytecode.py)
    bytecode: bool = False
    #: conda specs added to the package's depends, e.g. the C/C++ libraries its binaries were built against
    #: (a wheel's metadata cannot name them)
    extra_depends: tuple[str, ...] = ()
    #: what a wheel may unpack to (zip bombs are refused before they are decompressed); not in the repr,
    #: which keys caches of converted packages (seed.py): limits never change a package's bytes
    limits: WheelLimits = field(default_factory=WheelLimits, repr=False)


@dataclass(frozen=True)
class CondaPackage:
    """The written package."""

    path: Path
    name: str
    version: str
    build: str
    subdir: str
    depends: tuple[str, ...]
    #: "name = module:attr" of console and GUI scripts
    entry_points: tuple[str, ...]
    sha256: str
    #: lossy steps of the conversion (dropped URL dependencies, unknown extras, ...)
    warnings: tuple[str, ...] = ()


def _build_string(
    target: Target, depends: tuple[str, ...], constrains: tuple[str, ...], number: int, bytecode: bool
) -> str:
    # what changes the payload changes the name: a channel never holds two files under one name
    python = "" if target.noarch or target.python_free else target.python
    parts: list[object] = [target.subdir, python, depends, constrains]
    if bytecode:
        parts.append(f"bytecode-{BYTECODE_FORMAT}-{target.python}")
    key = json.dumps(parts)
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:7]
    if target.python_free:
        return f"h{digest}_{number}"
    py = "py" if target.noarch else target.py_tag
    return f"{py}h{digest}_{number}"


def _with_extra_depends(filename: str, depends: tuple[str, ...], extra: Sequence[str]) -> tuple[str, ...]:
    """*depends* plus the caller's *extra* conda specs (``name [version [build]]``), sorted, no repeats."""
    for spec in extra:
        if not _CONDA_SPEC.match(spec.strip()):
            msg = f"{filename}: extra dependency {spec!r} is not a conda spec like 'cpptango >=9.3.4,<9.4'"
            raise WheelError(msg)
    return tuple(sorted({*depends, *(" ".join(s.split()) for s in extra)}))


def _licenses(contents: WheelContents) -> tuple[PackageFile, ...]:
    """License files of the dist-info (PEP 639 ``licenses/`` or the classic ``LICENSE*`` next to METADATA)."""
    prefix = contents.dist_info_dir + "/"
    found: list[PackageFile] = []
    for entry in contents.entries:
        if not entry.path.startswith(prefix):
            continue
        rel = entry.path[len(prefix) :]
        if rel.startswith("licenses/"):
            found.append(PackageFile.of(rel[len("licenses/") :], entry, executable=False))
        elif "/" not in rel and rel.upper().startswith(_LICENSE_NAMES):
            found.append(PackageFile.of(rel, entry, executable=False))
    return tuple(found)


def wheel_to_conda(wheel: Path, output_dir: Path, options: WheelOptions | None = None) -> CondaPackage:
    """Convert ``wheel`` into ``output_dir/<name>-<version>-<build>.conda`` and describe the result.

    Raises :class:`fastconda.errors.WheelError` (naming the wheel and the problem) for anything that is
    not a valid, intact and convertible wheel; nothing is left in ``output_dir`` then.
    """
    options = options or WheelOptions()
    wheel = Path(wheel)
    output_dir = Path(output_dir)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        # big members are spooled next to the output (a disk, where /tmp may be memory)
        spool = tempfile.TemporaryDirectory(prefix=".fastconda-spool-", dir=output_dir)
    except OSError as exc:
        msg = f"{wheel.name}: cannot write into {output_dir}: {exc.strerror or exc}"
        raise WheelError(msg) from None
    try:
        with spool:
            return _convert(wheel, output_dir, options, Path(spool.name))
    except MemoryError:
        msg = (
            f"{wheel.name}: out of memory while converting it; free memory, or lower the limits if the "
            "wheel is not trusted"
        )
        raise WheelError(msg) from None


def _convert(wheel: Path, output_dir: Path, options: WheelOptions, spool: Path) -> CondaPackage:
    contents = read_wheel(wheel, spool=spool, limits=options.limits)
    target = resolve_target(contents.filename, contents.tags, options.python, options.platform)
    if python_free(contents):
        target = without_python(target)
    meta = read_metadata(contents, target, options.name_map, options.extras)
    depends = _with_extra_depends(contents.filename, meta.depends, options.extra_depends)
    files = package_files(contents, target, meta.entry_points, bytecode=options.bytecode)
    build = _build_string(target, depends, meta.constrains, options.build_number, options.bytecode)
    entry_points = tuple(p.spec() for p in meta.entry_points)
    inputs = InfoInputs(
        name=meta.name,
        version=meta.version,
        build=build,
        build_number=options.build_number,
        subdir=target.subdir,
        noarch=target.noarch_kind,
        depends=depends,
        constrains=meta.constrains,
        license=meta.license,
        about=meta.about,
        entry_points=entry_points,
        timestamp=contents.timestamp,
        licenses=_licenses(contents),
    )
    stem = f"{meta.name}-{meta.version}-{build}"
    path, sha256 = write_conda(
        output_dir,
        stem,
        info_files(inputs, files),
        files,
        mtime=contents.timestamp,
        compression_level=options.compression_level,
    )
    for warning in meta.warnings:
        log.warning("%s: %s", contents.filename, warning)
    return CondaPackage(
        path=path,
        name=meta.name,
        version=meta.version,
        build=build,
        subdir=target.subdir,
        depends=depends,
        entry_points=entry_points,
        sha256=sha256,
        warnings=meta.warnings,
    )


def _move_into(source: Path, folder: Path) -> Path:
    """Move ``source`` into ``folder`` atomically (copy to a temp file there first across file systems)."""
    target = folder / source.name
    try:
        source.replace(target)
    except OSError:
        copy_file_atomic(source, target)  # the umask's mode, as a file written in place would get
    return target


def wheels_to_conda(
    wheels: Sequence[Path],
    output_dir: Path,
    options: WheelOptions | None = None,
    *,
    progress: Progress = null_progress,
) -> tuple[CondaPackage, ...]:
    """Convert every wheel of ``wheels`` into ``output_dir``, all or nothing.

    The packages are written into a staging folder first; only when every wheel converted are they moved
    into ``output_dir`` (each one atomically). A bad wheel raises :class:`WheelError` and writes nothing.
    """
    output_dir = Path(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        msg = f"output folder {output_dir} is a file"
        raise WheelError(msg)
    staging = Path(
        tempfile.mkdtemp(prefix=".fastconda-wheel-", dir=output_dir if output_dir.is_dir() else None)
    )
    try:
        staged: list[CondaPackage] = []
        for number, wheel in enumerate(wheels, 1):
            progress(ProgressEvent("convert", Path(wheel).name, number, len(wheels)))
            staged.append(wheel_to_conda(Path(wheel), staging, options))
        try:
            output_dir.mkdir(parents=True, exist_ok=True)
            return tuple(dataclasses.replace(p, path=_move_into(p.path, output_dir)) for p in staged)
        except OSError as exc:
            msg = f"cannot write into {output_dir}: {exc}"
            raise WheelError(msg) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
