"""Settings: frozen dataclasses, merged in a fixed order.

defaults < ``[tool.fastconda]`` in pyproject.toml (or ``fastconda.toml``) < ``FASTCONDA_*`` environment
variables < CLI flags

A ``fastconda.toml`` holds what ``[tool.fastconda]`` holds, at its top level (``channels = [...]``, a
``[test]`` table): for projects without a ``pyproject.toml``, such as CMake C++ servers. The nearest of
the two at or above the project is read; in one folder ``fastconda.toml`` wins.

Each field's type decides how a string from the environment is parsed: ``bool`` accepts
1/0/true/false/yes/no/on/off, ``tuple[str, ...]`` is comma separated (``commands``: one per line),
``Path`` expands ``~``. The ``[tool.fastconda.test]`` table (:class:`PackageTestSettings`, used by
``fastconda test``) merges the same way, field by field; its variables are ``FASTCONDA_TEST_<FIELD>``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from fastconda._files import read_project_file
from fastconda.errors import SettingsError

ENV_PREFIX = "FASTCONDA_"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fastconda"


@dataclasses.dataclass(frozen=True)
class PackageTestSettings:
    """``[tool.fastconda.test]``: what ``fastconda test`` checks in the installed package."""

    #: shell commands run in the test environment (``bin/`` first on PATH); env: one per line
    commands: tuple[str, ...] = dataclasses.field(default=(), metadata={"separator": "\n"})
    #: modules to import; empty means the package's top-level modules
    imports: tuple[str, ...] = ()
    #: modules left out of the automatic import list
    skip_imports: tuple[str, ...] = ()
    #: extra match specs installed next to the package (test requirements)
    requires: tuple[str, ...] = ()
    pip_check: bool = True
    #: run ``<entry point> --help`` for each console script (never for packages that use taurus)
    entry_points: bool = True
    #: console scripts whose ``--help`` is not run
    skip_entry_points: tuple[str, ...] = ()
    #: the project's test suite (file or folder) to run with pytest in the environment
    pytest: Path | None = None
    pytest_args: tuple[str, ...] = ()
    #: seconds each check may take
    timeout: int = 600
    #: also run the tests a package file carries (``info/tests``: the recipe's tests, as rattler-build
    #: and ``fastconda build`` write them), in their own environment
    package_tests: bool = True
    #: C++ servers (``fastconda build``): the start check after ``--help``. "init": it must start and be
    #: ready, or stop cleanly with a Tango exception from its initialisation (a note shows it); "ready":
    #: it must be ready; "skip": no start check. ``commands`` are added to the package's tests.
    start: str = dataclasses.field(default="init", metadata={"choices": ("init", "ready", "skip")})


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything fastconda can be configured with.

    ``channels``: where dependencies come from; conda-forge on a normal machine, a local
    seed channel on an air-gapped one (never a silent fallback between the two).
    """

    channels: tuple[str, ...] = ("conda-forge",)
    cache_dir: Path = dataclasses.field(default_factory=default_cache_dir)
    wheel_cache: Path | None = None
    offline: bool = False
    compression_level: int = 3
    python: str | None = None
    #: variant pins for builds, "name=version" (a site profile: python=3.11, pytango=9.4.2, cpptango=9.4.2)
    pins: tuple[str, ...] = ()
    #: C++ servers: conda packages the server is built against besides cpptango (host requirements, whose
    #: run_exports pin the package): ``["mariadb-connector-c"]``. pogo-migrate finds the known ones
    #: (``cxx.libraries``) with pkg-config in the CMakeLists.txt; the build adds those it looks up itself
    host_requires: tuple[str, ...] = ()
    test: PackageTestSettings = dataclasses.field(default_factory=PackageTestSettings)

    @property
    def wheel_cache_dir(self) -> Path:
        return self.wheel_cache if self.wheel_cache is not None else self.cache_dir / "wheels"

    @property
    def package_cache_dir(self) -> Path:
        """Where converted and built seed packages are kept, keyed by their inputs."""
        return self.cache_dir / "packages"


