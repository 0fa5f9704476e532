"""conda_build_config.yaml → variants.yaml: what conda-build accepts there, the engine reads too."""

from __future__ import annotations

from pathlib import Path

from rattler_build import VariantConfig

from fastconda.convert import convert
from tests.convert.helpers import render

META = "package:\n  name: p\n  version: '1'\nrequirements:\n  host:\n    - {{ c_compiler }}\n"


def test_a_scalar_variant_value_becomes_a_one_value_list(tmp_path: Path) -> None:
    """conda-build reads 'c_compiler: gcc' as ['gcc']; the engine refused the scalar."""
    config = "c_compiler: gcc  # [linux]\nc_compiler: clang  # [osx]\nlevel: 3\n"
    result = convert(META, variant_config=config)
    assert result.variants_text == (
        "c_compiler:\n  - if: linux\n    then: gcc\n  - if: osx\n    then: clang\n\nlevel:\n  - 3\n"
    )
    assert result.variants_text is not None
    (variant,) = render(result.recipe_text, "linux-64", tmp_path, result.variants_text)
    assert variant["requirements"] == {"host": ["gcc"]}


ZIPPED = """\
blas_impl:          # [linux64]
- openblas          # [linux64]
blas_impl_lib:      # [linux64]
- libopenblas.so.0  # [linux64]
zip_keys:           # [linux64]
- - blas_impl       # [linux64]
  - blas_impl_lib   # [linux64]
blas_impl:          # [aarch64]
- openblas          # [aarch64]
blas_impl_lib:      # [aarch64]
- libopenblas.so.0  # [aarch64]
zip_keys:           # [aarch64]
- - blas_impl       # [aarch64]
  - blas_impl_lib   # [aarch64]
"""


def test_zip_keys_under_selectors_become_plain_groups_with_a_warning() -> None:
    result = convert(META, variant_config=ZIPPED)
    assert result.variants_text is not None
    assert "zip_keys:\n  - [blas_impl, blas_impl_lib]\n" in result.variants_text
    VariantConfig.from_yaml(result.variants_text)  # the engine refused 'if:' items in zip_keys
    assert [w.message for w in result.warnings] == [
        "conda_build_config.yaml:5: zip_keys under selectors: v1 variant configs take no condition there; "
        "the groups of every platform are written for all"
    ]


def test_a_flat_zip_keys_list_is_one_group(tmp_path: Path) -> None:
    config = "a: [x, y]\nb: ['1', '2']\nzip_keys:\n  - a\n  - b\n"
    meta = "package:\n  name: p\n  version: '1'\nbuild:\n  string: {{ a }}{{ b }}\n"
    result = convert(meta, variant_config=config)
    assert result.variants_text is not None
    assert "zip_keys:\n  - [a, b]\n" in result.variants_text
    variants = render(result.recipe_text, "noarch", tmp_path, result.variants_text)
    assert sorted(v["build"]["string"] for v in variants) == ["x1", "y2"]  # type: ignore[index]
