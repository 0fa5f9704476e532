"""``convert()``: a meta.yaml (text or path) → a v1 recipe, with warnings for every lossy step."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from fastconda.convert.limits import budget
from fastconda.convert.model import ConversionResult, Warnings
from fastconda.convert.preprocess import prepare
from fastconda.convert.recipe import assemble_recipe
from fastconda.convert.tree import Doc
from fastconda.convert.variants import convert_variants, read_variant_keys
from fastconda.convert.writer import header_comments, write_recipe_text
from fastconda.errors import ConvertError

VariantInput = str | Path | Mapping[str, Sequence[object]] | None
MAX_RECIPE = 4 * 1024 * 1024  # bytes of a meta.yaml: real ones have a few kB


def convert(
    text_or_path: str | Path,
    *,
    variant_config: VariantInput = None,
    filename: str | None = None,
    recipe_dir: Path | None = None,
    project_root: Path | None = None,
) -> ConversionResult:
    """Convert a conda-build ``meta.yaml`` into a rattler-build v1 ``recipe.yaml``.

    ``text_or_path`` is the recipe text, or a :class:`~pathlib.Path` to a meta.yaml or to the folder
    holding it (a ``str`` is always text). ``variant_config`` is a conda_build_config.yaml (path or
    text) or a mapping; its keys are accepted as selector names and, when it is a file or text, it is
    converted into ``ConversionResult.variants_text``. Raises :class:`ConvertError` on bad input.

    ``load_file_regex``/``load_file_data`` read files of the recipe folder only (see
    :mod:`~fastconda.convert.loaders`); ``project_root`` (``fastconda build``) allows the whole project.
    """
    text, name, folder = _read(text_or_path)
    filename = filename or name
    recipe_dir = recipe_dir or folder
    try:
        with budget():  # one allowance of jinja work for the whole conversion, however many lines
            return _convert(text, filename, recipe_dir, project_root, variant_config)
    except (RecursionError, MemoryError):
        # the jinja and YAML bounds stop the known shapes; this is the last line of defence
        msg = f"{filename}: the recipe nests too deeply or grows too large to convert; simplify its jinja"
        raise ConvertError(msg) from None


def _convert(
    text: str,
    filename: str,
    recipe_dir: Path | None,
    project_root: Path | None,
    variant_config: VariantInput,
) -> ConversionResult:
    warnings = Warnings()
    variants_text: str | None = None
    keys: frozenset[str] = frozenset()
    if variant_config is not None:
        keys = read_variant_keys(variant_config)
        if not isinstance(variant_config, Mapping):
            variants_text = convert_variants(variant_config, warnings)
    prepared = prepare(text, filename, warnings, keys, recipe_dir, project_root)
    doc = Doc(prepared, filename, warnings)
    if not doc.root:
        msg = f"{filename}:1: the recipe is empty after jinja and selectors; write at least its 'package:'"
        raise ConvertError(msg)
    built = assemble_recipe(doc, prepared.context, recipe_dir)
    recipe_text = write_recipe_text(
        built.recipe, header=header_comments(text), notes=built.notes, leading=built.leading
    )
    return ConversionResult(recipe_text, warnings.frozen(), variants_text)


def _read(text_or_path: str | Path) -> tuple[str, str, Path | None]:
    if isinstance(text_or_path, str):
        return text_or_path, "meta.yaml", None
    path = text_or_path
    if path.is_dir():
        path = path / "meta.yaml"
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_RECIPE + 1)
        if len(data) > MAX_RECIPE:
            msg = f"{path}: larger than {MAX_RECIPE // (1024 * 1024)} MiB; that is not a recipe, refused"
            raise ConvertError(msg)
        text = data.decode("utf-8")
    except FileNotFoundError:
        msg = f"{path}: no such file; pass a meta.yaml or the folder that holds one"
        raise ConvertError(msg) from None
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"{path}: cannot read the recipe: {exc}"
        raise ConvertError(msg) from None
    return text, str(path), path.parent
