"""`statewright db migrate` and `db status` exit with the codes of the table in docs/cli.md:
2 for a bad URL, 5 for a store that cannot be reached or opened, one line on stderr, and
nothing created."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from typer.testing import CliRunner

from statewright.cli import app
from statewright.engine import migrating
from statewright.store import SCHEMA_VERSION
from tmpfs_kit import remount_read_only, small_tmpfs

runner = CliRunner()

#: Refused at once, reachable by nobody: nothing listens on port 1.
UNREACHABLE = "postgresql://127.0.0.1:1/x"


@pytest.mark.parametrize("command", ["migrate", "status"])
@pytest.mark.parametrize("url", ["mysql://app@db/app", "foo"])
def test_a_bad_url_exits_2(command: str, url: str) -> None:
    result = runner.invoke(app, ["db", command, "--url", url])

    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert f"bad store URL {url!r}" in line and "postgresql://" in line
    assert result.stdout == ""


@pytest.mark.parametrize("given", ["--url", "STATEWRIGHT_URL"])
def test_a_file_path_for_a_url_exits_2_naming_its_sqlite_url(
    given: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = f"{tmp_path}/statewright.db"
    monkeypatch.chdir(tmp_path)
    if given == "--url":
        result = runner.invoke(app, ["db", "status", "--url", path])
    else:
        monkeypatch.setenv("STATEWRIGHT_URL", path)
        result = runner.invoke(app, ["db", "status"])

    assert result.exit_code == 2, result.output
    (line,) = result.stderr.splitlines()
    assert f"bad store URL {path!r}: a file path, not a URL; " in line
    assert f"use sqlite:///{path} (sqlite:/// then the path: an absolute one gives four" in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["migrate", "status"])
def test_a_store_that_cannot_be_reached_exits_5(command: str) -> None:
    result = runner.invoke(app, ["db", command, "--url", UNREACHABLE])

    assert result.exit_code == 5, result.output
    (line,) = result.stderr.splitlines()
    assert f"cannot reach PostgreSQL at {UNREACHABLE}" in line


def test_migrate_into_a_missing_folder_exits_5_creating_nothing(tmp_path: Path) -> None:
    result = runner.invoke(app, ["db", "migrate", "--url", f"sqlite:///{tmp_path}/nope/x.db"])

    assert result.exit_code == 5, result.output
    assert f"its folder {tmp_path}/nope does not exist" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_migrate_on_a_newer_schema_exits_5(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(migrating, "SCHEMA_VERSION", SCHEMA_VERSION - 1)

    result = runner.invoke(app, ["db", "migrate", "--url", store_url])

    assert result.exit_code == 5, result.output
    assert "upgrade statewright" in result.stderr


def _other_database(
    postgres_url: str, *, user: str | None = None, database: str | None = None
) -> str:
    parts = urlsplit(postgres_url)
    netloc = parts.netloc if user is None else f"{user}:wrong@{parts.netloc.split('@')[-1]}"
    path = parts.path if database is None else f"/{database}"
    return urlunsplit((parts.scheme, netloc, path, parts.query, parts.fragment))


@pytest.mark.parametrize("command", ["status", "migrate"])
@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"database": "no_such_database"}, 'database "no_such_database" does not exist'),
        ({"user": "no_such_role"}, 'role "no_such_role" does not exist'),
    ],
)
def test_a_store_that_refuses_the_login_exits_5(
    command: str, change: dict[str, str], said: str, postgres_url: str
) -> None:
    url = _other_database(postgres_url, **change)

    result = runner.invoke(app, ["db", command, "--url", url])

    assert result.exit_code == 5, result.output
    assert said in result.stderr
    assert "wrong" not in result.stderr  # the password is not shown
    assert result.stdout == ""


@pytest.mark.parametrize("command", ["status", "migrate"])
def test_a_sqlite_file_on_a_read_only_filesystem_exits_5(command: str, tmp_path: Path) -> None:
    made = tmp_path / "made.db"
    assert runner.invoke(app, ["db", "migrate", "--url", f"sqlite:///{made}"]).exit_code == 0
    with small_tmpfs(tmp_path / "disk") as disk:
        shutil.copy(made, disk / "app.db")
        remount_read_only(disk)

        result = runner.invoke(app, ["db", command, "--url", f"sqlite:///{disk}/app.db"])

        assert result.exit_code == 5, result.output
        assert f"the filesystem mounted at {disk} is read-only" in result.stderr


def test_status_of_a_missing_folder_exits_5_as_migrate_does(tmp_path: Path) -> None:
    result = runner.invoke(app, ["db", "status", "--url", f"sqlite:///{tmp_path}/nope/x.db"])

    assert result.exit_code == 5, result.output
    assert f"its folder {tmp_path}/nope does not exist" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_status_of_a_file_not_made_yet_exits_1_naming_db_migrate(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/x.db"
    result = runner.invoke(app, ["db", "status", "--url", url])

    assert result.exit_code == 1, result.output
    assert "statewright db migrate" in result.stderr
    assert list(tmp_path.iterdir()) == []
