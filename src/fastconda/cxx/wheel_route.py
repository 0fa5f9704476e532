"""The ``--via wheel`` route for C++ Tango servers: scikit-build-core builds a platform wheel, the wheel fast
path turns it into a ``.conda``.

1. **env**: Tango for the compile comes from a conda environment (``cpptango`` + ``pkg-config`` from the
   build's channels), never from the system. Against local channels it is kept in the cache, keyed by
   their index files, so a warm build reuses it; otherwise it is made fresh in *work*.
2. **wheel**: the project (which has no ``pyproject.toml``) is mirrored into a scratch tree with the one
   from ``recipe_templates/cxx/pyproject.toml``, and built by scikit-build-core in a persistent backend venv
   (:func:`fastconda.tools.pep517.build`; cmake and ninja from their PyPI wheels, the compiler is the host's).
   CMake looks for libraries, headers and packages only in the Tango environment (as the seed channel's
   compiler stand-ins do) and installs the server with ``RPATH=$ORIGIN/../lib``. The mirror and CMake's
   build folder persist next to the cached environment: unchanged sources keep their time stamps, so a
   second build recompiles only what changed.
3. **convert**: :func:`fastconda.wheel.wheel_to_conda`; the wheel holds only ``.data/data/bin/<server>``,
   so the package needs no Python; it depends on the Tango it was built against (cpptango's
   ``run_exports``, the same range the recipe route gets), and on the host's glibc (the recipe route's
   ``stdlib('c')`` run_export); its licence metadata is the recipe route's (:mod:`fastconda.cxx.licence`).

Every failure is a :class:`~fastconda.errors.BuildFailed` of the phase, showing CMake's or the compiler's
errors.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import tomllib
from collections.abc import Sequence
from pathlib import Path

from fastconda._failure import failed_checks
from fastconda._files import file_lock, is_ready, mark_ready, write_bytes_atomic
from fastconda.channel.local import as_channel_url
from fastconda.cxx import recipe_route, server_check
from fastconda.cxx.cmake import cmake_errors, compiler_errors
from fastconda.cxx.licence import project_licence
from fastconda.cxx.recipe_route import CMakeServer
from fastconda.errors import BuildFailed, EnvError, ProjectError, WheelError
from fastconda.pipeline.options import BuildOptions, Built, Clock
from fastconda.pipeline.project import Project
from fastconda.progress import Progress, null_progress, timed_phase
from fastconda.settings import Caches
from fastconda.templates import read_template
from fastconda.tools import pep517 as sdist
from fastconda.tools import rattler_build as engine
from fastconda.tools.rattler import channels_digest, create_environment
from fastconda.wheel import WheelOptions, wheel_to_conda

PYPROJECT = "cxx/pyproject.toml"
#: the phases, as in ``WheelRoute.phases`` and ``BuildFailed.phase``
ENV, WHEEL, CONVERT = "env", "wheel", "convert"
#: what the server links against: their run_exports become the package's depends
HOST = ("cpptango",)
#: build tools taken from the same environment
TOOLS = ("pkg-config",)
#: installed next to scikit-build-core (it would ask for them otherwise)
BACKEND_TOOLS = ("cmake>=3.16", "ninja")
#: folders of the project that are not sources (the recipe route's source filter skips the same)
_SKIPPED = frozenset({"build", "_build", ".git"})


@dataclasses.dataclass(frozen=True)
class WheelRoute:
    wheel: Path  # the platform wheel scikit-build-core built
    package: Path  # the .conda made from it (in ``work``)
    phases: dict[str, float]  # seconds of "env", "wheel", "convert"


@dataclasses.dataclass(frozen=True)
class HostEnv:
    """The environment the server is compiled against."""

    prefix: Path
    run_exports: tuple[str, ...]  # what a package built against it must depend on
    cached: bool  # kept in the cache (then the build tree is kept too)


def build_server_package(
    server: CMakeServer,
    *,
    channels: Sequence[str],
    work: Path,
    caches: Caches,
    progress: Progress = null_progress,
    libraries: Sequence[str] = (),
) -> WheelRoute:
    """Build *server* into a wheel with scikit-build-core and convert it into ``work/<pkg>.conda``;
    *libraries* are built against besides cpptango (:meth:`CMakeServer.host_requirements`)."""
    work = work.absolute()
    phases: dict[str, float] = {}
    specs = (*HOST, *libraries)
    try:
        with timed_phase(phases, progress, ENV, f"Tango for the build: {', '.join(specs + TOOLS)}"):
            urls = [as_channel_url(c) for c in channels]
            host = host_env(urls, cache_dir=caches.cache_dir, work=work, libraries=libraries)
        with timed_phase(
            phases,
            progress,
            WHEEL,
            f"building the C++ server {server.executable} into a wheel with scikit-build-core",
        ):
            wheel = _build_wheel(server, host, work, caches=caches)
        with timed_phase(phases, progress, CONVERT, f"{wheel.name} -> .conda"):
            try:
                depends = (*host.run_exports, *glibc_depends())
                package = wheel_to_conda(wheel, work, WheelOptions(extra_depends=depends))
            except WheelError as exc:
                raise BuildFailed(CONVERT, str(exc)) from None
    except BuildFailed as exc:
        raise exc.with_phases(phases) from None  # how far it got, for CI reports
    return WheelRoute(wheel=wheel, package=package.path, phases=phases)


def host_env(
    channels: Sequence[str], *, cache_dir: Path, work: Path, libraries: Sequence[str] = ()
) -> HostEnv:
    """The Tango environment (with *libraries*): cached per channel content when every channel is a
    local folder."""
    specs = [*HOST, *libraries, *TOOLS]
    key = _channels_key(specs, channels)
    try:
        if key is None:
            prefix = work / "host"
            shutil.rmtree(prefix, ignore_errors=True)
            create_environment(prefix, specs, channels=channels)
        else:
            prefix = cache_dir.absolute() / "host-envs" / key
            # made in place under the lock, not renamed: a conda environment holds its own path
            with file_lock(prefix.parent / f"{key}.lock"):
                if not is_ready(prefix):
                    shutil.rmtree(prefix, ignore_errors=True)
                    create_environment(prefix, specs, channels=channels)
                    mark_ready(prefix, "\n".join([*specs, *channels]))
    except EnvError as exc:
        raise BuildFailed(ENV, str(exc)) from None
    names = [*HOST, *(re.split(r"[\s<>=!~]", spec, maxsplit=1)[0] for spec in libraries)]
    return HostEnv(prefix, _run_exports(prefix, names), cached=key is not None)


def glibc_depends() -> tuple[str, ...]:
    """The C library the server was linked against (the host's: its compiler is the host's), as the recipe
    route's ``stdlib('c')`` run_export has it: ``__glibc >=X.Y,<3.0.a0``; nothing on a host without glibc."""
    libc = os.confstr("CS_GNU_LIBC_VERSION") or ""
    if not libc.startswith("glibc "):
        return ()
    return (f"__glibc >={libc.split()[1]},<3.0.a0",)


