"""`SqliteStore`: the shared operations (`SqlStore`) over stdlib `sqlite3`.

Every write transaction starts with `BEGIN IMMEDIATE`: a deferred `BEGIN` that reads and then
writes while another connection holds the write lock fails with SQLITE_BUSY at once,
ignoring the busy timeout, whereas `BEGIN IMMEDIATE` waits for it (shared/FACTS.md). Reads
run in a deferred transaction, so that a multi-statement read sees one snapshot; a lone
statement (loading an instance) runs without one, since it sees one snapshot anyway and
BEGIN and COMMIT would double its cost.
`synchronous=FULL` is the default (a committed transition survives power loss); `NORMAL`
(about 5x the commits per second) only risks the last transactions on power loss, not
corruption.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

from statewright.errors import SchemaOutOfDate, StoreError, StoreUnavailable
from statewright.store.sql_files import include_queries, load_migrations, load_queries
from statewright.store.sql_store import SqlStore
from statewright.store.sqlite.connection import ConnectionPool, connect, split_statements
from statewright.store.sqlite.wakeup import WakeChannel
from statewright.store.transaction import Params, Row, Transaction
from statewright.store.url import SqliteOptions

__all__ = ["SqliteStore"]

_PACKAGE = "statewright.store.sqlite"


class SqliteStore(SqlStore):
    """The store in one SQLite file; safe for many threads and processes on one host.

    Open it with `statewright.store.open_store("sqlite:///path.db")`. Each concurrent
    operation borrows its own connection (see `connection.py`).
    """

    queries = include_queries(load_queries(_PACKAGE))
    migrations = load_migrations(_PACKAGE)

    def __init__(self, options: SqliteOptions, *, url: str | None = None) -> None:
        """Open the database file (created if missing); the schema is not touched.

        Raises:
            StoreUnavailable: the file cannot be opened.
            StoreError: the file is not a SQLite database.
        """
        self.url = url if url is not None else f"sqlite:///{options.path}"
        self.path = options.path
        self._options = options
        self._pool = ConnectionPool(lambda: connect(options, url=self.display_url))
        with self._pool.connection():
            pass  # open one connection now, so that a bad path fails here
        self._wakeups = WakeChannel(Path(options.path))

    def close(self) -> None:
        """Close every connection; the store cannot be used afterwards."""
        self._wakeups.close()
        self._pool.close()

    def wait_for_work(self, timeout_s: float) -> bool:
        """Return when another process (or thread) committed new work on this file (True),
        or after `timeout_s` (wake-ups are best-effort, see `wakeup.py`)."""
        return self._wakeups.wait(timeout_s)

    def _work_committed(self) -> None:
        self._wakeups.notify()

    @contextmanager
    def _transaction(self, *, write: bool, what: str) -> Iterator[Transaction]:
        with self._pool.connection() as connection:
            try:
                connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                yield _SqliteTransaction(connection)
                connection.execute("COMMIT")
            except BaseException as error:
                if connection.in_transaction:
                    # If even this fails, the pool drops the connection (still in a transaction).
                    with suppress(sqlite3.Error):
                        connection.execute("ROLLBACK")
                if isinstance(error, sqlite3.Error):
                    raise self._translate(error, what) from error
                raise

    def _read_one(self, sql: str, params: Params, *, what: str) -> Row | None:
        rows = self._read_all(sql, params, what=what)
        return rows[0] if rows else None

    def _read_all(self, sql: str, params: Params, *, what: str) -> list[Row]:
        # One statement outside BEGIN ... COMMIT is its own transaction: one snapshot. Every
        # row is fetched so that the statement finishes and its read lock is released now.
        with self._pool.connection() as connection:
            try:
                rows: list[Row] = connection.execute(sql, params).fetchall()
            except sqlite3.Error as error:
                raise self._translate(error, what) from error
        return rows

    def _reserve_work_seq(self, tx: Transaction, count: int) -> list[int]:
        # Under BEGIN IMMEDIATE no other writer can interleave between these two statements.
        tx.run(self.queries["reserve_work_seq"], {"count": count})
        row = tx.one(self.queries["read_work_seq"], {})
        last = int(row["value"]) if row else count
        return list(range(last - count + 1, last + 1))

    def _translate(self, error: sqlite3.Error, what: str) -> StoreError:
        message = str(error)
        where = f"{self.path} ({self.display_url})"
        if "no such table" in message:
            return SchemaOutOfDate(
                f"{what}: {where} has no statewright schema ({message}); "
                f'run "statewright db migrate --url {self.display_url}"'
            )
        if "locked" in message or "busy" in message:
            return StoreUnavailable(
                f"{what}: {where} stayed locked for {self._options.busy_timeout_ms} ms; another "
                "process holds a long write transaction; retry, or raise ?busy_timeout="
            )
        if isinstance(error, sqlite3.IntegrityError):
            return StoreError(
                f"{what}: the database refused the write ({message}); nothing was written"
            )
        if "unable to open" in message or "disk I/O" in message:
            return StoreUnavailable(f"{what}: {where}: {message}; check the disk and permissions")
        return StoreError(f"{what}: {where}: {message}")


class _SqliteTransaction:
    """`Transaction` over one sqlite3 connection inside BEGIN ... COMMIT."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def one(self, sql: str, params: Params) -> Row | None:
        row: Row | None = self._connection.execute(sql, params).fetchone()
        return row

    def all(self, sql: str, params: Params) -> list[Row]:
        rows: list[Row] = self._connection.execute(sql, params).fetchall()
        return rows

    def run(self, sql: str, params: Params) -> int:
        return self._connection.execute(sql, params).rowcount

    def run_many(self, sql: str, params: Sequence[Params]) -> None:
        self._connection.executemany(sql, params)

    def run_each(self, sql: str, params: Sequence[Params]) -> list[int]:
        execute = self._connection.execute
        return [execute(sql, one).rowcount for one in params]

    def script(self, sql: str) -> None:
        for statement in split_statements(sql):
            self._connection.execute(statement)
