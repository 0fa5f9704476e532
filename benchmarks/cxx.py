"""Scenario ``cxx``: a C++ Tango server (the bundled Pogo project, migrated to plain CMake).

On a copy of ``examples/pogo-powermeter`` (or of the Pogo server folder ``--cxx-server DIR`` names: one
of Debian's ``cppserver/`` folders that ``python -m tests.fetch_pogo`` gets, say) after
``fastconda pogo-migrate``, against a seed channel bootstrapped with ``fastconda channel bootstrap DIR
--profile cxx``, for each route a full build, a rebuild of unchanged sources and a rebuild after a
one-line change (a new line in ``<Class>.cpp``, the device's own file, before every run):

- ``fastconda build (recipe route)``: ``fastconda build DIR`` (CMake recipe, rattler-build engine,
  tests); it compiles through ccache (its cache under fastconda's cache folder): the full build runs
  with ``--no-compiler-cache``, the rebuilds with the cache;
- ``fastconda build --via wheel``: the scikit-build-core wheel route; its CMake build tree is kept in
  the cache, and the full build deletes it first;
- ``conda-build``: the same build and test as a ``meta.yaml`` (``benchmarks/templates/cxx-conda-build``),
  against the same seed channel, the compilers mapped to its stand-ins by a ``conda_build_config.yaml``;
- ``cmake + ninja``: configure and compile with the system's Tango (pkg-config ``tango``), the floor:
  a fresh build folder, and ninja's own rebuild after the one-line change.

A route whose command, profile or flag fails or does not exist yet is reported as skipped with the first
line of its error, never as a number.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import _conda_build as conda_build
from benchmarks._core import (
    REPO,
    Context,
    Failed,
    Row,
    Scenario,
    compare,
    describe,
    fastconda,
    measure,
    run,
    seed_channel,
    skipped,
    tool,
)
from benchmarks._routes import fastconda_build

EXAMPLE = REPO / "examples" / "pogo-powermeter"
TEMPLATES = REPO / "benchmarks" / "templates"
TITLE = "C++ Tango server (pogo-powermeter, migrated to CMake)"
RECIPE_FULL = "fastconda build (recipe route), full build"
RECIPE = "fastconda build (recipe route), unchanged rebuild"
RECIPE_EDIT = "fastconda build (recipe route), one-line change"
VIA_WHEEL_COLD = "fastconda build --via wheel, full build"
VIA_WHEEL = "fastconda build --via wheel, unchanged rebuild"
VIA_WHEEL_EDIT = "fastconda build --via wheel, one-line change"
CONDA_BUILD = "conda-build"
FLOOR = "cmake + ninja (the floor, no package, no tests), full build"
FLOOR_EDIT = "cmake + ninja, one-line change"


@dataclasses.dataclass(frozen=True)
class _Server:
    """The migrated copy of the server and what conda-build's recipe needs to know of it."""

    source: Path
    name: str  # the package's
    version: str
    executable: str
    edited: str  # the device's own source file, which the one-line change goes into
    units: int  # its source files
    host: tuple[str, ...]  # conda packages besides cpptango (the MySQL client library, ...)


def _edit(file: Path) -> None:
    """A one-line change that a compiler sees (a comment would hit ccache's preprocessed cache), new
    in every run of every benchmark: the compiler cache outlives the run."""
    mark = time.time_ns()
    with file.open("a", encoding="utf-8") as stream:
        stream.write(f"int fastconda_benchmark_edit_{mark}() {{ return {mark % 1000}; }}\n")


def _prepare(work: Path, origin: Path) -> _Server:
    """*origin* copied and migrated (``fastconda pogo-migrate``, as a user runs it)."""
    from fastconda.cxx.libraries import table
    from fastconda.cxx.pogo import read_project
    from fastconda.errors import FastcondaError

    source = work / "src"
    shutil.rmtree(source, ignore_errors=True)
    shutil.copytree(origin, source, symlinks=True)
    fastconda("pogo-migrate", source, ok=(0, 3))  # 3: done, with a report of what was not carried over
    try:
        spec = read_project(source).spec
    except FastcondaError as exc:
        raise Failed(str(exc).splitlines()[0]) from None
    edited = f"{spec.name}.cpp"
    if edited not in spec.sources:
        msg = f"{origin}: no {edited} among the sources the migration found, for the one-line change"
        raise Failed(msg)
    known = table()
    host = tuple(known[name].conda for name in spec.libraries if name in known)
    executable = spec.executable or spec.name
    return _Server(source, spec.name.lower(), spec.version, executable, edited, len(spec.sources), host)


def _wheel_build_trees() -> Path:
    """Where ``--via wheel`` keeps its scratch mirrors and CMake build trees (fastconda.cxx.wheel_route)."""
    from fastconda.settings import load_settings

    return load_settings().cache_dir / "cxx-wheel"


def _conda_build_recipe(server: _Server, work: Path) -> tuple[Path, Path]:
    """conda-build's recipe folder for the migrated server, and its variant config."""
    recipe = work / "conda-build-recipe"
    shutil.rmtree(recipe, ignore_errors=True)
    shutil.copytree(TEMPLATES / "cxx-conda-build", recipe)
    meta = recipe / "meta.yaml"
    text = meta.read_text(encoding="utf-8")
    host = "".join(f"    - {package}\n" for package in ("cpptango", *server.host))
    for placeholder, value in (
        ("SOURCE_DIR", str(server.source)),
        ("PACKAGE_NAME", server.name),
        ("PACKAGE_VERSION", server.version),
        ("EXECUTABLE", server.executable),
        ("    - cpptango\n", host),
    ):
        text = text.replace(placeholder, value)
    meta.write_text(text, encoding="utf-8")
    shutil.copy2(REPO / "recipe_templates" / "cxx" / "tango_server_check.sh", recipe)
    return recipe, recipe / "conda_build_config.yaml"


