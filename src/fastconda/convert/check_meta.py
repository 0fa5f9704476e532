"""Render a meta.yaml the way conda-build would, for one platform and variant, without conda-build.

jinja2 (sandboxed, bounded) with conda-build's namespace and functions, then line selectors
evaluated by :func:`~fastconda.convert.selector_truth.evaluate_selector`, a restricted evaluator: never
``eval``, since jinja can produce selector text. Pins render as canonical text
(``pin_subpackage(name, lower, upper)``) so that :mod:`check` can compare them with what
rattler-build renders.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2.utils import missing

from fastconda.convert.expressions import SCRIPT_VARIABLES
from fastconda.convert.loaders import file_functions
from fastconda.convert.sandbox import BoundedEnvironment, render
from fastconda.convert.selector_truth import evaluate_selector
from fastconda.convert.selectors import split_selector


class _UndefinedName(jinja2.Undefined):
    """An undefined name as conda-build's final render reads it (jinja2's ``Undefined``): '' when
    written, false, unequal to anything, empty. An attribute the object lacks or the sandbox refuses
    stays an error: the check reaches no further into Python objects than before."""

    __slots__ = ()

    def _strict(self) -> None:
        if self._undefined_obj is not missing:
            self._fail_with_undefined_error()

    def __str__(self) -> str:
        self._strict()
        return super().__str__()

    def __bool__(self) -> bool:
        self._strict()
        return super().__bool__()

    def __eq__(self, other: object) -> bool:
        self._strict()
        return super().__eq__(other)

    def __ne__(self, other: object) -> bool:
        self._strict()
        return super().__ne__(other)

    def __hash__(self) -> int:
        return id(type(self))

    def __iter__(self) -> Iterator[Any]:
        self._strict()
        return super().__iter__()

    def __len__(self) -> int:
        self._strict()
        return super().__len__()


_META_ENV = BoundedEnvironment(undefined=_UndefinedName, keep_trailing_newline=True)
_COMPILERS = {
    "linux": {"c": "gcc", "cxx": "gxx", "fortran": "gfortran"},
    "osx": {"c": "clang", "cxx": "clangxx", "fortran": "gfortran"},
    "win": {"c": "vs2022", "cxx": "vs2022", "fortran": "flang"},  # rattler-build's defaults
}
_ARCH = {
    "64": "x86_64",
    "aarch64": "aarch64",
    "arm64": "arm64",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "32": "x86",
}


class _ScriptVariable(str):
    """``$NAME`` of a build-script variable read through ``environ``, which the conversion writes as
    ``$NAME`` where its value is written out; where only its truth counts (``environ.get('PKG_VERSION')
    or '0.0.0.dev0'``) it is an unset variable, false like the ``''`` the conversion gives it."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return False


