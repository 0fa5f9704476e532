"""``build:`` → v1 ``build:`` (python, dynamic_linking, prefix_detection, variant sub-sections).

run_exports and ignore_run_exports move to v1 ``requirements:``; they are returned separately.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from fastconda.convert import expressions as ex
from fastconda.convert.sections import Notes, generic, requirement, value_of
from fastconda.convert.selectors import combine
from fastconda.convert.tree import Doc, Entry, cond_list, copy_comment, group, items, merged

# conda-build key → (v1 sub-section or "", v1 key)
MOVED = {
    "number": ("", "number"),
    "string": ("", "string"),
    "noarch": ("", "noarch"),
    "entry_points": ("python", "entry_points"),
    "osx_is_app": ("python", "use_python_app_entrypoint"),
    "skip_compile_pyc": ("python", "skip_pyc_compilation"),
    "python_site_packages_path": ("python", "site_packages_path"),
    "force_use_keys": ("variant", "use_keys"),
    "force_ignore_keys": ("variant", "ignore_keys"),
    "rpaths": ("dynamic_linking", "rpaths"),
    "binary_relocation": ("dynamic_linking", "binary_relocation"),
    "missing_dso_whitelist": ("dynamic_linking", "missing_dso_allowlist"),
    "runpath_whitelist": ("dynamic_linking", "rpath_allowlist"),
    "ignore_prefix_files": ("prefix_detection", "ignore"),
    "always_include_files": ("", "always_include_files"),
    "merge_build_host": ("", "merge_build_and_host_envs"),
}
ORDER = ("number", "string", "skip", "noarch", "script", "python", "variant", "dynamic_linking",
         "prefix_detection", "always_include_files", "merge_build_and_host_envs", "files")  # fmt: skip
WHY_NOT = {
    "include_recipe": "rattler-build always includes the recipe (build with --no-include-recipe instead)",
    "preserve_egg_dir": "eggs are not supported by rattler-build",
    "track_features": "v1 has no track_features; use build.variant.down_prioritize_variant to deprioritise",
    "features": "features are deprecated and not supported by rattler-build",
    "no_link": "v1 has no no_link",
    "pin_depends": "v1 has no pin_depends",
    "disable_pip": "v1 has no disable_pip",
    "activate_in_script": "rattler-build always activates the build environments",
}


@dataclass
class BuildSection:
    build: CommentedMap
    requirements_extra: CommentedMap = field(default_factory=CommentedMap)


def convert_build(
    doc: Doc, found: list[Entry], notes: Notes, files: list[Entry] | None = None
) -> BuildSection:
    parts: dict[str, Any] = {}
    subs: dict[str, CommentedMap] = {}
    extra = CommentedMap()
    script_env: list[Entry] = []
    interpreter: Any = None
    for key, group_ in group(found).items():
        first = group_[0]
        if key in MOVED:
            section, target = MOVED[key]
            value = value_of(doc, group_)
            if value is None or (key == "noarch" and value is False):  # 'entry_points:' with nothing
                continue
            if key == "noarch" and value is True:
                doc.warnings.add(
                    "build.noarch: true (conda-build: noarch, not python): written as generic", first.line
                )
                value = "generic"
            if key == "entry_points":
                _drop_extras(doc, value, first.line)
            if section:
                subs.setdefault(section, CommentedMap())[target] = value
                copy_comment(subs[section], target, first)
            else:
                parts[target] = value
        elif key == "skip":
            skip = _skip(group_)
            if skip is not None:
                parts["skip"] = skip
        elif key == "script":
            parts["script"] = _script(doc, group_)
        elif key == "script_env":
            script_env.extend(group_)
        elif key == "script_interpreter":
            interpreter = value_of(doc, group_)
        elif key == "noarch_python":
            if any(e.value is True for e in group_):
                parts["noarch"] = "python"
                doc.warnings.add("build.noarch_python is deprecated: converted to noarch: python", first.line)
        elif key in {"error_overlinking", "error_overdepending"}:
            target = "overlinking_behavior" if key == "error_overlinking" else "overdepending_behavior"
            value = value_of(doc, group_)
            subs.setdefault("dynamic_linking", CommentedMap())[target] = (
                ("error" if value else "ignore") if isinstance(value, bool) else value
            )
        elif key in {"has_prefix_files", "binary_has_prefix_files"}:
            kind = "text" if key == "has_prefix_files" else "binary"
            force = subs.setdefault("prefix_detection", CommentedMap()).setdefault(
                "force_file_type", CommentedMap()
            )
            force[kind] = cond_list(doc, group_)
        elif key == "detect_binary_files_with_prefix":
            value = value_of(doc, group_)
            subs.setdefault("prefix_detection", CommentedMap())["ignore_binary_files"] = (
                (not value) if isinstance(value, bool) else value
            )
        elif key == "run_exports":
            extra["run_exports"] = _run_exports(doc, group_)
        elif key in {"ignore_run_exports", "ignore_run_exports_from"}:
            target = "by_name" if key == "ignore_run_exports" else "from_package"
            extra.setdefault("ignore_run_exports", CommentedMap())[target] = cond_list(doc, group_)
        else:
            notes.drop("build", first, WHY_NOT.get(key, "has no v1 equivalent"))
    if interpreter is not None and "script" in parts:
        parts["script"] = _interpreter(parts["script"], interpreter)
    if script_env:
        parts["script"] = _with_env(doc, parts.get("script"), script_env)
    if files:
        parts["files"] = value_of(doc, files)
    parts.update(subs)
    out = CommentedMap()
    for key in ORDER:
        if key in parts:
            out[key] = parts[key]
    for entry in found:
        section, key = MOVED.get(entry.key, ("", entry.key))
        if not section and key in out:
            copy_comment(out, key, entry)
    return BuildSection(out, extra)


def _skip(found: list[Entry]) -> Any:
    conds: list[str] = []
    for entry in found:
        value = entry.value
        if value is False or value is None:
            continue
        cond = entry.cond
        if isinstance(value, str) and value.strip().lower() not in {"true", "yes"}:
            cond = combine(cond, ex.as_expression(value))
        if cond is None:
            return True
        conds.append(cond)
    if not conds:
        return None
    return CommentedSeq(conds)


_SCRIPT_FILE = re.compile(r"^(?P<stem>[\w./-]+)\.(?P<ext>sh|bat)$")


def _script(doc: Doc, found: list[Entry]) -> Any:
    if len(found) == 1 and found[0].cond is None:
        return generic(doc, found[0].value)
    stem = _script_stem(found)
    if stem is not None:
        return stem  # rattler-build runs <stem>.sh on unix and <stem>.bat on Windows
    return cond_list(doc, found)


def _script_stem(found: list[Entry]) -> str | None:
    """``script: x.sh  # [unix]`` + ``script: x.bat  # [win]`` → ``script: x``."""
    seen: dict[str, str] = {}
    for entry in found:
        match = _SCRIPT_FILE.match(entry.value) if isinstance(entry.value, str) else None
        if match is None or entry.cond not in {"unix", "not win", "win"}:
            return None
        seen["bat" if entry.cond == "win" else "sh"] = match["stem"]
        if match["ext"] != ("bat" if entry.cond == "win" else "sh"):
            return None
    return seen["sh"] if set(seen) == {"sh", "bat"} and len(set(seen.values())) == 1 else None


