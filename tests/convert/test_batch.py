"""``fastconda convert A B DIR...``: many recipes in one call, each attempted, the layout kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fastconda.cli import main

GOOD = "package:\n  name: {name}\n  version: '1.0'\nbuild:\n  number: 0\n"
WARNS = GOOD + "about:\n  license: GPL (>= 2)\n"
BAD = "package:\n  name: x\n  - broken\n"


def _tree(root: Path, recipes: dict[str, str]) -> Path:
    for rel, text in recipes.items():
        folder = root / rel
        folder.mkdir(parents=True)
        (folder / "meta.yaml").write_text(text.format(name=folder.name))
    return root


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_folder_of_recipes_converts_each_into_the_same_layout_and_a_bad_one_stops_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = _tree(tmp_path / "recipes", {"aaa": GOOD, "bbb": BAD, "ccc/sub": WARNS, "ddd": GOOD})
    (tree / "ddd" / "conda_build_config.yaml").write_text("flavour:\n  - a\n")
    out = tmp_path / "out"
    assert main(["convert", str(tree), "-o", str(out)]) == 1  # one failed
    assert _files(out) == ["aaa/recipe.yaml", "ccc/sub/recipe.yaml", "ddd/recipe.yaml", "ddd/variants.yaml"]
    assert "license: GPL-2.0-or-later" in (out / "ccc/sub/recipe.yaml").read_text()
    err = capsys.readouterr().err
    assert f"{tree / 'bbb' / 'meta.yaml'}:3:" in err
    assert "4 recipes: 2 ok, 1 with warnings, 1 failed" in err


def test_several_arguments_exit_3_when_any_warned_and_json_gives_one_result_per_recipe(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = _tree(tmp_path, {"one": GOOD, "two": WARNS})
    code = main(["convert", str(tree / "one"), str(tree / "two" / "meta.yaml"), "--json"])
    assert code == 3
    data = json.loads(capsys.readouterr().out)
    assert [(r["recipe"], r["status"]) for r in data["results"]] == [
        (str(tree / "one" / "meta.yaml"), "ok"),
        (str(tree / "two" / "meta.yaml"), "warnings"),
    ]
    assert "name: two" in data["results"][1]["recipe_text"]
    assert data["summary"]["recipes"] == 2


def test_several_clean_recipes_exit_0(tmp_path: Path) -> None:
    tree = _tree(tmp_path, {"one": GOOD, "two": GOOD})
    assert main(["convert", str(tree / "one"), str(tree / "two"), "-o", str(tmp_path / "out")]) == 0
    assert _files(tmp_path / "out") == ["one/recipe.yaml", "two/recipe.yaml"]


def test_missing_argument_is_one_failed_result_and_the_others_still_convert(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = _tree(tmp_path, {"one": GOOD})
    assert main(["convert", str(tmp_path / "nothing"), str(tree / "one"), "--json"]) == 1
    results = json.loads(capsys.readouterr().out)["results"]
    assert [r["status"] for r in results] == ["failed", "ok"]
    assert "no such file" in results[0]["error"]
