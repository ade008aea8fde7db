"""`statewright verify` in a project: the store, definitions and implementations come from
statewright.toml, from any folder of it, as for every command; errors are one line on
stderr with the exit code of docs/cli.md."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from statewright.cli import app

runner = CliRunner()


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


@pytest.fixture
def project(project: Path) -> Path:
    """The init project with one order paid without approval (its guard isSmall ran)."""
    order = json.dumps({"orderId": "A-1", "amount": 25})
    assert run("start", "order", "--id", "A-1", "--input", order).exit_code == 0
    return project


def test_verify_uses_the_projects_implementations(project: Path) -> None:
    result = run("verify")

    assert result.exit_code == 0, result.output
    assert "1 of 1 instances match their audit log" in result.stdout


def test_verify_finds_the_project_from_a_subfolder(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project / "definitions")

    result = run("verify")

    assert result.exit_code == 0, result.output
    assert "1 of 1 instances match" in result.stdout
    assert not (project / "definitions" / "statewright.db").exists()


def test_verify_takes_the_projects_implementations_file_as_machines(project: Path) -> None:
    result = run("verify", "--machines", "implementations.py")

    assert result.exit_code == 0, result.output
    assert "1 of 1 instances match" in result.stdout


def test_an_unreachable_store_is_one_line_on_stderr_with_exit_5(project: Path) -> None:
    result = run("verify", "--url", "postgresql://nobody@127.0.0.1:1/nowhere")

    assert result.exit_code == 5
    assert result.stdout == ""
    assert result.stderr.startswith("cannot reach PostgreSQL at postgresql://nobody@127.0.0.1:1")
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_missing_store_is_refused_and_not_created(tmp_path: Path) -> None:
    result = run("verify", "--url", f"sqlite:///{tmp_path / 'typo.db'}")

    assert result.exit_code == 5
    assert result.stderr.startswith(f"no SQLite database at {tmp_path / 'typo.db'}")
    assert not (tmp_path / "typo.db").exists()


def test_verify_json_names_each_instance_that_differs_and_exits_1(project: Path) -> None:
    order = json.dumps({"orderId": "A-2", "amount": 25})
    assert run("start", "order", "--id", "A-2", "--input", order).exit_code == 0
    matching = run("verify", "--json")
    assert matching.exit_code == 0, matching.output
    assert json.loads(matching.stdout) == {"instances": 2, "matching": 2, "mismatched": []}

    with sqlite3.connect(project / "statewright.db") as connection:  # a hand edit behind its back
        connection.execute(
            "UPDATE instances SET snapshot = json_set(snapshot, '$.context.amount', 26) "
            "WHERE id = 'A-2'"
        )
    connection.close()
    found = run("verify", "--json")

    assert found.exit_code == 1
    said = json.loads(found.stdout)  # nothing but the JSON on stdout: no progress, no text
    assert said["instances"] == 2 and said["matching"] == 1
    (mismatch,) = said["mismatched"]
    assert mismatch["tenant"] == "default" and mismatch["instance_id"] == "A-2"
    assert mismatch["problem"]
    text = run("verify")
    assert text.exit_code == 1
    assert "default/A-2" in text.stdout and "1 of 2 instances match" in text.stdout