def _channels_key(specs: Sequence[str], channels: Sequence[str]) -> str | None:
    """A key that changes with the channels' content, or None when one is not a local folder."""
    digest, all_local = channels_digest(specs, channels)
    return digest[:16] if all_local else None


def _run_exports(prefix: Path, names: Sequence[str]) -> tuple[str, ...]:
    """The run_exports (weak and strong) of the packages *names* installed in *prefix*.

    A package that declares none gets ``name >=X.Y.Z,<X.(Y+1)``, the seed channel's own pin.
    """
    exports: list[str] = []
    for name in names:
        for path in sorted((prefix / "conda-meta").glob(f"{name}-*.json")):
            record = json.loads(path.read_text(encoding="utf-8"))
            if record.get("name") != name:
                continue
            declared = record.get("run_exports") or {}
            found = [*declared.get("weak", []), *declared.get("strong", [])]
            exports.extend(found or [_minor_pin(name, str(record["version"]))])
    return tuple(exports)


def _minor_pin(name: str, version: str) -> str:
    parts = version.split(".")
    if len(parts) < 2 or not parts[1].isdigit():
        return f"{name} {version}.*"
    return f"{name} >={version},<{parts[0]}.{int(parts[1]) + 1}"


def _build_wheel(server: CMakeServer, host: HostEnv, work: Path, *, caches: Caches) -> Path:
    if host.cached:  # the build tree belongs to this project and this environment
        key = hashlib.sha256(f"{server.root.resolve()}\0{host.prefix}".encode()).hexdigest()[:16]
        tree = caches.cache_dir.absolute() / "cxx-wheel" / key
    else:
        tree = work / "cxx-wheel"
    dist = work / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    with file_lock(tree.parent / f"{tree.name}.lock"):
        source = tree / "source"
        try:
            sync_tree(server.root, source, subdir=server.subdir, extra=server.outside_folders())
            _update(source / "pyproject.toml", _pyproject(server).encode())
        except OSError as exc:
            msg = f"cannot copy {server.root} into the scratch tree {source}: {exc}"
            raise BuildFailed(WHEEL, msg) from None
        try:
            return sdist.build(
                source,
                "wheel",
                dist,
                caches=caches,
                extra_requires=BACKEND_TOOLS,
                config_settings=_config_settings(host.prefix, tree / "build", server.subdir),
                environ=_environ(host.prefix),
            )
        except sdist.BackendError as exc:
            raise BuildFailed(WHEEL, _build_errors(server, source, exc)) from None
        except ProjectError as exc:
            raise BuildFailed(WHEEL, str(exc)) from None


