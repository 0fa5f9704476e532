"""jinja statements → the v1 context. ``{% set %}`` inside ``{% if %}`` keeps its condition: conda-build runs
the jinja top to bottom, so the value holds only where the block's condition does; v1 has one context
value, an ``if … else`` expression. Redefinitions read the old value, loops substitute into statements,
and the context is ordered so that the engine reads each value after its inputs.

Each conversion is compared with the meta.yaml rendered by conda-build's rules (``--check``) for the
variants that take each branch, and rendered by the real engine.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fastconda.convert import convert
from fastconda.convert.check import check
from fastconda.errors import ConvertError
from tests.convert.helpers import render

MPI = """\
{% set build = 2 %}
{% if mpi != 'nompi' %}
{% set mpi_prefix = "mpi_" + mpi %}
{% set build = build + 100 %}
{% else %}
{% set mpi_prefix = "nompi" %}
{% endif %}
package:
  name: tinyh5
  version: "1.14.3"
build:
  number: {{ build }}
  string: {{ mpi_prefix }}_h{{ PKG_HASH }}_{{ build }}
requirements:
  host:
    - {{ mpi }}  # [mpi != 'nompi']
about:
  license: MIT
"""


def test_set_under_if_else_becomes_a_conditional_context_value() -> None:
    result = convert(MPI)
    assert "  build: ${{ 102 if (mpi != 'nompi') else 2 }}\n" in result.recipe_text
    assert "  mpi_prefix: ${{ ('mpi_' + mpi) if (mpi != 'nompi') else 'nompi' }}\n" in result.recipe_text
    assert result.warnings == ()


@pytest.mark.parametrize(
    ("mpi", "number", "prefix"), [("nompi", 2, "nompi"), ("openmpi", 102, "mpi_openmpi")]
)
def test_set_under_if_means_what_conda_build_renders_for_each_variant(
    mpi: str, number: int, prefix: str, tmp_path: Path
) -> None:
    result = convert(MPI)
    assert check(MPI, result, platform="linux-64", variant={"mpi": mpi}).differences == ()
    (variant,) = render(result.recipe_text, "linux-64", tmp_path, f"mpi: [{mpi}]")
    assert variant["build"]["number"] == number  # type: ignore[index]
    assert variant["build"]["string"].startswith(f"{prefix}_h")  # type: ignore[index]


CHAIN = """\
{% set build = 0 %}
{% if cuda_compiler_version != "None" %}
{% set build = build + 200 %}
{% if linux %}
{% set flavour = "cuda_linux" %}
{% elif win %}
{% set flavour = "cuda_win" %}
{% endif %}
{% elif mpi == "openmpi" %}
{% set build = build + 100 %}
{% set flavour = "mpi" %}  # [unix]
{% else %}
{% set flavour = "cpu" %}
{% endif %}
package:
  name: tinysolver
  version: "3.0"
build:
  number: {{ build }}
  string: {{ flavour }}_{{ build }}
about:
  license: MIT
