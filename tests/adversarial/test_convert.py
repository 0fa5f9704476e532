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


# -- 8. files outside the recipe folder ---------------------------------------------------------------

SECRET = "TOPSECRET-0xC0FFEE"


def _leaky(tmp_path: Path, call: str) -> Path:
    (tmp_path / "secret.txt").write_text(f"{SECRET}\n", encoding="utf-8")
    (tmp_path / "secret.json").write_text(f'{{"v": "{SECRET}"}}', encoding="utf-8")
    return _recipe(
        tmp_path / "project" / "recipe",
        f"{{% set data = {call} %}}\n"
        "package:\n  name: foo\n  version: '1.0'\nabout:\n  summary: {{ data }}\n",
    )


LEAKS = [
    "load_file_regex(load_file='{secret}', regex_pattern='.*')",
    "load_file_regex(load_file='../../secret.txt', regex_pattern='.*')",
    "load_file_regex(load_file='../../secret.txt', regex_pattern='.*', from_recipe_dir=True)",
    "load_file_data('{json}')",
    "load_file_data('../../secret.json')",
    "load_file_regex(load_file='link.txt', regex_pattern='.*')",
    "load_file_regex(load_file='sub/../../../secret.txt', regex_pattern='.*')",
]


@pytest.mark.parametrize("check", [False, True], ids=["convert", "check"])
@pytest.mark.parametrize("call", LEAKS)
def test_convert_refuses_files_outside_the_recipe_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], call: str, check: bool
) -> None:
    call = call.format(secret=tmp_path / "secret.txt", json=tmp_path / "secret.json")
    folder = _leaky(tmp_path, call)
    (folder / "link.txt").symlink_to(tmp_path / "secret.txt")
    out = tmp_path / "recipe.yaml"
    code = main(["convert", *(["--check"] if check else []), str(folder), "-o", str(out)])
    line = _one_line_error(capsys, code, names=str(folder / "meta.yaml"))
    assert "refused to read" in line
    assert "outside the recipe folder" in line
    assert SECRET not in line
    assert not out.exists()


def test_a_plain_name_in_the_folder_above_the_recipe_is_still_read(tmp_path: Path) -> None:
    """The fallback for recipe/meta.yaml reading setup.py at the top of its project stays."""
    folder = _recipe(
        tmp_path / "recipe",
        "{% set m = load_file_regex(load_file='setup.py', regex_pattern='version=.(?P<v>[0-9.]+)') %}\n"
        "package:\n  name: foo\n  version: {{ m.group('v') }}\n",
    )
    (tmp_path / "setup.py").write_text("setup(version='1.2.3')\n", encoding="utf-8")
    from fastconda.convert import convert

    assert "version: 1.2.3" in convert(folder).recipe_text


