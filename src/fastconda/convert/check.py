"""``--check``: prove that a converted recipe means the same as its meta.yaml.

The meta.yaml is rendered the way conda-build would (jinja2 with conda-build's functions, then its
line selectors, then YAML, last duplicate key winning) and the v1 recipe with the rattler-build
engine, for one platform and every variant of the recipe's config that it uses (see
:mod:`check_variants`), with none of the build machine's environment variables. What matters for the
package is compared output by output: version, build number, noarch, requirements, run_exports, entry
points, test imports and commands, about. Each difference is one line that names the package and the
field, prefixed with the variants it shows in where it does not show in all.
"""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from rattler_build import PlatformConfig, RenderConfig, Stage0Recipe, VariantConfig
from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.error import YAMLError

from fastconda.convert.check_meta import render_meta
from fastconda.convert.check_outputs import fill_own, uses_subpackage, with_staging, with_top_level
from fastconda.convert.check_variants import (
    MAX_VARIANTS,
    label,
    merge_differences,
    variant_count,
    variant_sets,
    without_environment,
)
from fastconda.convert.expressions import ENV
from fastconda.convert.licences import spdx_licence
from fastconda.convert.limits import budget, first_line
from fastconda.convert.model import ConversionResult
from fastconda.convert.sandbox import render
from fastconda.convert.sections import URL_KEYS, first_url, fix_operators, fuzzy_version
from fastconda.convert.yamlio import check_document
from fastconda.errors import ConvertError

DEFAULT_VARIANT: dict[str, str] = {
    "python": "3.11",
    "numpy": "1.26",
    "python_min": "3.9",
    "c_stdlib": "sysroot",
    "c_stdlib_version": "2.17",
}
ABOUT = {
    "home": "homepage",
    "license": "license",
    "summary": "summary",
    "dev_url": "repository",
    "doc_url": "documentation",
    "license_family": "license_family",
    "license_file": "license_file",
}


# what a recipe that conda-build could not render raises here (a difference, not a crash)
_NOT_RENDERED = (jinja2.TemplateError, YAMLError, SyntaxError, NameError, TypeError, ValueError, LookupError,
                 AttributeError, ArithmeticError, AssertionError, re.error)  # fmt: skip


@dataclass(frozen=True)
class CheckReport:
    platform: str
    packages: tuple[str, ...]
    differences: tuple[str, ...]
    variants: tuple[str, ...] = ()  # the variants compared, where the config gives more than one
    not_compared: int = 0  # the config's variants beyond MAX_VARIANTS, left out of the comparison

    @property
    def ok(self) -> bool:
        return not self.differences


class _LastWins(SafeConstructor):
    def check_mapping_key(self, node: Any, key_node: Any, mapping: Any, key: Any, value: Any) -> bool:
        return True  # conda-build (PyYAML) keeps the last of duplicate keys


# conda-build reads numbers written as floats as their text ("2.1_4" is a version, not 2.14)
_LastWins.add_constructor("tag:yaml.org,2002:float", SafeConstructor.construct_yaml_str)


