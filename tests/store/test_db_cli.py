"""`statewright db migrate` and `statewright db status`, run in process."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

import statewright.engine.migrating as migrating
from statewright.cli import app
from statewright.store import SCHEMA_VERSION

runner = CliRunner()


def test_status_of_an_empty_database_says_to_migrate_and_exits_1(empty_store_url: str) -> None:
    result = runner.invoke(app, ["db", "status", "--url", empty_store_url])
    assert result.exit_code == 1, result.output
    if empty_store_url.startswith("sqlite:///"):
        # No such file: named, and not created.
        path = empty_store_url.removeprefix("sqlite:///")
        assert f"no SQLite database at {path}" in result.output
        assert not Path(path).exists()
    else:
        assert f"is at schema 0 and this version needs {SCHEMA_VERSION}" in result.output
    assert "statewright db migrate" in result.output


def test_status_on_a_mistyped_path_creates_nothing(tmp_path: Path) -> None:
    result = runner.invoke(app, ["db", "status", "--url", f"sqlite:///{tmp_path}/nope/x.db"])
    assert result.exit_code == 5  # a store "db migrate" cannot make either
    assert f"its folder {tmp_path}/nope does not exist" in result.output
    assert list(tmp_path.iterdir()) == []


def test_status_exits_1_while_a_migration_is_pending(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert runner.invoke(app, ["db", "status", "--url", store_url]).exit_code == 0
    monkeypatch.setattr(migrating, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    result = runner.invoke(app, ["db", "status", "--url", store_url])
    assert result.exit_code == 1
    assert f"this version needs {SCHEMA_VERSION + 1}" in result.output


def test_the_url_comes_from_statewright_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'from-env.db'}"
    monkeypatch.setenv("STATEWRIGHT_URL", url)
    result = runner.invoke(app, ["db", "migrate"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "from-env.db").exists()
    assert runner.invoke(app, ["db", "status"]).exit_code == 0


def test_migrate_refuses_another_applications_database_unless_shared(tmp_path: Path) -> None:
    path = tmp_path / "theirs.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
    url = f"sqlite:///{path}"
    refused = runner.invoke(app, ["db", "migrate", "--url", url])
    assert refused.exit_code == 1
    assert "not a statewright database" in refused.output and "customers" in refused.output
    with sqlite3.connect(path) as connection:
        names = [row[0] for row in connection.execute("SELECT name FROM sqlite_master")]
    assert names == ["customers"]
    shared = runner.invoke(app, ["db", "migrate", "--url", url, "--share"])
    assert shared.exit_code == 0, shared.output
    assert runner.invoke(app, ["db", "status", "--url", url]).exit_code == 0


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
    monkeypatch.delenv("STATEWRIGHT_URL", raising=False)
    result = runner.invoke(app, ["db", "migrate"])
    assert result.exit_code == 0, result.output
    assert "sqlite:///statewright.db" in result.output
    assert (tmp_path / "statewright.db").exists()


def test_a_bad_url_prints_the_accepted_forms_and_exits_2() -> None:
    result = runner.invoke(app, ["db", "status", "--url", "mysql://db/app"])
    assert result.exit_code == 2
    assert "bad store URL 'mysql://db/app'" in result.output
    assert "sqlite:///" in result.output and "postgresql://" in result.output


def test_an_unreachable_database_exits_5_without_showing_the_password() -> None:
    url = "postgresql://ann:s3cret@127.0.0.1:1/app"
    result = runner.invoke(app, ["db", "migrate", "--url", url])
    assert result.exit_code == 5
    assert "cannot reach PostgreSQL at postgresql://ann@127.0.0.1:1/app" in result.output
    assert "s3cret" not in result.output
    assert "Connection refused; " in result.output  # libpq's lines kept apart


def test_a_missing_folder_exits_5_naming_the_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing' / 'app.db'}"
    result = runner.invoke(app, ["db", "migrate", "--url", url])
    assert result.exit_code == 5
    assert "cannot open the SQLite database" in result.output
    assert "missing does not exist; create it or fix the path" in result.output


def test_db_commands_have_help() -> None:
    result = runner.invoke(app, ["db", "--help"])
    assert result.exit_code == 0
    assert "migrate" in result.output and "status" in result.output


def test_status_json_gives_both_versions_and_the_verdict(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = runner.invoke(app, ["db", "status", "--url", store_url, "--json"])
    assert result.exit_code == 0, result.output
    said = json.loads(result.stdout)
    assert said["schema"] == said["needed"] == SCHEMA_VERSION and said["up_to_date"] is True
    assert said["url"]

    monkeypatch.setattr(migrating, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    behind = runner.invoke(app, ["db", "status", "--url", store_url, "--json"])
    assert behind.exit_code == 1
    said = json.loads(behind.stdout)
    assert said["needed"] == SCHEMA_VERSION + 1 and said["up_to_date"] is False


def test_status_json_of_no_database_is_the_error_object_exit_1(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'none.db'}"
    result = runner.invoke(app, ["db", "status", "--url", url, "--json"])
    assert result.exit_code == 1
    said = json.loads(result.stdout)
    assert said["error"] and "no SQLite database" in said["message"]
    assert not (tmp_path / "none.db").exists()
