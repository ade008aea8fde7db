"""Persistence: one `Store` protocol, SQLite and PostgreSQL implementations."""

from statewright.store.protocol import SCHEMA_VERSION, Store
from statewright.store.url import open_store

__all__ = ["SCHEMA_VERSION", "Store", "open_store"]