def check(
    meta: str | Path,
    result: ConversionResult,
    *,
    platform: str = "linux-64",
    variant: Mapping[str, str] | None = None,
    variant_config: Path | None = None,
) -> CheckReport:
    """Compare the meta.yaml rendered by its own rules with the converted recipe rendered by rattler-build,
    for every variant of *variant_config* the recipe uses, without the build machine's environment."""
    values = {**DEFAULT_VARIANT, **(variant or {})}
    name = str(meta) if isinstance(meta, Path) else "meta.yaml"
    try:
        text = meta.read_text(encoding="utf-8") if isinstance(meta, Path) else meta
        recipe_dir = meta.parent if isinstance(meta, Path) else None
        config = None
        if variant_config is not None:
            with budget():
                config = _load(
                    render_meta(variant_config.read_text(encoding="utf-8"), platform, values, environ={})
                )
        combos: list[dict[str, str]] = []
        total = variant_count(config, text, values)
        for combo in variant_sets(config, text, values):
            combo.update(variant or {})  # the variant asked for wins over the config's values
            if combo not in combos:
                combos.append(combo)
        packages: set[str] = set()
        per_variant: list[tuple[str, list[str]]] = []
        for combo in combos:
            found, differences = _compare(text, result.recipe_text, platform, combo, recipe_dir)
            packages.update(found)
            per_variant.append((label(combo, combos), differences))
    except _NOT_RENDERED as exc:
        return CheckReport(
            platform, (), (f"the variant config does not render for {platform}: {first_line(exc)}",)
        )
    except ConvertError as exc:  # a refused file or a bound: the recipe is refused, not compared
        msg = f"{name}: --check: {exc}"
        raise ConvertError(msg) from None
    except (RecursionError, MemoryError):
        msg = f"{name}: --check: the recipe nests too deeply or grows too large to render; simplify its jinja"
        raise ConvertError(msg) from None
    except OSError as exc:
        msg = f"{name}: --check: cannot read: {exc}"
        raise ConvertError(msg) from None
    variants = tuple(label(combo, combos) for combo in combos if len(combos) > 1)
    merged = tuple(merge_differences(per_variant))
    return CheckReport(platform, tuple(sorted(packages)), merged, variants, max(0, total - MAX_VARIANTS))


def _compare(
    text: str, recipe: str, platform: str, values: dict[str, str], recipe_dir: Path | None
) -> tuple[set[str], list[str]]:
    """One variant: the packages either side builds and each difference between them."""
    try:
        with budget():
            original = _packages_from_meta(
                render_meta(text, platform, values, recipe_dir, environ={}), values
            )
    except _NOT_RENDERED as exc:
        return set(), [f"meta.yaml does not render for {platform}: {first_line(exc)}"]
    try:
        converted = _packages_from_v1(recipe, platform, values)
    except Exception as exc:
        return set(), [f"recipe.yaml does not render for {platform}: {first_line(exc)}"]
    differences: list[str] = []
    for name in sorted(original.keys() | converted.keys()):
        if name not in converted:
            differences.append(f"{name}: built by meta.yaml but not by recipe.yaml")
            continue
        if name not in original:
            differences.append(f"{name}: built by recipe.yaml but not by meta.yaml")
            continue
        for field in sorted(original[name].keys() | converted[name].keys()):
            left, right = original[name].get(field), converted[name].get(field)
            if left != right:
                differences.append(
                    f"{name}: {field}: meta.yaml has {_show(left)}, recipe.yaml has {_show(right)}"
                )
    return original.keys() | converted.keys(), differences


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return repr(value)


def _load(text: str) -> Any:
    check_document(text)  # aliases, depth and control characters within bounds before loading
    yaml = YAML(typ="safe", pure=True)
    yaml.Constructor = _LastWins
    return yaml.load(text)


Package = dict[str, Any]


def _packages_from_meta(text: str, values: Mapping[str, str]) -> dict[str, Package]:
    data = _load(text)
    if not isinstance(data, dict) or not data:
        msg = "it renders to no recipe (empty, or not a mapping)"
        raise ValueError(msg)
    if not isinstance(data.get("package"), dict) and not data.get("outputs"):
        msg = "it has no 'package:' section"
        raise ValueError(msg)
    top_build = data.get("build") or {}
    if top_build.get("skip") is True:
        return {}
    fill_own(data, top_build, values)
    outputs = data.get("outputs")
    if not outputs:
        return {str(data["package"]["name"]): _meta_package(data, data, top_build)}
    packages = {}
    top_name = str((data.get("package") or {}).get("name"))
    names = {str(output.get("name")) for output in outputs}
    for found in outputs:
        output = with_top_level(found, data) if str(found.get("name")) == top_name else found
        build = {**{k: top_build[k] for k in ("number",) if k in top_build}, **(output.get("build") or {})}
        if build.get("skip") is True:
            continue
        packages[str(output["name"])] = _meta_package(output, data, build)
    if top_name not in names and uses_subpackage(data, names):
        packages[top_name] = _meta_package(data, data, top_build)
    return packages


