"""`statewright db migrate` on PostgreSQL behind a long transaction: each migration waits at
most its lock timeout for a table's lock (other writers of that table queue behind it only
that long), is tried again a bounded number of times, and then gives up naming the
transaction that holds the table; once that transaction ends, migrate goes through."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from typer.testing import CliRunner

from statewright.cli import app
from statewright.store import SCHEMA_VERSION, open_store
from statewright.store.url import parse_postgres_url
from statewright.testing.postgres import create_schema, drop_schema

runner = CliRunner()

#: The schema version the database is left at: the next migration (0014) alters `workers`.
OLD_VERSION = 13
LOCK_TIMEOUT_S = 1.0


@pytest.fixture
def old_postgres_url(postgres_url: str) -> Iterator[str]:
    """A PostgreSQL database at schema 13, as an older release left it, with one worker row."""
    schema = f"test_{uuid.uuid4().hex[:16]}"
    url = create_schema(postgres_url, schema)
    store = open_store(url)
    try:
        for migration in store.migrations[:OLD_VERSION]:
            with store._transaction(write=True, what="test") as tx:  # type: ignore[attr-defined]
                store._apply(tx, migration)  # type: ignore[attr-defined]
        assert store.schema_version() == OLD_VERSION
    finally:
        store.close()
    with psycopg.connect(_conninfo(url), autocommit=True) as connection:
        connection.execute(
            "INSERT INTO workers (id, host, pid, steps, listeners, started_at, heartbeat_at) "
            "VALUES ('w-1', 'h', 1, '[]', '[]', 0, 0)"
        )
    yield url
    drop_schema(postgres_url, schema)


def _conninfo(url: str) -> str:
    return parse_postgres_url(url).conninfo


def _version(url: str) -> int:
    store = open_store(url, create=False)
    try:
        return store.schema_version()
    finally:
        store.close()


class Heartbeats:
    """A writer of the `workers` table, as a running worker is: one update every 20 ms,
    each one's time kept."""

    def __init__(self, url: str) -> None:
        self._connection = psycopg.connect(_conninfo(url), autocommit=True)
        self._stop = threading.Event()
        self.waits: list[float] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Heartbeats:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self._connection.close()

    def _run(self) -> None:
        beat = 0
        while not self._stop.is_set():
            beat += 1
            started = time.monotonic()
            self._connection.execute(
                "UPDATE workers SET heartbeat_at = %(beat)s WHERE id = 'w-1'", {"beat": beat}
            )
            self.waits.append(time.monotonic() - started)
            time.sleep(0.02)


def _migrate(url: str, *options: str) -> tuple[int, str, str]:
    """`db migrate` run in a thread, so that a migrate that never gives up fails the test
    (after 30 s) instead of hanging it."""
    found: list[tuple[int, str, str]] = []

    def run() -> None:
        result = runner.invoke(app, ["db", "migrate", "--url", url, *options])
        found.append((result.exit_code, result.stdout, result.stderr))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=30)
    assert found, "db migrate still waits after 30 s: it has no lock timeout"
    return found[0]


def test_migrate_behind_a_long_read_gives_up_naming_it_and_never_stalls_writers(
    old_postgres_url: str,
) -> None:
    url = old_postgres_url
    report = psycopg.connect(_conninfo(url), autocommit=True, application_name="weekly report")
    try:
        report.execute("BEGIN")
        report.execute("SELECT count(*) FROM workers").fetchall()
        report_pid = report.info.backend_pid
        with Heartbeats(url) as heartbeats:
            time.sleep(0.2)
            started = time.monotonic()
            code, out, err = _migrate(
                url, "--lock-timeout", f"{LOCK_TIMEOUT_S:g}", "--attempts", "2"
            )
            took = time.monotonic() - started
            time.sleep(0.2)
        assert code == 4, (out, err)
        # One line for the retry, then the error: the migration, who holds its table, the fix.
        lines = err.strip().splitlines()
        assert len(lines) == 2, err
        retry, final = lines
        assert retry.startswith("warning: migration 0014_worker_schedules waited 1 s for a lock")
        assert f"pid {report_pid} (weekly report) holds workers" in retry
        assert retry.endswith("trying again in 1 s (attempt 2 of 2)")
        assert final.startswith("migration 0014_worker_schedules waited 1 s for a lock")
        assert f"pid {report_pid} (weekly report) holds workers" in final
        assert "idle in transaction" in final and "its transaction started" in final
        assert "SELECT count(*) FROM workers" in final
        assert f"pg_terminate_backend({report_pid})" in final and "--lock-timeout" in final
        assert final.startswith(
            "migration 0014_worker_schedules waited 1 s for a lock on its tables 2 times and "
            f"was rolled back each time; the database stays at schema {OLD_VERSION}; pid "
        )
        assert "applied" not in out
        assert 2 * LOCK_TIMEOUT_S <= took < 2 * LOCK_TIMEOUT_S + 5
        assert _version(url) == OLD_VERSION
        # The writers queued behind the migration's waits only: never much longer than the
        # lock timeout, and they carried on between the attempts and after.
        assert len(heartbeats.waits) > 20
        # (without the lock timeout they wait until the report ends, here never)
        assert max(heartbeats.waits) < LOCK_TIMEOUT_S + 3, max(heartbeats.waits)
    finally:
        report.close()  # the report ends: its transaction and its lock go

    code, out, err = _migrate(url, "--lock-timeout", f"{LOCK_TIMEOUT_S:g}")
    assert code == 0, (out, err)
    assert err == ""
    assert "applied migration 0014" in out and f"is now at schema {SCHEMA_VERSION}" in out
    assert _version(url) == SCHEMA_VERSION
