"""Hostile meta.yaml files against ``fastconda convert`` and ``convert --check`` (issue 13: 1, 7, 8, 10).

Nothing in a recipe executes (a canary file that an exploit would create never appears), files
outside the recipe folder are never read into the output, and every bad input ends in a one-line
error that names the file, in bounded time and memory.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from fastconda.cli import main
from fastconda.convert.check_meta import namespace
from fastconda.convert.selectors import SelectorError, evaluate_selector

SRC = Path(__file__).resolve().parents[2] / "src"


def _recipe(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "meta.yaml").write_text(text, encoding="utf-8")
    return folder


def _one_line_error(capsys: pytest.CaptureFixture[str], code: int, *, names: str) -> str:
    captured = capsys.readouterr()
    assert code == 1, captured
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    assert names in lines[0], lines[0]
    return lines[0]


# -- 1. selectors that jinja produced are not Python ------------------------------------------------


def _escape_payload(canary: Path) -> str:
    """A selector without brackets that escapes an ``eval`` with empty builtins and runs a shell."""
    return (
        "(c for c in ().__class__.__base__.__subclasses__() if c.__name__ == '_wrap_close')"
        f".__next__().__init__.__globals__.get('system')('touch {canary}') == 0"
    )


def test_check_does_not_run_a_selector_produced_by_jinja(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    canary = tmp_path / "canary"
    folder = _recipe(
        tmp_path / "r",
        f'{{% set sel = "[{_escape_payload(canary)}]" %}}\n'
        "package:\n  name: foo\n  version: '1.0'\nrequirements:\n  run:\n    - pip  # {{ sel }}\n",
    )
    code = main(["convert", "--check", str(folder)])
    captured = capsys.readouterr()
    assert not canary.exists()
    assert code == 1  # the rendered selector is refused: the check cannot compare
    assert "not supported" in captured.err
    assert "Traceback" not in captured.err


def test_no_eval_or_exec_anywhere_in_the_package() -> None:
    calls = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"eval", "exec"}
            ):
                calls.append(f"{path}:{node.lineno}")
    assert calls == []


@pytest.mark.parametrize(
    "selector",
    [
        "linux",
        "not win",
        "linux and py>=38",
        "py<310 or osx",
        "target_platform == 'linux-64'",
        "target_platform in ['linux-64', 'osx-64']",
        "target_platform not in ('win-64',)",
        "(cuda_compiler_version or '').startswith('12')",
        "target_platform.endswith('-64')",
        "environ.get('FASTCONDA_NOT_SET', 'x') == 'x'",
        "os.environ.get('FASTCONDA_NOT_SET') == None",
        "x86_64 and not (win or osx)",
        "3 < py < 400",
    ],
)
def test_selector_evaluator_agrees_with_python_on_real_selectors(selector: str) -> None:
    ns = {**namespace("linux-64", {"python": "3.11"}), "cuda_compiler_version": None}
    expected = bool(eval(selector, {"__builtins__": {}}, dict(ns)))  # the reference, test-only
    assert evaluate_selector(selector, ns) is expected


@pytest.mark.parametrize(
    "selector",
    [
        "().__class__",
        "linux.__class__",
        "__import__('os')",
        "[c for c in ()]",
        "(lambda: 1)()",
        "environ.copy()",
        "environ.get(target_platform)",
        "'a' * 10",
        "py ** 99999999",
        "linux if osx else win",
        "{'a': 1}",
        "nope",
        "not " * 60 + "linux",
        "linux " + "and linux " * 600,
    ],
)
def test_selector_evaluator_refuses_anything_outside_the_grammar(selector: str) -> None:
    with pytest.raises(SelectorError):
        evaluate_selector(selector, namespace("linux-64", {}))