def _interpreter(script: Any, interpreter: Any) -> CommentedMap:
    """An output's ``script_interpreter``: v1 spells it ``script.interpreter``."""
    out = CommentedMap()
    out["interpreter"] = interpreter
    is_file = isinstance(script, str) and "\n" not in script and re.search(r"\.\w+$", script)
    out["file" if is_file else "content"] = script
    return out


def _with_env(doc: Doc, script: Any, found: list[Entry]) -> CommentedMap:
    env = CommentedMap()
    for entry in found:
        for item in items(doc, entry.value):
            text = str(item.value)
            if "=" in text:
                name, _, value = text.partition("=")
                env[name.strip()] = value.strip()
            else:
                name = text.strip()
                env[name] = "${{ env.get(" + ex.literal(name) + ", default='') }}"
                doc.warnings.add(
                    f"build.script_env passes {name} through: converted to script.env with env.get(); "
                    "its value is recorded in the rendered recipe, use script.secrets for secrets",
                    item.line or entry.line,
                )
            if combine(entry.cond, item.cond) is not None:
                doc.warnings.add(f"build.script_env {name} had a selector; it is now set on every platform",
                                 item.line or entry.line)  # fmt: skip
    out = CommentedMap()
    out["env"] = env
    if script is not None:
        out["content"] = script
    return out


def _run_exports(doc: Doc, found: list[Entry]) -> Any:
    if all(isinstance(e.value, CommentedSeq | str) for e in found):
        return cond_list(doc, found, lambda item: requirement(item, doc))
    kinds = {"strong": "strong", "weak": "weak", "strong_constrains": "strong_constraints",
             "weak_constrains": "weak_constraints", "noarch": "noarch"}  # fmt: skip
    out = CommentedMap()
    for key, group_ in group(merged(doc, found, where="build.run_exports")).items():
        target = kinds.get(key)
        if target is None:
            doc.warnings.add(f"build.run_exports.{key} is not a run_exports kind; dropped", group_[0].line)
            continue
        out[target] = cond_list(doc, group_, lambda item: requirement(item, doc))
    return out


# ``name = module:attr [extra1, extra2]``: the deprecated extras suffix of an entry point
_EXTRAS = re.compile(r"^(?P<point>[^=\[\]]+=[^\[\]]+?)\s*\[[^\[\]]*\]\s*$")


def _drop_extras(doc: Doc, value: Any, line: int) -> None:
    """Strip the extras suffix from entry points (grayskull copies it from setup.py; rattler-build
    refuses it, and conda entry points have no extras), in place, with a warning for each."""
    if isinstance(value, dict):
        for branch in ("then", "else"):
            _drop_extras(doc, value.get(branch), line)
        return
    if not isinstance(value, list):
        return
    for index, item in enumerate(value):
        if isinstance(item, str) and (match := _EXTRAS.match(item)):
            value[index] = match.group("point").strip()
            doc.warnings.add(
                f"build.entry_points: '{item}' has an extras suffix (deprecated, and v1 entry points take "
                f"none): written as '{value[index]}'",
                line,
            )
        else:
            _drop_extras(doc, item, line)