"""


@pytest.mark.parametrize(
    ("platform", "variant", "string"),
    [
        ("linux-64", {"cuda_compiler_version": "12.0", "mpi": "nompi"}, "cuda_linux_200"),
        ("win-64", {"cuda_compiler_version": "12.0", "mpi": "nompi"}, "cuda_win_200"),
        ("osx-arm64", {"cuda_compiler_version": "12.0", "mpi": "nompi"}, "_200"),
        ("linux-64", {"cuda_compiler_version": "None", "mpi": "openmpi"}, "mpi_100"),
        ("win-64", {"cuda_compiler_version": "None", "mpi": "openmpi"}, "_100"),
        ("linux-64", {"cuda_compiler_version": "None", "mpi": "nompi"}, "cpu_0"),
    ],
)
def test_elif_chains_nested_blocks_and_selectors_keep_every_condition(
    platform: str, variant: dict[str, str], string: str, tmp_path: Path
) -> None:
    result = convert(CHAIN)
    assert check(CHAIN, result, platform=platform, variant=variant).differences == ()
    variants = "".join(f"{key}: ['{value}']\n" for key, value in variant.items())
    (rendered,) = render(result.recipe_text, platform, tmp_path, variants)
    assert rendered["build"]["string"] == string  # type: ignore[index]


def test_a_name_set_in_some_branches_only_is_empty_elsewhere_with_a_warning() -> None:
    warnings = [w.format() for w in convert(CHAIN).warnings]
    assert warnings == [
        "meta.yaml:5: '{% set flavour %}' is set only in some branches of its '{% if %}' block: the v1 "
        "context sets it to '' elsewhere (what conda-build's jinja gives an undefined name)",
        "meta.yaml:11: '{% set flavour %}' applies only where [unix]: the v1 context sets it to '' "
        "elsewhere (what conda-build's jinja gives an undefined name)",
    ]


def test_a_condition_known_at_conversion_is_decided_as_conda_build_decides_it() -> None:
    meta = (
        '{% set version = "2.1" %}\n'
        '{% if version.startswith("2") %}\n{% set api = 2 %}\n{% else %}\n{% set api = 1 %}\n'
        "{% set legacy = true %}\n{% endif %}\n"
        "package:\n  name: p\n  version: {{ version }}\nbuild:\n  string: api{{ api }}\n"
    )
    recipe = convert(meta).recipe_text
    assert "  api: 2\n" in recipe
    assert "legacy" not in recipe  # the branch conda-build does not take sets nothing


def test_the_same_value_in_every_branch_needs_no_condition() -> None:
    meta = (
        '{% set tag = "x" %}\n{% if linux %}\n{% set tag = "x" %}\n{% endif %}\n'
        "package:\n  name: p\n  version: '1'\nbuild:\n  string: {{ tag }}\n"
    )
    assert 'context:\n  tag: "x"\n' in convert(meta).recipe_text


def test_a_value_v1_cannot_hold_set_under_if_is_an_explicit_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "1"\n', encoding="utf-8")
    (tmp_path / "meta.yaml").write_text(
        "{% if linux %}\n{% set data = load_file_data('pyproject.toml', from_recipe_dir=True) %}\n"
        "{% endif %}\npackage:\n  name: p\n  version: '1'\n",
        encoding="utf-8",
    )
    with pytest.raises(ConvertError, match=r"meta.yaml:2: 'data' is set inside an '\{% if %\}' block to a"):
        convert(tmp_path)


@pytest.mark.parametrize(
    ("linux_value", "other_value", "pin"),
    [
        ("1.2", "1.3", "- libfoo ${{ abi }}.*\n"),  # conda reads both as 'v.*'
        (">=1.2", "1.3.*", "- libfoo ${{ abi }}\n"),  # neither gets a '.*'
        ("1.2", ">=2", "- libfoo ${{ abi }}${{ '' if not abi or abi[:1] in '<>=!~' or '*' in abi"),
    ],
)
def test_a_pin_on_a_conditional_value_gets_the_fuzzy_star_where_conda_reads_one(
    linux_value: str, other_value: str, pin: str, tmp_path: Path
) -> None:
    meta = (
        f"{{% if linux %}}\n{{% set abi = '{linux_value}' %}}\n"
        f"{{% else %}}\n{{% set abi = '{other_value}' %}}\n"
        "{% endif %}\npackage:\n  name: p\n  version: '1'\nrequirements:\n  run:\n    - libfoo {{ abi }}\n"
    )
    result = convert(meta)
    assert pin in result.recipe_text
    for platform, value in (("linux-64", linux_value), ("osx-arm64", other_value)):
        assert check(meta, result, platform=platform).differences == ()
        (variant,) = render(result.recipe_text, platform, tmp_path)
        fuzzy = value if "*" in value or value.startswith(">") else f"{value}.*"
        assert variant["requirements"] == {"run": [f"libfoo {fuzzy}"]}


def test_a_value_redefined_from_itself_under_a_block_reads_the_old_value_and_comes_after_its_inputs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    meta = (
        "{% set build = 2 %}\n{% set offset = environ.get('FC_OFFSET', '0') | int %}\n"
        "{% if linux %}\n{% set build = build + offset %}\n{% endif %}\n"
        "package:\n  name: p\n  version: '1'\nbuild:\n  number: {{ build }}\n"
    )
    result = convert(meta)
    assert "context:\n  offset: ${{ env.get('FC_OFFSET', default='0') | int }}\n" in result.recipe_text
    assert "  build: ${{ (2 + offset) if linux else 2 }}\n" in result.recipe_text
    assert not any("redefined" in w.message for w in result.warnings)
    monkeypatch.setenv("FC_OFFSET", "100")
    for platform, number in (("linux-64", 102), ("osx-arm64", 2)):
        (variant,) = render(result.recipe_text, platform, tmp_path)
        assert variant["build"]["number"] == number  # type: ignore[index]
        assert check(meta, result, platform=platform).differences == ()


def test_statements_inside_an_unrolled_loop_read_the_loop_value() -> None:
    meta = (
        "{% for impl in ['cpython', 'pypy'] %}\n{% if impl == 'pypy' %}\n{% set last = impl %}\n"
        "{% endif %}\n{% endfor %}\npackage:\n  name: p\n  version: '1'\nbuild:\n  string: {{ last }}\n"
    )
    result = convert(meta)
    assert "context:\n  last: 'pypy'\n" in result.recipe_text
    assert result.warnings == ()


def test_a_statement_in_a_yaml_comment_still_runs_as_in_conda_build() -> None:
    """conda-build's jinja runs before YAML reads comments: '# {% if %}' is an '{% if %}'."""
    meta = (
        "{% set version = '2.1' %}\n# {% if version.startswith('1') %}\n# {% set old = true %}\n"
        "#   url: https://example.org/old.tar.gz\n# {% else %}\n#   url: https://example.org/new.tar.gz\n"
        "# {% endif %}\npackage:\n  name: p\n  version: {{ version }}\n"
    )
    result = convert(meta)
    assert "context:\n  version: '2.1'\n\npackage:" in result.recipe_text  # the branch not taken sets nothing


