"""The SQLite store: stdlib `sqlite3`, WAL, every write under `BEGIN IMMEDIATE`."""

from statewright.store.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
