"""A command that makes a new, empty SQLite store says so on stderr, with the file's
absolute path; inside a project whose statewright.toml names another store, it names that
one and the fix (a relative STATEWRIGHT_URL run from a subfolder makes a second store)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from statewright.cli import app
from statewright.store.url import URL_VARIABLE

runner = CliRunner()
ORDER = json.dumps({"orderId": "A-1", "amount": 25})


def test_start_from_a_subfolder_with_a_relative_url_says_it_made_a_new_store(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = project / "sub"
    sub.mkdir()
    monkeypatch.chdir(sub)
    monkeypatch.setenv(URL_VARIABLE, "sqlite:///statewright.db")

    result = runner.invoke(app, ["start", "order", "--id", "A-1", "--input", ORDER])

    assert result.exit_code == 0, result.output
    made = sub / "statewright.db"
    assert made.exists()
    said = result.stderr
    assert f"created a new, empty store at {made} (sqlite:///statewright.db)" in said
    assert f"the project {project / 'statewright.toml'} names another store" in said
    assert "unset STATEWRIGHT_URL" in said and f"delete {made}" in said


def test_start_in_a_store_that_exists_says_nothing_of_it(project: Path) -> None:
    first = runner.invoke(app, ["start", "order", "--id", "A-1", "--input", ORDER])
    assert first.exit_code == 0, first.output
    assert "created a new, empty store at" in first.stderr  # the project's, made now
    assert "names another store" not in first.stderr

    again = runner.invoke(app, ["start", "order", "--id", "A-2", "--input", ORDER])
    assert again.exit_code == 0, again.output
    assert "created a new" not in again.stderr


def test_db_migrate_of_a_new_file_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(URL_VARIABLE, raising=False)

    result = runner.invoke(app, ["db", "migrate", "--url", "sqlite:///app.db"])

    assert result.exit_code == 0, result.output
    assert f"created a new, empty store at {tmp_path / 'app.db'}" in result.stderr
