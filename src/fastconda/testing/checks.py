"""How ``fastconda test`` runs one check in the test environment: a command, or the one Python
process that imports every module and then checks the requirements (what ``pip check`` checks, with
the recipes' ``fastconda_check.py``, without starting pip)."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

from fastconda._failure import last_error_line, missing_module_hint
from fastconda._proc import run
from fastconda.errors import CommandError
from fastconda.templates import read_template
from fastconda.testing.junit import Outcome

_MARKER = "@@fastconda-imports@@"
PYTEST = ("-I", "-m", "pytest", "-p", "no:cacheprovider")
CHECKER = "fastconda_check.py"  # the recipes' check script; here its requirement check is used
# One process for all imports, each module reported on its own with its output, then (when argv[1]
# names the checker's folder) what `pip check` checks, without starting pip (~0.4 s of CPU).
_IMPORT_SCRIPT = f"""
import contextlib, importlib, io, json, sys, time, traceback
checker, results, requirements = sys.argv[1], [], None
for name in sys.argv[2:]:
    buffer = io.StringIO()
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            importlib.import_module(name)
        ok = True
    except BaseException:
        ok = False
        buffer.write(traceback.format_exc())
    results.append([name, ok, time.perf_counter() - start, buffer.getvalue()])
if checker:  # after the imports, which ran against the environment alone
    start = time.perf_counter()
    sys.dont_write_bytecode = True  # the fallback packaging is fastconda's own: no .pyc of this Python there
    sys.path += [checker, checker + "/support"]  # the environment's packaging first, if it has one
    try:
        import fastconda_check
        count, unmet = fastconda_check.unmet_requirements()
        requirements = [not unmet, time.perf_counter() - start, "\\n".join(unmet)]
    except BaseException:
        requirements = [False, time.perf_counter() - start, traceback.format_exc()]
sys.stdout.write({_MARKER!r} + json.dumps([results, requirements]) + "\\n")
"""


def write_checker(folder: Path) -> None:
    """*folder* with :data:`CHECKER` and, in ``support/``, a link to fastconda's own ``packaging``
    (pure Python, any Python 3.8+): the requirement check parses requirements with it when the test
    environment has no ``packaging``. Installing pip or packaging for the check instead would put
    them into the environment under test, where a package that uses them without requiring them
    would pass (and pip alone is ~1,000 files to link and remove)."""
    import packaging

    folder.mkdir()
    (folder / CHECKER).write_text(read_template("recipe", f"python/{CHECKER}"), encoding="utf-8")
    (folder / "support").mkdir()
    (folder / "support" / "packaging").symlink_to(Path(packaging.__file__).parent, target_is_directory=True)


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """One check: ``kind`` is install, import, pip-check, entry-point, command or pytest."""

    kind: str
    name: str
    outcome: Outcome
    seconds: float
    #: the check's output (a command's also when it passed: a C++ server's check prints notes), or why
    #: it was skipped
    output: str = ""
    #: on failure: the line of the output that says why (a traceback's last line, ...), with a hint
    error: str = ""

    @property
    def failed(self) -> bool:
        return self.outcome is Outcome.FAILED


def environ(prefix: Path) -> dict[str, str]:
    drop = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "CONDA_PREFIX", "CONDA_DEFAULT_ENV", "PYTHONSTARTUP")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PATH"] = f"{prefix / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    env.update(
        CONDA_PREFIX=str(prefix),
        PREFIX=str(prefix),
        PYTHONNOUSERSITE="1",
        PIP_NO_INDEX="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    return env


@dataclasses.dataclass(frozen=True)
class Runner:
    """Runs one command as a check in the test environment."""

    env: dict[str, str]
    cwd: Path
    timeout: float
    prefix: Path | None = None  # the environment: a missing module's hint reads its records
    tested: tuple[str, ...] = ()  # the package under test

    def error(self, output: str, fallback: str) -> str:
        """The line of a failed check's *output* that says why, with a missing module's hint."""
        lines = output.splitlines()
        error = last_error_line(lines) or fallback
        return error + missing_module_hint(error, lines, self.prefix, tested=self.tested)

    def check(self, kind: str, name: str, argv: Sequence[str | os.PathLike[str]]) -> list[CheckResult]:
        start = time.perf_counter()
        try:
            proc = run(argv, cwd=self.cwd, env=self.env, timeout=self.timeout, check=False)
        except CommandError as exc:  # not found or timed out
            seconds = time.perf_counter() - start
            error = self.error(exc.output, f"exit code {exc.returncode}")
            return [CheckResult(kind, name, Outcome.FAILED, seconds, exc.output, error)]
        if proc.returncode == 0:
            return [CheckResult(kind, name, Outcome.PASSED, time.perf_counter() - start, proc.stdout)]
        output = f"exit code {proc.returncode}\n{proc.stdout}"
        error = self.error(proc.stdout, f"exit code {proc.returncode}")
        return [CheckResult(kind, name, Outcome.FAILED, time.perf_counter() - start, output, error)]

    def imports(
        self,
        python: Path,
        modules: Sequence[str],
        skipped: Sequence[CheckResult] = (),
        checker: Path | None = None,
    ) -> list[CheckResult]:
        """The imports of *modules* (sorted, with *skipped*), then the requirement check ("pip check")
        when *checker* is the folder of :data:`CHECKER`: one Python process."""
        start = time.perf_counter()
        argv: list[str | os.PathLike[str]] = [
            python,
            "-I",
            "-c",
            _IMPORT_SCRIPT,
            str(checker or ""),
            *modules,
        ]
        try:
            proc = run(argv, cwd=self.cwd, env=self.env, timeout=self.timeout, check=False)
            output, code = proc.stdout, proc.returncode
        except CommandError as exc:
            output, code = exc.output, exc.returncode
        head, marker, tail = output.rpartition(_MARKER)
        if not marker:  # the interpreter died (crash in an extension module, timeout, ...)
            seconds = time.perf_counter() - start
            why = f"the import process failed (exit code {code})\n{output}"
            error = self.error(output, f"the import process failed (exit code {code})")
            names = [("import", m) for m in modules] + ([("pip-check", "pip check")] if checker else [])
            failed = (CheckResult(kind, name, Outcome.FAILED, seconds, why, error) for kind, name in names)
            return [*failed, *skipped]
        imported, requirements = json.loads(tail.splitlines()[0])
        results = list(skipped)
        for name, ok, seconds, text in imported:
            if ok:
                results.append(CheckResult("import", name, Outcome.PASSED, seconds))
            else:
                error = self.error(text, "the import failed")
                results.append(CheckResult("import", name, Outcome.FAILED, seconds, head + text, error))
        results.sort(key=lambda r: r.name)
        if requirements is not None:
            ok, seconds, text = requirements
            outcome = Outcome.PASSED if ok else Outcome.FAILED
            error = "" if ok else (self.error(text, "") if "Traceback" in text else text.partition("\n")[0])
            results.append(CheckResult("pip-check", "pip check", outcome, seconds, "" if ok else text, error))
        return results