def test_build_may_read_anywhere_in_the_project_and_nowhere_else(tmp_path: Path) -> None:
    from fastconda.convert import convert
    from fastconda.errors import ConvertError

    project = tmp_path / "project"
    (project / "src" / "foo").mkdir(parents=True)
    (project / "src" / "foo" / "version.py").write_text("__version__ = '4.5.6'\n", encoding="utf-8")
    folder = _recipe(
        project / "conda" / "recipe",
        "{% set m = load_file_regex(load_file='../../src/foo/version.py', regex_pattern=\"'(.*)'\") %}\n"
        "package:\n  name: foo\n  version: {{ m.group(1) }}\n",
    )
    assert "version: 4.5.6" in convert(folder, project_root=project).recipe_text
    with pytest.raises(ConvertError, match="outside the recipe folder"):
        convert(folder)  # convert alone: only the recipe folder
    (tmp_path / "secret.txt").write_text(SECRET, encoding="utf-8")
    (folder / "meta.yaml").write_text(
        "{% set m = load_file_regex(load_file='../../../secret.txt', regex_pattern='.*') %}\n"
        "package:\n  name: foo\n  version: '1'\nabout:\n  summary: {{ m.group(0) }}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConvertError, match="outside the project") as info:
        convert(folder, project_root=project)
    assert SECRET not in str(info.value)


# -- 7 and 10. bounds and one-line errors ---------------------------------------------------------------

_LAUGHS = (
    "package:\n  name: foo\n  version: '1'\nx0: &x0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    + "".join(f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 9)}]\n" for i in range(1, 9))
)


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        pytest.param(_LAUGHS, "aliases expanded", id="billion-laughs"),
        pytest.param(
            "a: &a [1, *a]\npackage: {name: foo}\n", "alias refers to the anchor", id="recursive-alias"
        ),
        pytest.param("package:\n  name: foo\n  version: {{ 'x' * 10**10 }}\n", "larger than", id="str-times"),
        pytest.param(
            "{% set n = 10**10 %}\npackage:\n  name: foo\n  version: {{ 'x' * n }}\n",
            "larger than",
            id="str-times-var",
        ),
        pytest.param(
            "{% set v = [1] * 10**9 %}\npackage:\n  name: foo\n  version: '1'\n",
            "larger than",
            id="list-times",
        ),
        pytest.param(
            "{% set v = 7 ** 1000000 %}\npackage:\n  name: foo\n  version: '1'\n", "bits", id="huge-int"
        ),
        pytest.param(
            "{% set a = 'x' * 1000 %}\n{% set b = a.replace('x', a).replace('x', a) %}\npackage:\n"
            "  name: foo\n  version: '1'\n",
            "larger than",
            id="replace-growth",
        ),
        pytest.param(
            "{% set v = '{:>999999999}'.format(1) %}\npackage:\n  name: foo\n  version: '1'\n",
            "larger than",
            id="format-width",
        ),
        pytest.param(
            "{% set v = '%999999999d' % 1 %}\npackage:\n  name: foo\n  version: '1'\n",
            "larger than",
            id="percent-width",
        ),
        pytest.param(
            "{% macro m(n) %}{{ m(n) ~ m(n) }}{% endmacro %}\npackage:\n  name: foo\n  version: {{ m(1) }}\n",
            "recurses",
            id="macro-recursion",
        ),
        pytest.param(
            "{% macro m() %}{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
            "{% endfor %}{% endmacro %}\npackage:\n  name: foo\n  version: {{ m() }}\n",
            "steps",
            id="nested-loops",
        ),
        pytest.param(
            "{% set v = 1 %}\n" + "{% if v %}\n" * 400 + "package:\n  name: foo\n" + "{% endif %}\n" * 400,
            "nests too deeply",
            id="deep-if",
        ),
        pytest.param(
            "package:\n  name: foo\n  version: {{ " + "(" * 400 + "1" + ")" * 400 + " }}\n",
            "nests too deeply",
            id="deep-parens",
        ),
        pytest.param("package:\n  name: foo\x00\n  version: '1'\n", "U+0000", id="nul-byte"),
        pytest.param("", "empty", id="empty"),
        pytest.param("{% set x = 1 %}\n# only a comment\n", "empty", id="renders-to-nothing"),
        pytest.param(
            "{% set v = 1 / 0 %}\npackage:\n  name: foo\n  version: {{ v }}\n", "foo", id="zero-division"
        ),
    ],
)
def test_hostile_recipes_end_in_one_line_errors_quickly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expect: str
) -> None:
    folder = _recipe(tmp_path / "r", text)
    code, seconds = _timed(["convert", str(folder)])
    captured = capsys.readouterr()
    assert seconds < 10, seconds
    if expect == "foo":  # not an error conda-build would refuse up front: any one-line outcome, no traceback
        assert "Traceback" not in captured.err and len(captured.err.strip().splitlines()) <= 1
        return
    assert code == 1, captured
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert str(folder / "meta.yaml") in lines[0]
    assert expect in lines[0]


def _timed(argv: list[str]) -> tuple[int, float]:
    import time

    start = time.monotonic()
    code = main(argv)
    return code, time.monotonic() - start


def test_check_on_an_empty_meta_yaml_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _recipe(tmp_path / "r", "")
    code = main(["convert", "--check", str(folder)])
    _one_line_error(capsys, code, names=str(folder / "meta.yaml"))
