"""Hostile meta.yaml files against ``fastconda convert`` and ``convert --check`` (issue 13: 1, 7, 8, 10).

Nothing in a recipe executes (a canary file that an exploit would create never appears), files
outside the recipe folder are never read into the output, and every bad input ends in a one-line
error that names the file, in bounded time and memory.
"""

from __future__ import annotations

import ast
import json
import os
import select
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastconda.cli import main
from fastconda.convert import convert
from fastconda.convert.check_meta import namespace
from fastconda.convert.selector_truth import evaluate_selector
from fastconda.convert.selectors import SelectorError
from fastconda.errors import ConvertError

SRC = Path(__file__).resolve().parents[2] / "src"


def _recipe(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data.txt").write_text("a" * 40 + "!", encoding="utf-8")
    (folder / "data.yaml").write_text(_LAUGHS, encoding="utf-8")
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
        "NOPE",  # a lower-case name is a variant variable (false when undefined, as in conda-build)
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

    assert "version: 1.2.3" in convert(folder).recipe_text


def test_build_may_read_anywhere_in_the_project_and_nowhere_else(tmp_path: Path) -> None:

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
    (folder / "data.txt").write_text("a" * 40 + "!", encoding="utf-8")
    (folder / "data.yaml").write_text(_LAUGHS, encoding="utf-8")
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
        pytest.param(
            "{% set a = '" + "x" * 1000 + "' %}\npackage:\n  name: foo\n"
            "  version: {{ a | replace('x', a) | replace('x', a) }}\n",
            "larger than",
            id="replace-chain-for-the-engine",
        ),
        pytest.param(
            "{% macro m() %}{{ 'x'|nosuchfilter }}{% endmacro %}\npackage:\n  name: foo\n",
            "nosuchfilter",
            id="macro-unknown-filter",
        ),
        pytest.param(
            "package:\n  name: foo\nrequirements:\n  build:\n    - {\n{ cdt('x') }}\n",
            "used as a key",
            id="mapping-as-key",
        ),
        pytest.param(
            "{% set p = load_file_re|gex(x=1) %}\npackage:\n  name: foo\n", "foo", id="unknown-filter-set"
        ),
        pytest.param(
            "package:\n  name: foo\n  version: {{ v|re1place('-', '_') }}\n", "foo", id="unknown-filter"
        ),
        pytest.param("", "empty", id="empty"),
        pytest.param(
            "{% set xs = [1] * 10000 %}\n{% for i in xs %}\n" + "# a line\n" * 1000 + "{% endfor %}\n"
            "package:\n  name: foo\n",
            "unrolls",
            id="unrolled-loop",
        ),
        pytest.param("package:\n  name: foo\n" + "# padding\n" * 500_000, "MiB", id="huge-file"),
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


# -- hostile jinja and YAML, generated: nothing executes, every failure is one line, in bounds -----------

# Runs in a worker process under RLIMIT_AS, so that a conversion that ran away would fail there (a
# MemoryError or a crash), not take the test session with it; the worker serves many examples.
_WORKER = """
import contextlib, io, json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (int(sys.argv[1]), int(sys.argv[1])))
from fastconda.cli import main
for line in sys.stdin:
    err = io.StringIO()
    start = time.monotonic()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            code = main(json.loads(line))
        except BaseException as exc:  # main must never raise: reported to the test
            code = -1
            err.write(f"RAISED {type(exc).__name__}: {exc}")
    print(json.dumps({"code": code, "err": err.getvalue(), "seconds": time.monotonic() - start}), flush=True)
"""
MEMORY = 1024 * 1024 * 1024  # address space of the worker (it peaks near 100 MB on real recipes)
SECONDS = 8.0  # per conversion (the bounds stop the slow shapes well under a second here)

CANARY = "@CANARY@"
SELECTORS = [
    "(c for c in ().__class__.__base__.__subclasses__() if c.__name__ == '_wrap_close').__next__()"
    f".__init__.__globals__.get('system')('touch {CANARY}') == 0",
    f"__import__('os').system('touch {CANARY}') == 0",
    f"open('{CANARY}', 'w').write('x') > 0",
    f"os.system('touch {CANARY}') == 0",
    "environ.__class__.__mro__",
    "linux and py>=38",
]
EXPRESSIONS = [
    "().__class__.__mro__[1].__subclasses__()",
    "''.__class__.__mro__[1].__subclasses__()[0].__init__.__globals__",
    f"cycler.__init__.__globals__.os.system('touch {CANARY}')",
    f"joiner.__init__.__globals__['os'].popen('touch {CANARY}').read()",
    f"namespace.__init__.__globals__.os.system('touch {CANARY}')",
    f"lipsum.__globals__['os'].system('touch {CANARY}')",
    "lipsum(n=100000)",
    f"self.__init__.__globals__.__builtins__.open('{CANARY}', 'w').write('x')",
    f"self._TemplateReference__context.cycler.__init__.__globals__.os.system('touch {CANARY}')",
    f"load_file_regex.__globals__['os'].system('touch {CANARY}')",
    f"load_file_regex(load_file='{CANARY}', regex_pattern='.*')",
    "compiler.__globals__",
    f"os.system('touch {CANARY}')",
    "environ.update({'A': 'B'})",
    "range(10**9) | list | length",
    "range(100000) | map('string') | join(',') | length",
    "'x' * 10**10",
    "[1] * 10**9",
    "'x' * 1000 * 1000 * 1000",
    "10 ** 10 ** 10",
    "9 ** 999999",
    "'%9999999999d' % 1",
    "'{:>99999999}'.format(1)",
    "('x' * 1000).replace('x', 'x' * 1000).replace('x', 'x' * 1000)",
    "'ab'.center(10**9)",
    "('x\\n' * 100000) | indent(100000)",
    "[1] | batch(10**9, 'x') | list",
    "'a'.ljust(10**9)",
    "(1).to_bytes(10**9, 'big')",
    "m(1)",
    "load_file_data('data.yaml')",
    "load_file_regex(load_file='data.txt', regex_pattern='(a+)+$')",
    "load_file_regex(load_file='../../../../../../etc/passwd', regex_pattern='.*')",
    "1 / 0",
    "'1.0'.split('.')[0]",
]
STATEMENTS = [
    "{% macro m(n) %}{{ m(n) ~ m(n) }}{% endmacro %}",
    "{% macro m(n) %}{% for i in range(100000) %}{% for j in range(100000) %}{{ j }}{% endfor %}{% endfor %}"
    "{% endmacro %}",
    "{% macro m(n) %}{% for i in range(100000) %}{{ 'x' * 100000 }}{% endfor %}{% endmacro %}",
    "{% set ns = namespace(a='x') %}",
    "{% macro w() %}{{ 'x'|wordwrap }}{{ 'y'|urlize }}{% endmacro %}",
    "{% set version = '1.0' %}",
    "{% set xs = [1] * 10000 %}\n{% for x in xs %}\n{% for y in xs %}\n# {{ x }}\n{% endfor %}\n{% endfor %}",
]
YAML_TAILS = [
    "",
    f'x: !!python/object/apply:os.system ["touch {CANARY}"]\n',
    "x: !!python/name:os.system\n",
    "x: &a [1, *a]\n",
    "x: " + "1" * 20000 + "\n",
    "x: " + "[" * 2000 + "]" * 2000 + "\n",
]


@st.composite
def _hostile(draw: st.DrawFn) -> str:
    statements = draw(st.lists(st.sampled_from(STATEMENTS), max_size=3))
    selector = draw(st.sampled_from(SELECTORS))
    statements.append(f'{{% set sel = "[{selector}]" %}}')
    expression = draw(
        st.one_of(
            st.sampled_from(EXPRESSIONS),
            st.integers(50, 400).map(lambda n: "(" * n + "1" + ")" * n),
        )
    )
    expression = draw(st.sampled_from([expression, f"{expression} if true else 1"]))
    if draw(st.booleans()):
        statements.append(f"{{% set v = {expression} %}}")
        expression = "v"
    body = (
        f"package:\n  name: foo\n  version: {{{{ {expression} }}}}\n"
        "requirements:\n  run:\n    - pip  # {{ sel }}\n"
    )
    nesting = draw(st.sampled_from([0, 0, 30, 300]))
    body = "{% if true %}\n" * nesting + body + "{% endif %}\n" * nesting
    depth, width = draw(st.integers(1, 9)), draw(st.integers(1, 12))
    laughs = "".join(
        f"l{i}: &l{i} [{', '.join([f'*l{i - 1}' if i else 'lol'] * width)}]\n" for i in range(depth)
    )
    text = (
        "\n".join(statements)
        + "\n"
        + body
        + draw(st.sampled_from(["", laughs]))
        + draw(st.sampled_from(YAML_TAILS))
    )
    if draw(st.booleans()):
        position = draw(st.integers(0, len(text)))
        text = (
            text[:position] + draw(st.sampled_from(["\x00", "\x07", "\ud7ff", "{{", "{%"])) + text[position:]
        )
    return text


@pytest.fixture(scope="module")
def worker() -> Iterator[Callable[[list[str]], dict[str, Any]]]:
    """A function that runs ``fastconda convert`` in the bounded worker, restarting it if it died."""
    process: list[subprocess.Popen[str]] = []

    def start() -> subprocess.Popen[str]:
        child = subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(MEMORY)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        process[:] = [child]
        return child

    def run(argv: list[str]) -> dict[str, Any]:
        child = process[0] if process and process[0].poll() is None else start()
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(json.dumps(argv) + "\n")
        child.stdin.flush()
        ready, _, _ = select.select([child.stdout], [], [], SECONDS * 3)
        line = child.stdout.readline() if ready else ""
        if not line:
            _stop(child)
            return {
                "code": None,
                "err": f"no answer (exit {child.returncode}): ran away or crashed",
                "seconds": -1,
            }
        answer: dict[str, Any] = json.loads(line)
        return answer

    yield run
    for child in process:
        _stop(child)


def _stop(child: subprocess.Popen[str]) -> None:
    child.kill()
    child.wait()
    for stream in (child.stdin, child.stdout):
        if stream is not None:
            stream.close()


@settings(
    max_examples=int(os.environ.get("FASTCONDA_HOSTILE_EXAMPLES", "150")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(text=_hostile(), check=st.booleans())
def test_hostile_jinja_and_yaml_never_execute_and_fail_in_one_line(
    tmp_path_factory: pytest.TempPathFactory,
    worker: Callable[[list[str]], dict[str, Any]],
    text: str,
    check: bool,
) -> None:
    base = tmp_path_factory.mktemp("hostile")
    canary = base / "canary"
    folder = base / "recipe"
    folder.mkdir()
    (folder / "data.txt").write_text("a" * 40 + "!", encoding="utf-8")
    (folder / "data.yaml").write_text(_LAUGHS, encoding="utf-8")
    (folder / "meta.yaml").write_text(
        text.replace(CANARY, str(canary)), encoding="utf-8", errors="surrogatepass"
    )
    answer = worker(["convert", *(["--check"] if check else []), str(folder), "-o", str(base / "out.yaml")])
    assert not canary.exists(), text
    assert answer["code"] in {0, 1, 3}, answer
    assert 0 <= answer["seconds"] < SECONDS, answer
    assert "Traceback" not in answer["err"] and "RAISED" not in answer["err"], answer
    assert "too large to convert" not in answer["err"], answer  # the MemoryError fallback: a bound was missed
    lines = answer["err"].strip().splitlines()
    if answer["code"] == 1 and not any(line.startswith("error: --check:") for line in lines):
        assert len(lines) == 1, answer
        assert str(folder / "meta.yaml") in lines[0], answer


@pytest.mark.parametrize(
    "template",
    [
        "{{ [3, 1, 2]|sort|list }}",
        "{{ range(3)|map('string')|join(',') }}",
        "{{ 'a-b-c'|replace('-', '_') }} {{ 'a-b'.replace('-', '.') }}",
        "{{ '1.2.3'.split('.')[:2]|join('.') }}",
        "{{ [1, 2, 3]|sum }} {{ [1, 2]|first }} {{ [1, 2]|last }} {{ [1, 1, 2]|unique|list }}",
        "{{ '%s-%d'|format('a', 3) }} {{ '{}.{}'.format(1, 2) }} {{ '%s' % 'x' }}",
        "{{ 'Ab'|lower }}{{ 'ab'|upper }}{{ 'ab cd'|title }}{{ ' x '|trim }}{{ 'ab'|capitalize }}",
        "{{ {'b': 1, 'a': 2}|dictsort }} {{ {'a': 1}.items()|list }} {{ {'a': 1}.get('a') }}",
        "{{ [1, 2, 3, 4]|batch(3)|list }} {{ [1, 2, 3]|slice(2)|list }} {{ 'x\ny'|indent(2) }}",
        "{{ [{'a': 1}, {'a': 2}]|map(attribute='a')|list }} {{ [1, 2, 3]|select('odd')|list }}",
        "{{ 'x' * 3 }}{{ [0] * 2 }}{{ 2 ** 10 }}{{ 'a' ~ 1 ~ [2] }}{{ 1 + 2 }}{{ [1] + [2] }}",
        "{% for i in range(3) %}{{ i }}{% endfor %}{% macro m(x) %}<{{ x }}>{% endmacro %}{{ m(1) }}",
        "{% set ns = namespace(n=0) %}{% for i in range(4) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}",
        "{{ 'abc'.startswith('a') }} {{ 'a,b'.split(',') }} {{ 'v1.0'.lstrip('v') }} {{ (1.5)|int }}",
        "{{ {'a': 1}|tojson }} {{ [1, 2]|length }} {{ none|default('d') }} {{ 'x'|truncate(10) }}",
    ],
)
def test_the_bounded_sandbox_renders_what_recipes_use_like_jinja_does(template: str) -> None:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from fastconda.convert.expressions import ENV
    from fastconda.convert.sandbox import render

    expected = ImmutableSandboxedEnvironment().from_string(template).render()
    assert render(template, {}, ENV) == expected


def test_build_converts_a_projects_meta_yaml_with_the_project_as_the_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``fastconda build`` names the project root to the converter: outside it, a read is refused
    before anything is built (the message names the project, which only build passes)."""
    project = tmp_path / "proj"
    (project / "src" / "foo").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "foo"\nversion = "1.0"\n[build-system]\nrequires = ["hatchling"]\n'
        'build-backend = "hatchling.build"\n',
        encoding="utf-8",
    )
    (tmp_path / "secret.txt").write_text(SECRET, encoding="utf-8")
    _recipe(
        project / "recipe",
        "{% set m = load_file_regex(load_file='../../secret.txt', regex_pattern='.*') %}\n"
        "package:\n  name: foo\n  version: '1.0'\nabout:\n  summary: {{ m.group(0) }}\n",
    )
    code = main(["build", str(project), "-c", str(tmp_path), "-o", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 1
    assert f"outside the project {project}" in captured.err
    assert SECRET not in captured.err + captured.out
    assert not (tmp_path / "out").exists()


def test_a_backtracking_load_file_regex_is_stopped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``(a+)+$`` on 40 a's and a '!' backtracks 2**40 times: Python's re cannot be interrupted."""
    folder = _recipe(
        tmp_path / "r",
        "{% set m = load_file_regex(load_file='data.txt', regex_pattern='(a+)+$') %}\n"
        "package:\n  name: foo\n  version: '1'\n",
    )
    (folder / "data.txt").write_text("a" * 40 + "!", encoding="utf-8")
    code, seconds = _timed(["convert", str(folder)])
    line = _one_line_error(capsys, code, names=str(folder / "meta.yaml"))
    assert "takes more than" in line
    assert seconds < 10


@pytest.mark.parametrize(
    "expression",
    [
        "environ.update({'FASTCONDA_PWNED': '1'})",
        "os.environ.setdefault('FASTCONDA_PWNED', '1')",
        "environ.pop('PATH')",
        "os.system",
        "os.__class__.__init__.__globals__",
        "compiler.__globals__",
        "pin_subpackage.__closure__",
        "load_file_regex.__code__",
        "load_file_regex(load_file='meta.yaml', regex_pattern='p').re.sub('', 'x' * 1000)",
        "cycler.__init__.__globals__",
        "namespace.__init__.__globals__",
        "range.__self__",
        "'x'.__class__",
        "lipsum()",
    ],
)
def test_the_check_namespace_offers_no_way_out(tmp_path: Path, expression: str) -> None:
    """What conda-build's namespace holds here (os, environ, pins, file functions) cannot write the
    environment, reach module globals or any other Python object."""
    import jinja2

    from fastconda.convert.check import DEFAULT_VARIANT
    from fastconda.convert.check_meta import render_meta

    folder = _recipe(tmp_path / "r", "package: {name: foo}\n")
    before = dict(os.environ)
    with pytest.raises((jinja2.TemplateError, ConvertError)):
        render_meta(f"x: {{{{ {expression} }}}}\n", "linux-64", DEFAULT_VARIANT, folder)
    assert dict(os.environ) == before


def test_build_with_a_recipe_outside_the_project_still_reads_the_recipe_folder(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    folder = _recipe(
        tmp_path / "recipes" / "foo",
        "{% set m = load_file_regex(load_file='version.txt', regex_pattern='[0-9.]+') %}\n"
        "package:\n  name: foo\n  version: {{ m.group(0) }}\n",
    )
    (folder / "version.txt").write_text("7.8.9\n", encoding="utf-8")
    assert "version: 7.8.9" in convert(folder, project_root=project).recipe_text


def test_odd_recipes_found_by_mutation_end_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Mutations of the golden recipes that gave a traceback or printed Python's own warnings."""
    import warnings

    folder = _recipe(
        tmp_path / "empty-dep", "package:\n  name: foo\n  version: '1'\nrequirements:\n  run:\n    - {}\n"
    )
    code = main(["convert", "--check", str(folder)])
    captured = capsys.readouterr()
    assert code == 1 and "Traceback" not in captured.err and "StopIteration" not in captured.err
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ConvertError, match="is not a valid expression"):
            convert("package:\n  name: foo\n  version: 1  # [py<38x]\n")
    assert [str(w.message) for w in caught] == []
    loop = (
        "{% set xs = [1] %}\npackage:\n  name: foo\nrequirements:\n  run:\n"
        '{% for x in xs %}\n    - {{ "}}" }}\n{% endfor %}\n'
    )
    with pytest.raises(ConvertError, match=r"meta\.yaml:7: broken jinja expression"):
        convert(loop)
