"""SQLite specifics: connection settings, and a write lock held too long."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from statewright.errors import StoreUnavailable
from statewright.store import open_store
from statewright.store.sqlite import SqliteStore
from statewright.testing.store_contract import save_definition, start


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
