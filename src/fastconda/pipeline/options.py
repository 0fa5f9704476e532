"""What a build takes and gives: :class:`BuildOptions` (one object through every stage),
:class:`BuildResult`, and :class:`Clock`, the phase timer the routes report through."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from fastconda import _proc
from fastconda.errors import BuildFailed, FastcondaError, MissingRequirements, SettingsError
from fastconda.pipeline.rules import Rules
from fastconda.progress import Progress, timed_phase
from fastconda.settings import Caches
from fastconda.tools import rattler_build as engine

if TYPE_CHECKING:  # the fill machinery (wheel conversion) loads only for a build with --fill
    from fastconda.pipeline.fill import FillOptions

Route = Literal["recipe", "wheel"]
Built = tuple[list[Path], tuple[engine.TestStep, ...], str]  # packages, test steps, recipe text


@dataclasses.dataclass(frozen=True)
class BuildOptions:
    channels: tuple[str, ...]
    output: Path
    cache_dir: Path
    wheel_cache: Path
    recipe: Path | None = None
    test: bool = True
    force: bool = False
    replace: bool = False  # a package of the same file name but other bytes may replace the published one
    offline: bool = False
    pins: tuple[str, ...] = ()  # "name=version": variant values for bare host/build dependencies
    rules: Rules = dataclasses.field(default_factory=Rules)
    via: Route = "recipe"  # "wheel": a CMake server through scikit-build-core and the wheel fast path
    #: fill the requirements the channels lack from PyPI wheels into this channel (``--fill DIR``);
    #: its channel must be the first of ``channels`` (build_project puts it there)
    fill: FillOptions | None = None
    #: ``filename=sha256`` of the packages of a project set (``fastconda build PATH...``) this build
    #: may build against, as the output channel lists them: part of the skip key, so that a project
    #: rebuilds when what it needs was rebuilt
    set_inputs: tuple[str, ...] = ()
    #: a package of the same file name already in the output channel is kept, not refused: a set
    #: member rebuilt to be tested against the packages it needs, just rebuilt (its own file name
    #: did not change, and a published package must not)
    keep_published: bool = False
    #: the CPUs the build script may use (``CPU_COUNT``, which the C++ template's compile takes): a
    #: build of a set running side by side with others gets its share; None: all of them
    cpu_count: int | None = None
    #: a C++ server's recipe build compiles through ccache when its build environment has it
    #: (:mod:`fastconda.cxx.ccache`); ``--no-compiler-cache`` turns it off
    compiler_cache: bool = True
    #: C++ servers: the start check of the package test ("init", "ready" or "skip": ``[test] start``)
    #: and commands added to it (``[test] commands``), from the project's settings
    start_check: str = "init"
    test_commands: tuple[str, ...] = ()
    #: C++ servers: conda packages built against besides cpptango (``host-requires``), from the settings
    host_requires: tuple[str, ...] = ()

    @property
    def caches(self) -> Caches:
        """The cache folders and ``offline``, as the stages below the routes take them."""
        return Caches(self.cache_dir, self.wheel_cache, offline=self.offline)


@dataclasses.dataclass(frozen=True)
class BuildResult:
    package: Path
    name: str
    version: str
    sha256: str
    skipped: bool
    phases: dict[str, float]
    recipe: str
    notes: tuple[str, ...] = ()
    tests: tuple[engine.TestStep, ...] = ()  # the package test commands that ran
    compiler_cache: dict[str, Any] | None = None  # a C++ recipe build's ccache counts
    engine_steps: dict[str, float] = dataclasses.field(default_factory=dict)  # the engine's own spans

    def to_json(self) -> dict[str, Any]:
        return {
            "package": str(self.package),
            "name": self.name,
            "version": self.version,
            "sha256": self.sha256,
            "skipped": self.skipped,
            "phases": {k: round(v, 3) for k, v in self.phases.items()},
            "seconds": round(sum(self.phases.values()), 3),
            "tests": [
                {"command": t.command, "passed": t.passed, "seconds": round(t.seconds, 3)} for t in self.tests
            ],
            "notes": list(self.notes),
            **({"compiler_cache": self.compiler_cache} if self.compiler_cache is not None else {}),
            **({"engine_steps": self._engine_steps()} if self.engine_steps else {}),
        }

    def _engine_steps(self) -> list[dict[str, Any]]:
        """The engine's spans in the order they ran (a JSON object's keys may come out sorted)."""
        return [{"step": k, "seconds": round(v, 3)} for k, v in self.engine_steps.items()]


class Clock:
    def __init__(self, progress: Progress) -> None:
        self.phases: dict[str, float] = {}
        self.progress = progress
        self.interrupted = False  # a Ctrl-C arrived while the package was being added (the commit)
        self.compiler_cache: dict[str, Any] | None = None  # what a C++ build's ccache found
        self.engine_steps: dict[str, float] = {}  # where the engine's time went (recipe builds)

    @contextmanager
    def phase(self, name: str, message: str) -> Iterator[None]:
        """A timed phase; a fastconda error in it fails the build in that phase."""
        with timed_phase(self.phases, self.progress, name, message):
            try:
                with interrupts_deferred(self) if name == "index" else contextlib.nullcontext():
                    yield
            except FastcondaError as exc:
                if isinstance(exc, (BuildFailed, MissingRequirements)):  # the latter's first line is the list
                    raise
                raise BuildFailed(name, str(exc)) from None


@contextmanager
def interrupts_deferred(clock: Clock) -> Iterator[None]:
    """Adding to the channel is the commit: a Ctrl-C (or SIGTERM) arriving meanwhile must not cut it
    in half. It is noted in *clock*; the build stops once the package is added and recorded.
    """
    with _proc.signals_held() as held:
        yield
    clock.interrupted = clock.interrupted or bool(held)


def parse_pins(pins: tuple[str, ...]) -> dict[str, list[str]]:
    """``("python=3.11", "pytango=9.4.2")`` → the engine's variant overrides."""
    overrides: dict[str, list[str]] = {}
    for pin in pins:
        name, sep, version = pin.partition("=")
        if not sep or not name.strip() or not version.strip():
            msg = f"invalid pin {pin!r}: write NAME=VERSION, e.g. pytango=9.4.2"
            raise SettingsError(msg)
        overrides[name.strip()] = [version.strip()]
    return overrides