def backend_requires() -> list[str]:
    """What the backend's environment holds: the template's ``build-system.requires`` and the tools."""
    requires = tomllib.loads(read_template("recipe", PYPROJECT))["build-system"]["requires"]
    return [*requires, *BACKEND_TOOLS]


def _pyproject(server: CMakeServer) -> str:
    text = read_template("recipe", PYPROJECT)
    for marker, value in (("@NAME@", server.package), ("@VERSION@", server.version),
                          ("@SERVER@", server.executable)):  # fmt: skip
        text = text.replace(marker, value)
    spdx = project_licence(server.root).spdx
    if spdx is not None:  # the wheel's License-Expression, which the converter writes as the package's
        text = text.replace("\n[project]\n", f'\n[project]\nlicense = "{spdx}"\n', 1)
    return text


def _config_settings(prefix: Path, build_dir: Path, subdir: str = ".") -> dict[str, str]:
    """scikit-build-core settings: CMake finds everything in *prefix* (nothing of the system's)."""
    defines = {
        "CMAKE_PREFIX_PATH": str(prefix),
        "CMAKE_FIND_ROOT_PATH": str(prefix),
        "CMAKE_FIND_ROOT_PATH_MODE_PROGRAM": "NEVER",
        "CMAKE_FIND_ROOT_PATH_MODE_LIBRARY": "ONLY",
        "CMAKE_FIND_ROOT_PATH_MODE_INCLUDE": "ONLY",
        "CMAKE_FIND_ROOT_PATH_MODE_PACKAGE": "ONLY",
        "CMAKE_INSTALL_LIBDIR": "lib",
        # the server finds libtango in the environment it is installed into
        "CMAKE_INSTALL_RPATH": "$ORIGIN/../lib",
    }
    pkg_config = prefix / "bin" / "pkg-config"
    if pkg_config.is_file():
        defines["PKG_CONFIG_EXECUTABLE"] = str(pkg_config)
    settings = {f"cmake.define.{name}": value for name, value in defines.items()}
    settings["build-dir"] = str(build_dir)
    if subdir != ".":  # the project compiles files beside it: mirrored with them (sync_tree)
        settings["cmake.source-dir"] = subdir
    return settings


def _environ(prefix: Path) -> dict[str, str]:
    search = f"{prefix}/lib/pkgconfig:{prefix}/share/pkgconfig"
    # CMAKE_ARGS would carry a conda-activated shell's own paths into the build
    return {"PKG_CONFIG_LIBDIR": search, "PKG_CONFIG_PATH": search, "CMAKE_ARGS": ""}


def _build_errors(server: CMakeServer, mirror: Path, exc: sdist.BackendError) -> str:
    """What went wrong, for a person: CMake's errors, else the compiler's, else the backend's tail;
    with the project's own paths instead of the scratch copy's."""
    output = exc.output.replace(f"{mirror}/", f"{server.root}/")
    if "CMake Error" in output:
        shown = cmake_errors(output)
        what = "configuring"
    else:
        shown = compiler_errors(output)
        what = "compiling"
    return f"{what} {server.project} with scikit-build-core failed:\n{shown}"


