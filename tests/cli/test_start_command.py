"""`statewright start` of a definition there is not: not found, naming the definitions there
are and the near miss, and no store is made or changed for it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from statewright.cli import app
from statewright.engine import Engine
from statewright.store.url import URL_VARIABLE

runner = CliRunner()


def start(definition: str) -> Result:
    order = json.dumps({"orderId": "A-1", "amount": 25})
    return runner.invoke(app, ["start", definition, "--id", "A-1", "--input", order])


@pytest.fixture(autouse=True)
def no_url_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(URL_VARIABLE, raising=False)


def test_outside_a_project_no_store_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    result = start("order")

    assert result.exit_code == 3
    assert result.stderr.startswith("no definition 'order' to start (there are none; ")
    assert 'make a project with "statewright init"' in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_a_typo_in_a_new_project_names_the_near_miss_and_makes_no_store(project: Path) -> None:
    result = start("ordr")

    assert result.exit_code == 3
    assert result.stderr.startswith("no definition 'ordr' to start (there are: order")
    assert "did you mean 'order'?" in result.stderr
    assert not (project / "statewright.db").exists()
    assert start("order").exit_code == 0
    assert (project / "statewright.db").is_file()


def test_a_typo_registers_nothing_in_an_existing_store(project: Path) -> None:
    assert start("order").exit_code == 0
    definition = project / "definitions" / "order.json"
    definition.write_text(definition.read_text().replace('"48h"', '"24h"'))

    result = start("invoice")

    assert result.exit_code == 3
    assert "there are: order" in result.stderr
    assert f"add its definition to {project / 'definitions'}" in result.stderr
    with Engine.open(f"sqlite:///{project / 'statewright.db'}", create=False) as engine:
        assert [d.version for d in engine.definition_versions("order")] == [1]
