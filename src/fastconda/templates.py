"""Access to the template folders shipped inside the package (``recipe_templates``, ``cmake_templates``)."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from fastconda.errors import TemplateError

Kind = Literal["recipe", "cmake"]
_PACKAGES: dict[Kind, str] = {
    "recipe": "fastconda.recipe_templates",
    "cmake": "fastconda.cmake_templates",
}


def read_template(kind: Kind, name: str) -> str:
    """The text of template *name* (a relative path like ``seed/python.yaml``)."""
    node = resources.files(_PACKAGES[kind])
    for part in name.split("/"):
        node = node / part
    try:
        return node.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        msg = f"template {kind}:{name} is missing from the fastconda installation (reinstall fastconda)"
        raise TemplateError(msg) from None


def template_path(kind: Kind, name: str) -> Path:
    """The file of template *name*, for tools that read a path (the engine's variant config)."""
    path = Path(str(resources.files(_PACKAGES[kind]).joinpath(*name.split("/"))))
    if not path.is_file():
        msg = f"template {kind}:{name} is missing from the fastconda installation (reinstall fastconda)"
        raise TemplateError(msg)
    return path


def fill_recipe_template(
    name: str, context: Mapping[str, str], edit: Callable[[Any], None] | None = None
) -> str:
    """A bundled v1 recipe template with its ``context:`` values replaced (comments and quotes kept);
    *edit* may change the loaded document further before it is written out."""
    from ruamel.yaml import YAML  # late: only the commands that write recipes need it

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    data = yaml.load(read_template("recipe", name))
    for key, value in context.items():
        if key not in data["context"]:
            msg = f"template recipe:{name} has no context variable {key!r}"
            raise TemplateError(msg)
        data["context"][key] = value
    if edit is not None:
        edit(data)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()