def sync_tree(
    source: Path, mirror: Path, *, subdir: str = ".", extra: Sequence[tuple[Path, str]] = ()
) -> None:
    """Make *mirror* a copy of *source* (in its folder *subdir*) without its build folders and
    ``pyproject.toml``, with the folders and files of *extra* (path, folder in *mirror*) beside it.

    Files whose content did not change are left alone (ninja sees their old time stamps and does not
    rebuild them); changed files are replaced and get a new time stamp; files gone from *source* go.
    """
    keep: set[Path] = {mirror}
    for top, place in [(source, subdir), *extra]:
        target_top = Path(os.path.normpath(mirror / place))
        keep.update(target_top.parents)
        if top.is_file():
            target_top.mkdir(parents=True, exist_ok=True)
            keep.update({target_top, target_top / top.name})
            _update(target_top / top.name, top.read_bytes(), executable=bool(top.stat().st_mode & 0o111))
            continue
        _copy_tree(top, target_top, keep, skip_pyproject=place == ".")
    keep.add(mirror / "pyproject.toml")
    for folder, dirs, files in os.walk(mirror, topdown=False):
        for name in [*files, *dirs]:
            path = Path(folder) / name
            if path not in keep:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()


def _copy_tree(source: Path, mirror: Path, keep: set[Path], *, skip_pyproject: bool) -> None:
    for folder, dirs, files in os.walk(source, followlinks=True):
        rel = Path(folder).relative_to(source)
        dirs[:] = [d for d in dirs if d not in _SKIPPED and not d.startswith("cmake-build-")]
        (mirror / rel).mkdir(parents=True, exist_ok=True)
        keep.add(mirror / rel)
        for name in files:
            if skip_pyproject and rel == Path() and name == "pyproject.toml":
                continue  # the mirror's own
            path = Path(folder) / name
            if not path.is_file():
                continue
            target = mirror / rel / name
            keep.add(target)
            _update(target, path.read_bytes(), executable=bool(path.stat().st_mode & 0o111))


def _update(path: Path, data: bytes, *, executable: bool = False) -> None:
    """Write *data* to *path* (atomically) unless it already holds exactly that."""
    mode = 0o755 if executable else 0o644
    if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
        if path.stat().st_mode & 0o777 != mode:
            path.chmod(mode)
        return
    write_bytes_atomic(path, data, mode=mode)


def via_wheel(
    project: Project, options: BuildOptions, work: Path, *, clock: Clock, notes: list[str]
) -> Built:
    """A CMake server through scikit-build-core and the wheel fast path, tested like the recipe route."""
    server = recipe_route.read_server(project.root)
    if note := server.host_note(options.host_requires):
        notes.append(note)
    route = build_server_package(
        server,
        channels=options.channels,
        work=work / "wheel",
        caches=options.caches,
        progress=clock.progress,
        libraries=server.host_requirements(options.host_requires),
    )
    clock.phases.update(route.phases)
    notes.append(f"C++ server {server.executable} {server.version} via the wheel {route.wheel.name}")
    licence = project_licence(server.root)
    if licence.note:
        notes.append(licence.note)
    tests: tuple[engine.TestStep, ...] = ()
    if options.test:
        with clock.phase("test", f"testing {route.package.name} in a fresh environment"):
            tests = _test_server(server, route.package, options, work / "test")
        notes += server_check.check_notes(t.output for t in tests)
    return [route.package], tests, ""


def _test_server(
    server: recipe_route.CMakeServer, package: Path, options: BuildOptions, folder: Path
) -> tuple[engine.TestStep, ...]:
    """The recipe route's package test (``tango_server_check.sh`` with the project's start check, then
    its ``[test] commands``) on a package made another way."""
    from fastconda.settings import PackageTestSettings
    from fastconda.testing.package import run_package_tests

    recipe_route.write_check_script(folder)
    checks = PackageTestSettings(
        commands=(server.check_command(options.start_check), *options.test_commands),
        pip_check=False,
        entry_points=False,
        package_tests=False,
    )
    result = run_package_tests(package, options.channels, checks, cwd=folder)
    steps = tuple(
        engine.TestStep(c.name, not c.failed, c.seconds, tuple(c.output.splitlines()))
        for c in result.checks
        if c.kind != "install" or c.failed
    )
    if not result.ok:
        failed = next(s for s in steps if not s.passed)
        output = "\n".join(f"    {line}" for line in failed.output[-40:])
        msg = f"{failed.command} failed on {package.name}:\n{output}"
        check = ""
        if failed.command in checks.commands:  # not the install: the server's own test
            msg += "\n" + server_check.failed_start_hint(server.executable, server.root, package)
            if summaries := failed_checks(failed.output):  # the check script's FAILED line first
                check, error = summaries[0]
                msg = f"{error}\n  {msg}"
        raise BuildFailed("test", msg, tests=steps, check=check)  # noqa: EM101 - the phase name
    return steps