_FIELDS = {f.name: f for f in dataclasses.fields(Settings) if f.name != "test"}
_TEST_FIELDS = {f.name: f for f in dataclasses.fields(PackageTestSettings)}


def _parse_bool(raw: Any, _field: dataclasses.Field[Any]) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    msg = f"expected a boolean, got {raw!r}"
    raise ValueError(msg)


def _parse_int(raw: Any, _field: dataclasses.Field[Any]) -> int:
    if isinstance(raw, bool):
        msg = f"expected an integer, got {raw!r}"
        raise TypeError(msg)
    return int(raw)


def _parse_strings(raw: Any, field: dataclasses.Field[Any]) -> tuple[str, ...]:
    separator = field.metadata.get("separator", ",")
    items = raw.split(separator) if isinstance(raw, str) else list(raw)
    if not all(isinstance(i, str) for i in items):
        msg = f"expected a list of strings, got {raw!r}"
        raise TypeError(msg)
    return tuple(i.strip() for i in items if i.strip())


def _parse_path(raw: Any, _field: dataclasses.Field[Any]) -> Path:
    if not isinstance(raw, str | os.PathLike):
        msg = f"expected a path, got {raw!r}"
        raise TypeError(msg)
    # relative to the working directory now: tools run later in other folders
    return Path(raw).expanduser().absolute()


def _parse_str(raw: Any, field: dataclasses.Field[Any]) -> str:
    if not isinstance(raw, str | int | float) or isinstance(raw, bool):
        msg = f"expected a string, got {raw!r}"
        raise TypeError(msg)
    choices = field.metadata.get("choices")
    if choices and str(raw) not in choices:
        msg = f"expected one of {', '.join(repr(c) for c in choices)}, got {raw!r}"
        raise ValueError(msg)
    return str(raw)


_PARSERS: dict[type, Callable[[Any, dataclasses.Field[Any]], Any]] = {
    bool: _parse_bool,
    int: _parse_int,
    tuple: _parse_strings,
    Path: _parse_path,
    str: _parse_str,
}


def _parsers(cls: type) -> dict[dataclasses.Field[Any], Callable[[Any, dataclasses.Field[Any]], Any]]:
    """The parser of each field of *cls*, by the field's real type (``X | None`` parses as ``X``)."""
    hints = typing.get_type_hints(cls)
    found = {}
    for field in dataclasses.fields(cls):
        hint = hints[field.name]
        options = (
            [a for a in typing.get_args(hint) if a is not type(None)]
            if type(None) in typing.get_args(hint)
            else [hint]
        )
        base = typing.get_origin(options[0]) or options[0]
        if base in _PARSERS:
            found[field] = _PARSERS[base]
    return found


_PARSER_OF = {**_parsers(Settings), **_parsers(PackageTestSettings)}
if _unparsed := [name for name, f in (*_FIELDS.items(), *_TEST_FIELDS.items()) if f not in _PARSER_OF]:
    raise TypeError(f"settings fields of a type with no parser: {_unparsed}")  # noqa: EM102 - a bug, not input


def _convert(name: str, raw: Any, source: str, fields: Mapping[str, dataclasses.Field[Any]] = _FIELDS) -> Any:
    try:
        return _PARSER_OF[fields[name]](raw, fields[name])
    except (TypeError, ValueError) as exc:
        msg = f"{source}: invalid value for {name!r}: {exc}"
        raise SettingsError(msg) from None


