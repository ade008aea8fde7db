"""`statewright worker` (and `worker --once`) on a store that waiting cannot fix (another
application's file, a schema out of date, no such SQLite file, a damaged file) exits 5, the
code docs/cli.md's table gives a store that cannot be used, with one line naming the store
and the fix, and claims nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from statewright import Machine
from statewright.cli import app
from statewright.engine import Engine
from statewright.store import SCHEMA_VERSION
from statewright.store.url import URL_VARIABLE

runner = CliRunner(env={"COLUMNS": "200"})

MODES = [["--once"], ["--poll", "0.01"]]

PADDED = {
    "id": "padded",
    "initial": "a",
    "context": {"pad": "x" * 300},
    "states": {"a": {"after": {"0": "b"}}, "b": {"type": "final"}},
}


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(URL_VARIABLE, raising=False)
    monkeypatch.chdir(tmp_path)


def worker(url: str, mode: list[str]) -> tuple[int, str, str]:
    result = runner.invoke(app, ["worker", "--url", url, *mode])
    return result.exit_code, result.stdout, result.stderr


def damage_line(stderr: str) -> str:
    """The one line naming the damage (running, the worker logs it, then that it stopped)."""
    (line,) = [line for line in stderr.splitlines() if "damaged" in line]
    return line


@pytest.mark.parametrize("mode", MODES, ids=["once", "run"])
def test_another_applications_file_exits_5(mode: list[str], tmp_path: Path) -> None:
    path = tmp_path / "theirs.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY)")

    code, stdout, stderr = worker(f"sqlite:///{path}", mode)

    assert code == 5, stderr
    (line,) = stderr.splitlines()
    assert "theirs.db is not a statewright database" in line and "--share" in line
    assert stdout == ""


@pytest.mark.parametrize("mode", MODES, ids=["once", "run"])
def test_a_schema_out_of_date_exits_5_naming_the_migration(
    mode: list[str], old_store_url: str
) -> None:
    code, stdout, stderr = worker(old_store_url, mode)

    assert code == 5, stderr
    (line,) = stderr.splitlines()
    assert f"needs {SCHEMA_VERSION}" in line and 'run "statewright db migrate' in line
    assert stdout == ""


@pytest.mark.parametrize("mode", MODES, ids=["once", "run"])
def test_a_missing_sqlite_file_exits_5_and_creates_nothing(mode: list[str], tmp_path: Path) -> None:
    code, _, stderr = worker(f"sqlite:///{tmp_path / 'typo.db'}", mode)

    assert code == 5, stderr
    (line,) = stderr.splitlines()
    assert "no SQLite database at" in line and "statewright db migrate" in line
    assert not (tmp_path / "typo.db").exists()


@pytest.fixture
def damaged(tmp_path: Path) -> Path:
    """A SQLite file with 20 due timers and one page of its audit table overwritten."""
    path = tmp_path / "damaged.db"
    with Engine.open(f"sqlite:///{path}") as engine:
        engine.register(Machine.from_config(PADDED))
        for index in range(20):
            engine.start("padded", instance_id=f"p-{index}")
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (page,) = connection.execute(
            "SELECT max(pageno) FROM dbstat WHERE name = 'audit'"
        ).fetchone()
        (size,) = connection.execute("PRAGMA page_size").fetchone()
    connection.close()
    data = bytearray(path.read_bytes())
    data[(page - 1) * size : page * size] = b"\xa5" * size
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("mode", MODES, ids=["once", "run"])
def test_a_damaged_file_exits_5_before_claiming_anything(mode: list[str], damaged: Path) -> None:
    code, stdout, stderr = worker(f"sqlite:///{damaged}", mode)

    assert code == 5, stderr
    line = damage_line(stderr)
    assert f"{damaged} (sqlite:///{damaged}) is damaged (" in line
    assert "restore it from a backup" in line
    assert stdout == ""
    with sqlite3.connect(damaged) as connection:  # the timers' pages are intact: none claimed
        due, claimed = connection.execute(
            "SELECT count(*), count(lease_until) FROM timers"
        ).fetchone()
    connection.close()
    assert (due, claimed) == (20, 0)