def test_a_loop_over_a_mapping_known_now_unrolls_over_its_keys(tmp_path: Path) -> None:
    """A 'poetry' style recipe: dependencies read from pyproject.toml, tested per key."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "p"\nversion = "1.0"\n[tool.deps]\npython = "^3.9"\ntqdm = "*"\n', encoding="utf-8"
    )
    (tmp_path / "meta.yaml").write_text(
        "{% set deps = load_file_data('pyproject.toml', from_recipe_dir=True)['tool']['deps'] %}\n"
        "package:\n  name: p\n  version: '1.0'\nrequirements:\n  run:\n"
        "{% for dep in deps -%}\n  {% if deps[dep] == '*' %}\n    - {{ dep }}\n"
        "  {% else %}\n    - {{ dep }} >={{ deps[dep][1:] }}\n  {% endif %}\n{% endfor %}\n",
        encoding="utf-8",
    )
    result = convert(tmp_path)
    assert "  run:\n    - python >=3.9\n    - tqdm\n" in result.recipe_text


def test_quotes_inside_a_quoted_yaml_value_are_read_as_conda_build_reads_them(tmp_path: Path) -> None:
    meta = "{% set v = '1.0' %}\npackage:\n  name: p\n  version: '{{ v ~ '.post1' }}'\n"
    (variant,) = render(convert(meta).recipe_text, "noarch", tmp_path)
    assert variant["package"] == {"name": "p", "version": "1.0.post1"}


@pytest.mark.parametrize(("platform", "run"), [("linux-64", ["linuxdep"]), ("osx-arm64", ["v2dep"])])
def test_a_chain_mixing_branches_decided_now_and_conditions_keeps_conda_builds_choice(
    platform: str, run: list[str], tmp_path: Path
) -> None:
    meta = (
        "{% set version = '2.1' %}\npackage:\n  name: p\n  version: {{ version }}\nrequirements:\n  run:\n"
        "{% if version.startswith('1') %}\n    - old\n{% elif linux %}\n    - linuxdep\n"
        "{% elif version.startswith('2') %}\n    - v2dep\n{% else %}\n    - other\n{% endif %}\n"
    )
    result = convert(meta)
    assert "old" not in result.recipe_text
    assert "other" not in result.recipe_text  # after a branch whose condition holds, none is taken
    assert check(meta, result, platform=platform).differences == ()
    (variant,) = render(result.recipe_text, platform, tmp_path)
    assert variant["requirements"] == {"run": run}


def test_a_block_that_sets_the_name_its_condition_tests_reads_the_value_from_before(tmp_path: Path) -> None:
    """'{% if build > 5 %}{% set build = 5 %}': conda-build tests 7, not the new value (which v1 would
    read if the condition stayed as written: the value would read itself)."""
    meta = (
        "{% set build = 7 %}\n{% if build > 5 %}\n{% set build = 5 %}\n{% endif %}\n"
        "package:\n  name: p\n  version: '1'\nbuild:\n  number: {{ build }}\n"
    )
    result = convert(meta)
    assert "  build: ${{ 5 if (7 > 5) else 7 }}\n" in result.recipe_text
    (variant,) = render(result.recipe_text, "noarch", tmp_path)
    assert variant["build"]["number"] == 5  # type: ignore[index]
    assert [w.line for w in result.warnings] == [3]
    assert "'build' is set again after the '{% if %}' on line 2 tested it" in result.warnings[0].message


def test_a_set_in_a_yaml_comment_runs_as_in_conda_build_with_a_warning() -> None:
    meta = (
        '{% set version = "2.0" %}\n# {% set version = "1.9" %}\n'
        "package:\n  name: p\n  version: {{ version }}\n"
    )
    result = convert(meta)
    assert 'context:\n  version: "1.9"\n' in result.recipe_text
    assert check(meta, result, platform="linux-64").differences == ()
    assert [w.line for w in result.warnings] == [2]
    assert "is in a YAML comment, but conda-build's jinja runs it all the same" in result.warnings[0].message
