"""Settings: one frozen dataclass, merged in a fixed order.

defaults < ``[tool.fastconda]`` in pyproject.toml < ``FASTCONDA_*`` environment variables < CLI flags

Each field's type decides how a string from the environment is parsed: ``bool`` accepts
1/0/true/false/yes/no/on/off, ``tuple[str, ...]`` is comma separated, ``Path`` expands ``~``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastconda.errors import SettingsError

ENV_PREFIX = "FASTCONDA_"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fastconda"


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

    @property
    def wheel_cache_dir(self) -> Path:
        return self.wheel_cache if self.wheel_cache is not None else self.cache_dir / "wheels"

    @property
    def package_cache_dir(self) -> Path:
        """Where converted and built seed packages are kept, keyed by their inputs."""
        return self.cache_dir / "packages"


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


def _convert(name: str, raw: Any, source: str) -> Any:
    kind = str(_FIELDS[name].type)
    try:
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off", ""}:
                return False
            msg = f"expected a boolean, got {raw!r}"
            raise ValueError(msg)
        if kind == "int":
            if isinstance(raw, bool):
                msg = f"expected an integer, got {raw!r}"
                raise ValueError(msg)
            return int(raw)
        if kind.startswith("tuple"):
            items = raw.split(",") if isinstance(raw, str) else list(raw)
            if not all(isinstance(i, str) for i in items):
                msg = f"expected a list of strings, got {raw!r}"
                raise ValueError(msg)
            return tuple(i.strip() for i in items if i.strip())
        if kind.startswith("Path"):
            if not isinstance(raw, str | os.PathLike):
                msg = f"expected a path, got {raw!r}"
                raise ValueError(msg)
            return Path(raw).expanduser()
        if kind.startswith("str"):
            if not isinstance(raw, str | int | float) or isinstance(raw, bool):
                msg = f"expected a string, got {raw!r}"
                raise ValueError(msg)
            return str(raw)
    except ValueError as exc:
        msg = f"{source}: invalid value for {name!r}: {exc}"
        raise SettingsError(msg) from None
    raise AssertionError(kind)  # pragma: no cover - every field type is handled above


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above *start*."""
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def from_pyproject(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        msg = f"{path}: cannot read [tool.fastconda]: {exc}"
        raise SettingsError(msg) from None
    table = data.get("tool", {}).get("fastconda", {})
    if not isinstance(table, dict):
        msg = f"{path}: [tool.fastconda] must be a table"
        raise SettingsError(msg)
    values: dict[str, Any] = {}
    for key, raw in table.items():
        name = key.replace("-", "_")
        if name not in _FIELDS:
            known = ", ".join(sorted(f.replace("_", "-") for f in _FIELDS))
            msg = f"{path}: unknown setting {key!r} in [tool.fastconda] (known: {known})"
            raise SettingsError(msg)
        values[name] = _convert(name, raw, f"{path} [tool.fastconda]")
    # relative paths in pyproject.toml are relative to the project
    for name, value in values.items():
        if isinstance(value, Path) and not value.is_absolute():
            values[name] = path.parent / value
    return values


def from_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in _FIELDS:
        key = ENV_PREFIX + name.upper()
        if key in environ:
            values[name] = _convert(name, environ[key], f"environment variable {key}")
    return values


def load_settings(
    project_dir: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Merge defaults < pyproject < environment < *overrides* (CLI flags; ``None`` means not given)."""
    values: dict[str, Any] = {}
    if project_dir is not None and (pyproject := find_pyproject(project_dir)) is not None:
        values.update(from_pyproject(pyproject))
    values.update(from_environ(os.environ if environ is None else environ))
    for name, value in (overrides or {}).items():
        if name not in _FIELDS:
            msg = f"unknown setting {name!r}"
            raise SettingsError(msg)
        if value is not None:
            values[name] = _convert(name, value, f"option --{name.replace('_', '-')}")
    return Settings(**values)
