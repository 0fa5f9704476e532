"""PEP 440 → conda spec translation, checked against packaging and rattler, and PyPI → conda names."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet
from rattler import MatchSpec, Version
from rattler.version import VersionSpec

from fastconda.errors import WheelError
from fastconda.wheel import conda_name, conda_version_spec
from fastconda.wheel.specs import python_spec

releases = st.lists(st.integers(0, 4), min_size=1, max_size=3).map(lambda parts: ".".join(map(str, parts)))
long_releases = st.lists(st.integers(0, 4), min_size=2, max_size=3).map(
    lambda parts: ".".join(map(str, parts))
)
clause = st.one_of(
    st.tuples(st.sampled_from([">=", "<=", ">", "<", "==", "!="]), releases).map("".join),
    long_releases.map(lambda v: f"~={v}"),
    st.tuples(st.sampled_from(["==", "!="]), releases).map(lambda t: f"{t[0]}{t[1]}.*"),
)


@settings(max_examples=300, deadline=None)
@given(
    clauses=st.lists(clause, min_size=1, max_size=3), candidates=st.lists(releases, min_size=1, max_size=8)
)
def test_translation_matches_the_same_release_versions_as_pep440(
    clauses: list[str], candidates: list[str]
) -> None:
    pep440 = SpecifierSet(",".join(clauses))
    conda = VersionSpec(conda_version_spec(pep440))
    for candidate in candidates:
        assert pep440.contains(candidate) == conda.matches(Version(candidate)), (
            str(pep440),
            str(conda),
            candidate,
        )


@settings(max_examples=100, deadline=None)
@given(clauses=st.lists(clause, min_size=1, max_size=3))
def test_translation_is_a_valid_match_spec(clauses: list[str]) -> None:
    spec = conda_version_spec(",".join(clauses))
    assert MatchSpec(f"pkg {spec}").version is not None


@pytest.mark.parametrize(
    ("pep440", "conda"),
    [
        (">=1.19.3,<3", ">=1.19.3,<3a0"),
        ("~=1.4.5", ">=1.4.5,1.4.*"),
        ("~=2.2", ">=2.2,2.*"),
        ("~=1!2.2", ">=1!2.2,1!2.*"),
        ("==1.2.*", "1.2.*"),
        ("!=1.2.*,>=1", ">=1,!=1.2.*"),
        ("===1.0-weird", "==1.0-weird"),
        ("==1.0+local.7", "==1.0+local.7"),
        (">=1.0-post1", ">=1.0.post1"),
        ("<2.0rc1", "<2.0rc1"),
        ("<3.0.0", "<3a0"),
        ("", ""),
    ],
)
def test_known_translations(pep440: str, conda: str) -> None:
    assert conda_version_spec(pep440) == conda


@pytest.mark.parametrize("candidate", ["3.0rc1", "3.0.dev0", "3.0a1", "3.0"])
def test_upper_bound_excludes_pre_releases_of_the_bound_like_pep440(candidate: str) -> None:
    assert not SpecifierSet("<3").contains(candidate, prereleases=True)
    assert not VersionSpec(conda_version_spec("<3")).matches(Version(candidate))


def test_invalid_specifier_is_a_wheel_error() -> None:
    with pytest.raises(WheelError, match="invalid version specifier"):
        conda_version_spec(">=>1")


def test_requires_python_becomes_a_python_spec() -> None:
    assert python_spec(">=3.8") == "python >=3.8"
    assert python_spec(">=3.8, <4") == "python >=3.8,<4a0"
    assert python_spec(None) == "python"


@pytest.mark.parametrize(
    ("pypi", "conda"),
    [
        ("typing-extensions", "typing_extensions"),
        ("Typing_Extensions", "typing_extensions"),
        ("torch", "pytorch"),
        ("tables", "pytables"),
        ("msgpack", "msgpack-python"),
        ("matplotlib", "matplotlib-base"),
        ("ruamel.yaml", "ruamel.yaml"),
        ("Flit_Core", "flit-core"),
        ("setuptools.scm", "setuptools-scm"),
        ("PyTango", "pytango"),
    ],
)
def test_builtin_names(pypi: str, conda: str) -> None:
    assert conda_name(pypi) == conda


def test_user_map_wins_and_is_normalised() -> None:
    assert conda_name("torch", {"Torch": "pytorch-gpu"}) == "pytorch-gpu"
    assert conda_name("my_lib", {"my.lib": "mylib"}) == "mylib"