def _floor_rows(source: Path, edited: Path, work: Path, runs: int) -> list[Row]:
    cmake = tool(None, "cmake")
    if cmake is None:
        return [skipped(name, "no cmake executable") for name in (FLOOR, FLOOR_EDIT)]
    probe = subprocess.run(["pkg-config", "--exists", "tango"], capture_output=True, check=False)
    if probe.returncode:
        why = "no Tango C++ development files (pkg-config tango; apt-get install libtango-dev)"
        return [skipped(name, why) for name in (FLOOR, FLOOR_EDIT)]
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    build = work / "cmake-build"

    def full() -> dict[str, float]:
        shutil.rmtree(build, ignore_errors=True)
        start = time.perf_counter()
        run([cmake, "-S", source, "-B", build, *generator, "-DCMAKE_BUILD_TYPE=Release"])
        configured = time.perf_counter()
        run([cmake, "--build", build, "--parallel"])
        return {"configure": configured - start, "compile": time.perf_counter() - configured}

    def rebuild() -> dict[str, float]:
        start = time.perf_counter()
        run([cmake, "--build", build, "--parallel"])
        return {"compile": time.perf_counter() - start}

    return [
        measure(Row(FLOOR), full, runs),
        measure(Row(FLOOR_EDIT), rebuild, runs, setup=lambda: _edit(edited)),
    ]


def run_scenario(ctx: Context) -> Scenario:
    origin = ctx.cxx_server or EXAMPLE
    title = TITLE if ctx.cxx_server is None else f"C++ Tango server ({origin.name}, migrated to CMake)"
    scenario = Scenario("cxx", title, describe(__doc__))
    work = ctx.scratch / "cxx"
    work.mkdir(parents=True, exist_ok=True)
    runs, warm = min(ctx.repeat, 3), not ctx.quick  # a C++ compile takes ~30 s on 2 cores: 3 runs at most
    try:
        server = _prepare(work, origin)
    except Failed as exc:
        scenario.skipped = f"fastconda pogo-migrate of {origin} failed: {exc.reason}"
        return scenario
    source, edited = server.source, server.source / server.edited
    try:
        seed: Path | None = seed_channel("cxx")
        why = ""
    except Failed as exc:
        seed, why = None, f"seed channel: {exc.reason}"
    # (row, flags, before every run): the full builds first, so that the rebuilds find a warm cache
    wheel_trees = _wheel_build_trees()
    routes: list[tuple[str, tuple[str, ...], Callable[[], object] | None]] = [
        (RECIPE_FULL, ("--no-compiler-cache",), None),
        (RECIPE, (), None),
        (RECIPE_EDIT, (), lambda: _edit(edited)),
        (VIA_WHEEL_COLD, ("--via", "wheel"), lambda: shutil.rmtree(wheel_trees, ignore_errors=True)),
        (VIA_WHEEL, ("--via", "wheel"), None),
        (VIA_WHEEL_EDIT, ("--via", "wheel"), lambda: _edit(edited)),
    ]
    scenario.notes.append(
        f"rebuilds: 'unchanged' builds the same sources again; 'one-line change' adds a line to "
        f"{server.edited} (one of {server.units} source files) "
        "before every run. The recipe route's full build runs with --no-compiler-cache (every unit "
        "compiles), its rebuilds with ccache; --via wheel's full build deletes its kept CMake build tree"
    )
    if ctx.quick:
        routes = routes[:1]
        scenario.notes.append(
            "--quick: the recipe route's full build only (no rebuilds, no --via wheel, no cmake floor, "
            "no conda-build)"
        )
    for name, extra, before in routes:
        ctx.log(f"{name} ...")
        if seed is None:
            scenario.rows.append(skipped(name, why))
            continue
        output = work / ("out-" + ("wheel" if "wheel" in extra else "recipe"))

        def build(c: Path = seed, o: Path = output, e: tuple[str, ...] = extra) -> dict[str, float]:
            return fastconda_build(source, [c], o, "--force", "--replace", *e)

        scenario.rows.append(measure(Row(name), build, runs, warmup=warm, setup=before))
    if ctx.quick:
        return scenario
    if seed is None:
        scenario.rows.append(skipped(CONDA_BUILD, why))
    else:
        ctx.log(f"{CONDA_BUILD} ...")
        recipe, variants = _conda_build_recipe(server, work)
        scenario.rows.append(conda_build.row(ctx, CONDA_BUILD, recipe, [seed], runs, variant_config=variants))
        scenario.headline += [
            ("", CONDA_BUILD, route) for route in (RECIPE_FULL, RECIPE_EDIT, VIA_WHEEL_COLD, VIA_WHEEL_EDIT)
        ]
        if ctx.conda_build is not None:
            scenario.notes.append(conda_build.network_note())
    ctx.log(f"{FLOOR} ...")
    scenario.rows += _floor_rows(source, edited, work, runs)
    compare(scenario, RECIPE_FULL, [RECIPE, RECIPE_EDIT, VIA_WHEEL_COLD, CONDA_BUILD])
    compare(scenario, VIA_WHEEL_COLD, [VIA_WHEEL, VIA_WHEEL_EDIT])
    compare(scenario, FLOOR, [FLOOR_EDIT, RECIPE_FULL, VIA_WHEEL_COLD])
    return scenario