def _meta_package(section: dict[str, Any], top: dict[str, Any], build: dict[str, Any]) -> Package:
    reqs = section.get("requirements") or {}
    if isinstance(reqs, list):
        reqs = {"run": reqs}
    test = section.get("test") or {}
    version = section.get("version", (top.get("package") or {}).get("version"))
    run_exports = build.get("run_exports") or []
    if isinstance(run_exports, list):
        run_exports = {"weak": run_exports}
    commands = [str(c) for c in test.get("commands") or []]
    package: Package = {
        "version": str(version),
        "build.number": int(build.get("number", 0) or 0),
        "build.noarch": "generic" if build.get("noarch") is True else build.get("noarch") or None,
        "build.entry_points": _entry_points(build.get("entry_points")),
        **_tests([str(i) for i in test.get("imports") or []], commands),
    }
    for kind in ("build", "host", "run", "run_constrained"):
        package[f"requirements.{kind}"] = sorted(_dep(d) for d in reqs.get(kind) or [] if d is not None)
    for kind, deps in sorted(run_exports.items()):
        if deps:
            package[f"run_exports.{kind.replace('constrains', 'constraints')}"] = sorted(
                _dep(d) for d in deps
            )
    about = {**(top.get("about") or {}), **(section.get("about") or {})}
    for key, target in ABOUT.items():
        package[f"about.{target}"] = _about_value(target, about.get(key))
    if package["about.license"] is not None:  # the conversion writes SPDX for it, with a warning
        package["about.license"] = spdx_licence(package["about.license"]).spdx
    return package


def _about_value(key: str, value: Any) -> Any:
    if value is None:
        return None
    if key == "license_file":
        return (
            sorted(str(v) for v in (value if isinstance(value, list) else [value]) if str(v).strip()) or None
        )
    text = str(value).strip()
    if not text:
        return None  # the conversion leaves an empty field out, with a warning
    if key in URL_KEYS:  # the conversion keeps the first of several; the engine normalises urls
        scheme, sep, rest = first_url(text).rstrip("/").partition("://")
        host, slash, path = rest.partition("/")
        return f"{scheme.lower()}{sep}{host.lower()}{slash}{path}"
    return " ".join(text.split()) if key in {"summary", "description"} else text  # the engine folds spaces


_DIGIT_STAR = re.compile(r"(?<=[0-9])\*(?=$|[,|])")
# conda's 'pkg=1.2' is 'pkg 1.2.*' (the form with a build string is left as written)
_EQUALS = re.compile(r"^([\w.-]+) ?=(?![=<>])([^\s=]+)$")


def _dep(value: Any) -> str:
    if isinstance(value, dict):
        if len(value) != 1 or not isinstance(next(iter(value.values())), dict):
            return str(value)  # not a pin: compared as written
        kind, args = next(iter(value.items()))
        if args.get("exact"):
            return f"{kind}({args['name']}, exact)"
        return f"{kind}({args['name']}, {args.get('lower_bound')}, {args.get('upper_bound')})"
    if str(value).startswith("pin_"):
        return str(value)
    text = _EQUALS.sub(r"\1 \2", " ".join(str(value).split()))
    parts = text.split(" ")
    if len(parts) > 1:  # conda's '1.2*' is '1.2.*', as the engine writes it (not in a build string)
        text = " ".join([parts[0], _DIGIT_STAR.sub(".*", parts[1]), *parts[2:]])
    name, _, rest = fuzzy_version(fix_operators(text)).partition(" ")
    return f"{name.lower()} {rest}" if rest else name.lower()  # conda package names are lower case


def _packages_from_v1(recipe: str, platform: str, values: Mapping[str, str]) -> dict[str, Package]:
    config = VariantConfig({k: [v] for k, v in values.items()})
    target = PlatformConfig(target_platform=platform, build_platform=platform, host_platform=platform)
    with tempfile.TemporaryDirectory(prefix="fastconda-check-") as tmp:
        parsed = Stage0Recipe.from_yaml(_mark_skips(recipe), recipe_dir=tmp)
        with without_environment(recipe):
            rendered = parsed.render(config, RenderConfig(platform=target))
    packages: dict[str, Package] = {}
    for variant in rendered:
        data = variant.recipe.to_dict()
        constraints = (data.get("requirements") or {}).get("run_constraints") or []
        if _SKIPPED in constraints:
            continue
        data.get("requirements", {})["run_constraints"] = [c for c in constraints if c != _SKIPPED]
        packages[str(data["package"]["name"])] = _v1_package(with_staging(data))
    return packages