class _Os:
    """``os`` as conda-build's jinja sees it, as far as recipes use it (``os.environ``, ``os.sep``)."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.sep = os.sep


def namespace(
    platform: str, variant: Mapping[str, str], environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """conda-build's selector names for a platform such as ``linux-64``; ``environ`` is what the
    recipe reads from the environment (this process's when not given)."""
    environ = os.environ if environ is None else environ
    system, _, arch = platform.partition("-")
    ns: dict[str, Any] = dict.fromkeys(("linux", "osx", "win", "unix", *_ARCH.values()), False)
    ns.update({"linux": system == "linux", "osx": system == "osx", "win": system == "win"})
    ns["unix"] = ns["linux"] or ns["osx"]
    if arch in _ARCH:
        ns[_ARCH[arch]] = True
    bits64 = arch in {"64", "aarch64", "arm64", "ppc64le", "s390x"}
    ns.update(linux64=ns["linux"] and arch == "64", linux32=ns["linux"] and arch == "32")
    ns.update(win64=ns["win"] and bits64, win32=ns["win"] and not bits64, osx64=ns["osx"] and arch == "64")
    ns.update(target_platform=platform, build_platform=platform, host_platform=platform)
    ns.update(variant)
    python = variant.get("python", "3.11").split(" ")[0].split(".")  # '3.10.* *_cpython' is 310
    ns["py"] = _two_parts(python, 311)
    ns.update({f"py{major}k": python[0] == str(major) for major in (2, 3)})
    ns.update({f"py{v}": ns["py"] == v for v in (26, 27, *range(33, 40), *range(310, 316))})
    ns["np"] = _two_parts(variant.get("numpy", "1.26").split(" ")[0].split("."), 126)  # '2' is 2, as there
    # build-script variables read through environ are converted to $NAME: render them the same way
    script = {name: _ScriptVariable(f"${name}") for name in SCRIPT_VARIABLES if name not in environ}
    ns["environ"] = {**environ, **{name: f"${name}" for name in SCRIPT_VARIABLES}, **script}
    ns["os"] = _Os(ns["environ"])
    return ns


def _two_parts(parts: list[str], default: int) -> int:
    """conda-build's ``py`` / ``np`` integer: the first two parts of the version joined (``2`` → 2)."""
    digits = "".join(part for part in parts[:2] if part.isdigit())
    return int(digits) if digits else default


def _functions(platform: str, variant: Mapping[str, str], system: str) -> dict[str, Any]:
    def compiler(lang: str) -> str:
        name = variant.get(f"{lang}_compiler") or _COMPILERS.get(system, {}).get(lang, lang)
        version = variant.get(f"{lang}_compiler_version")
        return f"{name}_{platform}" + (f" {version}" if version else "")

    def stdlib(lang: str) -> str:
        name = variant.get(f"{lang}_stdlib", "sysroot")
        version = variant.get(f"{lang}_stdlib_version")
        return f"{name}_{platform}" + (f" {version}" if version else "")

    def pin(kind: str) -> Any:
        def function(  # noqa: PLR0917 - conda-build's signature, positional pins included
            name: str,
            min_pin: str = "x.x.x.x.x.x",
            max_pin: str = "x",
            exact: bool = False,
            lower_bound: str | None = None,
            upper_bound: str | None = None,
        ) -> str:
            if exact:
                return f"{kind}({name}, exact)"
            return f"{kind}({name}, {lower_bound or min_pin}, {upper_bound or max_pin})"

        return function

    def nothing(*_args: Any, **_kwargs: Any) -> dict[str, Any]:
        return {}

    def cdt(name: str) -> str:
        arch = platform.partition("-")[2]
        default = "cos6" if arch == "64" else "cos7"  # conda-build's and rattler-build's defaults
        return f"{name}-{variant.get('cdt_name', default)}-{'x86_64' if arch == '64' else arch}"

    return {
        "compiler": compiler,
        "stdlib": stdlib,
        "cdt": cdt,
        "pin_subpackage": pin("pin_subpackage"),
        "pin_compatible": pin("pin_compatible"),
        "load_setup_py_data": nothing,
        "load_file_regex": nothing,
        "load_file_data": nothing,
        "PYTHON": "${{ PYTHON }}",
        **{name: f"${name}" for name in SCRIPT_VARIABLES},
        "PKG_HASH": "${{ hash }}",
        "CONDA_PY": "".join(variant.get("python", "3.11").split(".")[:2]),
        "CONDA_NPY": "".join(variant.get("numpy", "1.26").split(".")[:2]),
    }


def _select(text: str, ns: Mapping[str, Any]) -> str:
    """Selectors before jinja, as conda-build's FilteredLoader does: ``{% set x = 1 %}  # [osx]``
    sets nothing on linux. Selectors that jinja writes (``# [{{ sel }}]``) wait for the pass after."""
    lines = []
    for line in text.splitlines():
        selector = split_selector(line)[1]
        if selector is None or "{{" in selector or evaluate_selector(selector, ns):
            lines.append(line)
        else:
            lines.append("")  # keep line numbers
    return "\n".join(lines) + "\n"


def render_meta(
    text: str,
    platform: str,
    variant: Mapping[str, str],
    recipe_dir: Path | None = None,
    project_root: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The meta.yaml after jinja and selectors, as YAML text (``environ`` as for :func:`namespace`).

    Raises jinja2 errors and :class:`~fastconda.convert.selectors.SelectorError` for what conda-build
    could not render either, :class:`~fastconda.convert.limits.Refused` for a refused file or bound.
    """
    ns = namespace(platform, variant, environ)
    context = {**ns, **_functions(platform, variant, platform.partition("-")[0])}
    if recipe_dir is not None:
        context.update(file_functions(recipe_dir, [], project_root))
    rendered = render(_select(text, ns), context, _META_ENV)
    lines = []
    for line in rendered.splitlines():
        body, selector = split_selector(line)
        if selector is None:
            lines.append(line)
        elif evaluate_selector(selector, ns):
            lines.append(body)
    return "\n".join(re.sub(r"\s+$", "", line) for line in lines) + "\n"
