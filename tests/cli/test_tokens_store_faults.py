"""`statewright tokens create`, `list` and `revoke` on a store that cannot be used (no such
SQLite file, another application's file, a schema out of date, PostgreSQL unreachable) exit
5 as every command does (docs/cli.md, "Exit codes"), with one line naming the store and the
fix, and a JSON object on stdout with `--json`; nothing is created."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from statewright.cli import app
from statewright.store import SCHEMA_VERSION, open_store
from statewright.store.url import URL_VARIABLE

runner = CliRunner(env={"COLUMNS": "200"})

#: Refused at once, reachable by nobody: nothing listens on port 1.
UNREACHABLE = "postgresql://127.0.0.1:1/x"

COMMANDS = [["create", "--role", "operator"], ["list"], ["revoke", "0123456789ab"]]


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(URL_VARIABLE, raising=False)
    monkeypatch.chdir(tmp_path)


def tokens(command: list[str], url: str, *more: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["tokens", *command, "--url", url, *more])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_missing_sqlite_file_exits_5_naming_it_and_creates_nothing(
    command: list[str], tmp_path: Path
) -> None:
    code, stdout, stderr = tokens(command, f"sqlite:///{tmp_path / 'typo.db'}")

    assert code == 5, stderr
    (line,) = stderr.splitlines()
    assert "no SQLite database at" in line and "typo.db" in line
    assert "statewright db migrate" in line  # the fix
    assert stdout == ""
    assert not (tmp_path / "typo.db").exists()


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_another_applications_file_exits_5_naming_it(command: list[str], tmp_path: Path) -> None:
    path = tmp_path / "theirs.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY)")

    code, _, stderr = tokens(command, f"sqlite:///{path}")

    assert code == 5, stderr
    (line,) = stderr.splitlines()
    assert "theirs.db is not a statewright database" in line and "--share" in line


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_schema_out_of_date_exits_5_naming_the_migration(
    command: list[str], old_store_url: str
) -> None:
    code, stdout, stderr = tokens(command, old_store_url, "--json")

    assert code == 5, stderr
    (line,) = stderr.splitlines()
    assert f"needs {SCHEMA_VERSION}" in line and 'run "statewright db migrate' in line
    error = json.loads(stdout)  # --json: the error as every command prints it
    assert error["error"] == "SchemaOutOfDate" and error["message"] == line
    store = open_store(old_store_url, create=False)
    try:
        assert store.schema_version() == SCHEMA_VERSION - 1  # left as it was
    finally:
        store.close()


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_postgres_store_it_cannot_reach_exits_5(command: list[str]) -> None:
    code, _, stderr = tokens(command, UNREACHABLE)

    assert code == 5, stderr
    (line,) = stderr.splitlines()
    assert line.startswith(f"cannot reach PostgreSQL at {UNREACHABLE}")


def test_a_bad_url_exits_2() -> None:
    code, _, stderr = tokens(["list"], "mysql://x")

    assert code == 2, stderr
    assert "bad store URL 'mysql://x'" in stderr
