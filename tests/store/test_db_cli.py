"""`statewright db migrate` and `statewright db status`, run in process."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from statewright.cli import app
from statewright.store import SCHEMA_VERSION

runner = CliRunner()


def test_status_of_an_empty_database_says_to_migrate(empty_store_url: str) -> None:
    result = runner.invoke(app, ["db", "status", "--url", empty_store_url])
    assert result.exit_code == 0, result.output
    assert f"is at schema 0 and this version needs {SCHEMA_VERSION}" in result.output
    assert "statewright db migrate" in result.output


def test_migrate_applies_pending_migrations_then_reports_up_to_date(empty_store_url: str) -> None:
    first = runner.invoke(app, ["db", "migrate", "--url", empty_store_url])
    assert first.exit_code == 0, first.output
    assert "applied migration 0001" in first.output
    assert f"now at schema {SCHEMA_VERSION}" in first.output
    again = runner.invoke(app, ["db", "migrate", "--url", empty_store_url])
    assert again.exit_code == 0, again.output
    assert "applied" not in again.output
    assert f"up to date (schema {SCHEMA_VERSION})" in again.output
    status = runner.invoke(app, ["db", "status", "--url", empty_store_url])
    assert f"up to date (schema {SCHEMA_VERSION})" in status.output


def test_the_default_url_is_statewright_db_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["db", "migrate"])
    assert result.exit_code == 0, result.output
    assert "sqlite:///statewright.db" in result.output
    assert (tmp_path / "statewright.db").exists()


def test_a_bad_url_prints_the_accepted_forms_and_exits_1() -> None:
    result = runner.invoke(app, ["db", "status", "--url", "mysql://db/app"])
    assert result.exit_code == 1
    assert "bad store URL 'mysql://db/app'" in result.output
    assert "sqlite:///" in result.output and "postgresql://" in result.output


def test_an_unreachable_database_exits_1_without_showing_the_password() -> None:
    url = "postgresql://ann:s3cret@127.0.0.1:1/app"
    result = runner.invoke(app, ["db", "migrate", "--url", url])
    assert result.exit_code == 1
    assert "cannot reach PostgreSQL at postgresql://ann@127.0.0.1:1/app" in result.output
    assert "s3cret" not in result.output


def test_a_missing_folder_exits_1_naming_the_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing' / 'app.db'}"
    result = runner.invoke(app, ["db", "migrate", "--url", url])
    assert result.exit_code == 1
    assert "cannot open the SQLite database" in result.output
    assert "missing does not exist; create it or fix the path" in result.output


def test_db_commands_have_help() -> None:
    result = runner.invoke(app, ["db", "--help"])
    assert result.exit_code == 0
    assert "migrate" in result.output and "status" in result.output