_SKIPPED = "fastconda-check-skipped"


def _mark_skips(recipe: str) -> str:
    """The engine's render does not say whether a variant is skipped: let it evaluate the skip
    conditions as conditional run constraints (a marker that is dropped again after rendering)."""
    yaml = YAML(typ="rt")
    data = yaml.load(recipe)
    sections = [data, *(o for o in data.get("outputs") or [] if "package" in o)]
    top_skip = (data.get("build") or {}).get("skip")
    for section in sections:
        skips = [top_skip, (section.get("build") or {}).get("skip") if section is not data else None]
        conditions = [c for s in skips if s is not None for c in (s if isinstance(s, list) else [s])]
        if not conditions or (data.get("outputs") and section is data):
            continue
        reqs = section.setdefault("requirements", {})
        marks = reqs.setdefault("run_constraints", [])
        for cond in conditions:
            marks.append(_SKIPPED if cond is True else {"if": str(cond), "then": _SKIPPED})
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _script_text(line: str, context: Mapping[str, Any]) -> str:
    """Scripts are rendered at build time by rattler-build; render their context variables here."""
    if "${{" not in line:
        return line
    keep = {"PYTHON": "${{ PYTHON }}", "hash": "${{ hash }}"}
    try:
        return render(line.replace("${{", "{{"), {**keep, **context}, ENV)
    except jinja2.TemplateError:
        return line


def _v1_package(data: dict[str, Any]) -> Package:
    build = data.get("build") or {}
    reqs = data.get("requirements") or {}
    imports: list[str] = []
    commands: list[str] = []
    for test in data.get("tests") or []:
        if "python" in test:
            imports.extend(test["python"].get("imports") or [])
            if test["python"].get("pip_check", True):
                commands.append("pip check")
        elif "script" in test and not isinstance(test["script"], dict):
            script = test["script"]
            lines = script if isinstance(script, list) else str(script).splitlines()
            commands.extend(_script_text(str(line), data.get("context") or {}) for line in lines)
    run_exports = reqs.get("run_exports") or {}
    if isinstance(run_exports, list):
        run_exports = {"weak": run_exports}
    package: Package = {
        "version": str(data["package"]["version"]),
        "build.number": int(build.get("number", 0) or 0),
        "build.noarch": build.get("noarch"),
        "build.entry_points": _entry_points((build.get("python") or {}).get("entry_points")),
        **_tests(imports, commands),
    }
    for kind, target in (
        ("build", "build"),
        ("host", "host"),
        ("run", "run"),
        ("run_constraints", "run_constrained"),
    ):
        package[f"requirements.{target}"] = sorted(_dep(d) for d in reqs.get(kind) or [])
    for kind, deps in sorted(run_exports.items()):
        if deps:
            package[f"run_exports.{kind}"] = sorted(_dep(d) for d in deps)
    about = data.get("about") or {}
    for target in ABOUT.values():
        package[f"about.{target}"] = _about_value(target, about.get(target))
    return package


_IMPORT_COMMAND = re.compile(r"""^python -c ["']import ([\w.]+)["']$""")


def _tests(imports: list[str], commands: list[str]) -> Package:
    """Imports and commands, a ``python -c "import x"`` command read as the import it is (the
    conversion writes a test with extra requirements so: v1's python test takes none)."""
    found = [_IMPORT_COMMAND.match(c) for c in commands]
    more = [m[1] for m in found if m is not None]
    rest = [c for c, m in zip(commands, found, strict=True) if m is None]
    return {"test.imports": sorted([*imports, *more]), "test.commands": sorted(rest)}


def _entry_points(points: Any) -> list[str]:
    """Entry points as ``name = module:attr``: spacing and an extras suffix (which a conda package's
    launcher never reads) do not change what is installed."""
    out = []
    for point in points or []:
        name, _, target = str(point).partition("=")
        out.append(f"{name.strip()} = {target.split('[', 1)[0].strip()}")
    return sorted(out)