SETTINGS_FILE = "fastconda.toml"


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``fastconda.toml`` or ``pyproject.toml`` at or above *start* (in one folder, the
    former)."""
    start = start.resolve()
    for folder in (start, *start.parents):
        for name in (SETTINGS_FILE, "pyproject.toml"):
            if (folder / name).is_file():
                return folder / name
    return None


def from_pyproject(path: Path) -> dict[str, Any]:
    """The settings in *path*: ``[tool.fastconda]`` of a pyproject.toml, the top level of a fastconda.toml."""
    own = path.name == SETTINGS_FILE
    where = "" if own else "tool.fastconda"
    try:
        data = tomllib.loads(read_project_file(path, f"a {path.name}", errors="strict"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        msg = f"{path}: cannot read {'it' if own else '[tool.fastconda]'}: {exc}"
        raise SettingsError(msg) from None
    table = data if own else data.get("tool", {}).get("fastconda", {})
    if not isinstance(table, dict):
        msg = f"{path}: [tool.fastconda] must be a table"
        raise SettingsError(msg)
    values = _table(path, where, {k: v for k, v in table.items() if k != "test"}, _FIELDS)
    test = table.get("test", {})
    test_where = "test" if own else "tool.fastconda.test"
    if not isinstance(test, dict):
        msg = f"{path}: [{test_where}] must be a table"
        raise SettingsError(msg)
    if test:
        values["test"] = _table(path, test_where, test, _TEST_FIELDS)
    return values


def _table(
    path: Path, where: str, table: Mapping[str, Any], fields: Mapping[str, dataclasses.Field[Any]]
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, raw in table.items():
        name = key.replace("-", "_")
        if name not in fields:
            names = [*fields, "test"] if fields is _FIELDS else list(fields)
            known = ", ".join(sorted(f.replace("_", "-") for f in names))
            place = f" in [{where}]" if where else ""
            msg = f"{path}: unknown setting {key!r}{place} (known: {known})"
            raise SettingsError(msg)
        values[name] = _convert(name, raw, f"{path} [{where}]" if where else str(path), fields)
    # relative paths in pyproject.toml are relative to the project
    for key, raw in table.items():
        name = key.replace("-", "_")
        if isinstance(values[name], Path) and not Path(str(raw)).expanduser().is_absolute():
            values[name] = path.parent.absolute() / Path(str(raw))
    return values


def from_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in _FIELDS:
        key = ENV_PREFIX + name.upper()
        if key in environ:
            values[name] = _convert(name, environ[key], f"environment variable {key}")
    test: dict[str, Any] = {}
    for name in _TEST_FIELDS:
        key = f"{ENV_PREFIX}TEST_{name.upper()}"
        if key in environ:
            test[name] = _convert(name, environ[key], f"environment variable {key}", _TEST_FIELDS)
    if test:
        values["test"] = test
    return values


def load_settings(
    project_dir: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Merge defaults < pyproject < environment < *overrides* (CLI flags; ``None`` means not given).

    ``overrides["test"]`` is a mapping of :class:`PackageTestSettings` fields, merged field by field.
    """
    values: dict[str, Any] = {}
    test: dict[str, Any] = {}
    layers = [from_environ(os.environ if environ is None else environ)]
    if project_dir is not None and (pyproject := find_pyproject(project_dir)) is not None:
        layers.insert(0, from_pyproject(pyproject))
    for layer in layers:
        test.update(layer.pop("test", {}))
        values.update(layer)
    for name, value in (overrides or {}).items():
        if name == "test":
            test.update(_test_overrides(value))
            continue
        if name not in _FIELDS:
            msg = f"unknown setting {name!r}"
            raise SettingsError(msg)
        if value is not None:
            values[name] = _convert(name, value, f"option --{name.replace('_', '-')}")
    return Settings(**values, test=PackageTestSettings(**test))


def _test_overrides(flags: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, value in flags.items():
        if name not in _TEST_FIELDS:
            msg = f"unknown test setting {name!r}"
            raise SettingsError(msg)
        if value is not None:
            values[name] = _convert(name, value, f"option --{name.replace('_', '-')}", _TEST_FIELDS)
    return values


@dataclasses.dataclass(frozen=True)
class Caches:
    """Where the stages keep what they make (``cache_dir``) and find wheels (``wheel_cache``), and
    whether they may download (not when ``offline``): one object passed through the stages."""

    cache_dir: Path
    wheel_cache: Path
    offline: bool = False

    @classmethod
    def of(cls, settings: Settings) -> Caches:
        return cls(settings.cache_dir, settings.wheel_cache_dir, offline=settings.offline)
