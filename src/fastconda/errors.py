"""The one exception root of fastconda, with one subclass per stage.

Every error a user can cause says what was wrong, where, and what to do; the CLI prints
``str(error)`` and maps the class to an exit code, never a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # typing only: the engine adapter imports this module
    from fastconda.tools.rattler_build import TestStep


class FastcondaError(Exception):
    """Root of every error fastconda raises on purpose."""


class SettingsError(FastcondaError):
    """Invalid configuration in pyproject.toml, the environment or on the command line."""


class ChannelError(FastcondaError):
    """A local channel cannot be read, written or indexed."""


class ConvertError(FastcondaError):
    """A meta.yaml cannot be read or converted into a v1 recipe."""


class SeedError(FastcondaError):
    """The seed channel cannot be bootstrapped (missing wheels, unusable interpreter, ...)."""


class WheelError(FastcondaError):
    """A wheel cannot be read, verified or converted into a conda package."""


class EngineError(FastcondaError):
    """The rattler-build engine failed to render, build or test a recipe.

    ``tests`` holds the package-test steps that ran (the last one failed) when the tests failed;
    ``check`` names the command or test check that failed, when the log tells (the message's first
    line is then that check's error).
    """

    def __init__(
        self, message: str, *, tests: tuple[TestStep, ...] = (), unsolvable: bool = False, check: str = ""
    ) -> None:
        self.tests = tests
        self.unsolvable = unsolvable  # an environment had no solution in the given channels
        self.check = check
        super().__init__(message)

    @property
    def in_tests(self) -> bool:
        return bool(self.tests)


class FillError(FastcondaError):
    """Missing requirements cannot be filled from wheels (none found, a wrong lock record, a loop)."""


class EnvError(FastcondaError):
    """An environment cannot be solved or installed with rattler."""


class ProjectError(FastcondaError):
    """A source tree is not a project fastconda can build, or its sdist cannot be made."""


class RecipeError(FastcondaError):
    """A recipe cannot be generated (grayskull) or breaks a facility rule."""


class BuildFailed(FastcondaError):
    """Building or testing a package failed; carries the phase that failed.

    ``phases`` (seconds of each phase that ran) and ``tests`` (package-test steps) show CI reports
    (JUnit) how far the build got; :meth:`with_phases` makes the error the build raises in the end.
    ``check`` names the command or test check of the phase that failed, when known: the first line
    reads ``test 'X --help' failed: <its error line>``.
    """

    def __init__(
        self,
        phase: str,
        message: str,
        *,
        tests: tuple[TestStep, ...] = (),
        phases: Mapping[str, float] | None = None,
        check: str = "",
    ) -> None:
        self.phase = phase
        self.reason = message
        self.phases: dict[str, float] = dict(phases or {})
        self.tests = tests
        self.check = check
        super().__init__(f"{phase} '{check}' failed: {message}" if check else f"{phase} failed: {message}")

    def with_phases(self, phases: Mapping[str, float]) -> BuildFailed:
        """The same failure, with *phases* under the ones it already carries."""
        return self.with_reason(self.reason, phases={**phases, **self.phases})

    def with_reason(self, reason: str, *, phases: Mapping[str, float] | None = None) -> BuildFailed:
        """The same failure (phase, check, tests) with another message (and *phases*, if given)."""
        return BuildFailed(
            self.phase,
            reason,
            tests=self.tests,
            phases=self.phases if phases is None else phases,
            check=self.check,
        )


class PackageTestError(FastcondaError):
    """The package to test cannot be found, or the test setup is wrong."""


class TemplateError(FastcondaError):
    """A bundled template is missing or cannot be rendered."""


class CommandError(FastcondaError):
    """An external command failed; carries the command, its exit code and the tail of its output."""

    def __init__(self, command: Sequence[str], returncode: int, output: str, *, what: str = "") -> None:
        self.command = list(command)
        self.returncode = returncode
        self.output = output
        tail = "\n".join(output.strip().splitlines()[-25:])
        head = what or f"command failed: {' '.join(self.command)}"
        msg = f"{head}\n  command: {' '.join(self.command)}\n  exit code: {returncode}"
        if tail:
            msg += "\n  output (last lines):\n" + "\n".join(f"    {line}" for line in tail.splitlines())
        super().__init__(msg)


class TangoError(FastcondaError):
    """A Tango C++ project cannot be read, migrated, scaffolded or built with CMake."""


class PublishError(FastcondaError):
    """A package cannot be published: bad target, refused key, unreachable server, conflict."""


class Unsolvable(EnvError):
    """Requirements that no package of the channels satisfies; ``reasons``: one line per requirement
    the solver could not satisfy even alone (``No candidates were found for prompt_toolkit >=3``)."""

    def __init__(self, message: str, reasons: Sequence[str] = ()) -> None:
        self.reasons = tuple(reasons)
        super().__init__(message)

    def __reduce__(self) -> tuple[type[Unsolvable], tuple[str, tuple[str, ...]]]:
        return (type(self), (str(self), self.reasons))  # crosses the engine worker's pipe whole


class MissingRequirements(Unsolvable):
    """Requirements of a build, test or environment that the channels cannot satisfy, each named with
    its section and the versions the channels have (``missing``: ``rattler_missing.Missing`` items)."""

    def __init__(self, message: str, missing: Sequence[object] = ()) -> None:
        self.missing = tuple(missing)
        super().__init__(message, tuple(str(m) for m in self.missing))

    def __reduce__(self) -> tuple[type[Unsolvable], tuple[str, tuple[str, ...]]]:
        return (type(self), (str(self), self.missing))  # type: ignore[return-value]
