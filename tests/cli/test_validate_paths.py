"""`validate` on a path that names no definition: a missing file suggests only a close near
miss beside it, and a folder without its machine file is named, with what was expected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from statewright.cli import app

runner = CliRunner(env={"COLUMNS": "200"})

ORDER = {"id": "order", "initial": "a", "states": {"a": {}}}


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shop = tmp_path / "shop"
    (shop / "definitions").mkdir(parents=True)
    (shop / "definitions" / "order.json").write_text(json.dumps(ORDER))
    (shop / "list.json").write_text("{}")
    monkeypatch.chdir(shop)
    return shop


def test_a_missing_file_suggests_no_unrelated_file(folder: Path) -> None:
    result = runner.invoke(app, ["validate", "missing.json"])
    assert result.exit_code == 1
    assert "missing.json: no such file" in result.output
    assert "did you mean" not in result.output and "list.json" not in result.output
    assert "fix: check the path" in result.output


@pytest.mark.parametrize("typo", ["definitions/ordr.json", "definitions/order.jsn"])
def test_a_missing_file_suggests_a_close_near_miss(folder: Path, typo: str) -> None:
    result = runner.invoke(app, ["validate", typo])
    assert result.exit_code == 1
    assert 'did you mean "definitions/order.json"?' in result.output


def test_a_folder_without_its_machine_file_is_named_with_what_was_expected(
    folder: Path,
) -> None:
    result = runner.invoke(app, ["validate", "."])
    assert result.exit_code == 1
    assert f"the folder {folder.resolve()} holds no machine.json/.yaml or shop.json/.yaml" in (
        result.output
    )
    assert "pass a definition file, e.g. list.json, definitions/order.json" in result.output


def test_a_folder_named_dot_finds_the_file_named_after_it(folder: Path) -> None:
    (folder / "shop.json").write_text(json.dumps(ORDER))
    result = runner.invoke(app, ["validate", ".", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "machine 'order', 2 states" in result.output
