"""The PostgreSQL store: psycopg 3 (sync API) with a connection pool."""

from statewright.store.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
