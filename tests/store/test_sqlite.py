"""SQLite specifics: connection settings, and a write lock held too long."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from statewright.errors import StoreError, StoreUnavailable
from statewright.store import open_store
from statewright.store.sqlite import SqliteStore
from statewright.testing.store_contract import save_definition, start, step


def _pragmas(store: SqliteStore) -> tuple[object, ...]:
    with store._pool.connection() as connection:
        return tuple(
            next(iter(connection.execute(f"PRAGMA {name}").fetchone().values()))
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        )


def test_connections_use_wal_full_sync_foreign_keys_and_the_busy_timeout(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'a.db'}")
    assert isinstance(store, SqliteStore)
    try:
        assert _pragmas(store) == ("wal", 2, 1, 5000)
    finally:
        store.close()
    store = open_store(f"sqlite:///{tmp_path / 'a.db'}?synchronous=normal&busy_timeout=250")
    assert isinstance(store, SqliteStore)
    try:
        assert _pragmas(store) == ("wal", 1, 1, 250)
    finally:
        store.close()


@pytest.mark.parametrize("version", [(3, 24, 0), (3, 34, 1)])
def test_a_sqlite_without_returning_is_refused_naming_the_version_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: tuple[int, int, int]
) -> None:
    # The claims of timers, steps and outbox messages use RETURNING, which SQLite has since
    # 3.35: an older library would fail on the first claim, not when the store is opened.
    monkeypatch.setattr(sqlite3, "sqlite_version_info", version)
    monkeypatch.setattr(sqlite3, "sqlite_version", ".".join(map(str, version)))
    needs = r"SQLite 3\.\d+\.\d .* is too old; statewright needs 3\.35\.0 or newer"
    with pytest.raises(StoreError, match=needs):
        open_store(f"sqlite:///{tmp_path / 'a.db'}")
    assert not (tmp_path / "a.db").exists()


def test_a_write_lock_held_past_the_busy_timeout_is_reported_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    store = open_store(f"sqlite:///{path}?busy_timeout=50")
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        store.migrate()
        save_definition(store)
        blocker.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreUnavailable, match="stayed locked for 50 ms"):
            store.commit_transition(start())
        blocker.execute("ROLLBACK")
        store.commit_transition(start())  # the store recovers once the lock is released
    finally:
        blocker.close()
        store.close()


def test_a_quiet_transition_whose_audit_row_is_refused_writes_nothing(tmp_path: Path) -> None:
    """The quiet path (update, then audit insert, straight on the connection) rolls its
    update back when the audit insert fails, and the general path then names the error."""
    path = tmp_path / "quiet.db"
    store = open_store(f"sqlite:///{path}")
    try:
        store.migrate()
        save_definition(store)
        store.commit_transition(start())
        store.commit_transition(step("order-42", 2))  # quiet: no work, no key
        other = sqlite3.connect(path, isolation_level=None)
        try:  # an audit row in the way of version 3's
            other.execute(
                "INSERT INTO audit (tenant, instance_id, seq, event, to_value, status, "
                "runtime_status, at, microsteps, effects, stream_seq) VALUES ('acme', "
                "'order-42', 3, '{}', '\"x\"', 'active', 'active', 0, '[]', '[]', 99)"
            )
        finally:
            other.close()
        with pytest.raises(StoreError, match="order-42"):
            store.commit_transition(step("order-42", 3))
        record = store.load_instance("acme", "order-42")
        assert record is not None and record.version == 2
    finally:
        store.close()
