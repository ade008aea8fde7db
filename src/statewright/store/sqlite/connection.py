"""SQLite connections: opened with the right pragmas, pooled one per concurrent operation.

Threads: a connection is never used by two threads at once. Each operation borrows an idle
connection (or opens one) and gives it back when its transaction ends, so N threads use at
most N connections, readers run side by side under WAL, and writers take turns at SQLite's
write lock, threads and processes alike (`writer_lock.py`; waiting up to `busy_timeout`).
WAL needs shared memory: keep the file on a local disk, not a network share.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from statewright.errors import StoreError
from statewright.store.sqlite.faults import translate
from statewright.store.url import SqliteOptions

__all__ = ["ConnectionPool", "connect", "split_statements"]

#: RETURNING (the store's claims of timers, steps and outbox messages) arrived in 3.35.
MINIMUM_SQLITE = (3, 35, 0)


def connect(options: SqliteOptions, *, url: str) -> sqlite3.Connection:
    """Open a connection in autocommit mode (transactions are explicit) with WAL, the
    busy timeout, the synchronous level and foreign keys on.

    Raises:
        StoreUnavailable: the file cannot be opened for now (locked, an I/O error).
        StoreError: the file cannot be used (a missing folder, no permission, read-only,
            damaged or not a SQLite database), or SQLite is too old.
    """
    if sqlite3.sqlite_version_info < MINIMUM_SQLITE:
        needed = ".".join(map(str, MINIMUM_SQLITE))
        raise StoreError(
            f"SQLite {sqlite3.sqlite_version} (the library Python's sqlite3 module is built with) "
            f"is too old; statewright needs {needed} or newer: run it on a Python whose sqlite3 "
            f"reports a newer sqlite3.sqlite_version, or use PostgreSQL"
        )
    try:
        connection = sqlite3.connect(
            options.path,
            timeout=options.busy_timeout_ms / 1000,
            isolation_level=None,
            check_same_thread=False,  # the pool hands a connection to one thread at a time
        )
    except sqlite3.Error as error:
        raise _opening(options, url, error) from error
    try:
        connection.execute(f"PRAGMA busy_timeout = {int(options.busy_timeout_ms)}")
        _set_wal(connection, options.busy_timeout_ms / 1000)
        connection.execute(f"PRAGMA synchronous = {options.synchronous}")
        connection.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as error:
        connection.close()
        raise _opening(options, url, error) from error
    connection.row_factory = _dict_row
    return connection


def _set_wal(connection: sqlite3.Connection, timeout_s: float) -> None:
    """Switch to WAL, waiting while another connection holds the lock the switch needs.

    SQLite answers SQLITE_BUSY at once here, without its busy handler, when another process
    is opening (or creating) the same new file: so wait for it as `busy_timeout` would.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                raise
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.002)


def _opening(options: SqliteOptions, url: str, error: sqlite3.Error) -> StoreError:
    return translate(
        error,
        what="opening the store",
        path=options.path,
        url=url,
        busy_ms=options.busy_timeout_ms,
    )


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> dict[str, Any]:
    return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}


class ConnectionPool:
    """Idle connections, lent to one operation (so one thread) at a time."""

    def __init__(self, opener: Callable[[], sqlite3.Connection]) -> None:
        self._opener = opener
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    def connection(self) -> AbstractContextManager[sqlite3.Connection]:
        """Borrow a connection for the duration of the block.

        Raises:
            StoreError: the store was closed.
        """
        return _Borrowed(self)

    def _borrow(self) -> sqlite3.Connection:
        with self._lock:
            if self._closed:
                raise StoreError("the store is closed; open a new one")
            connection = self._idle.pop() if self._idle else None
        return self._opener() if connection is None else connection

    def _give_back(self, connection: sqlite3.Connection) -> None:
        with self._lock:
            # A connection left inside a transaction (a failed rollback) is not reused.
            if not self._closed and not connection.in_transaction:
                self._idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        """Close the idle connections; borrowed ones close when given back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


class _Borrowed:
    """`ConnectionPool.connection()`: a class rather than a generator, which costs a few
    microseconds more per use, twice per transition."""

    __slots__ = ("_connection", "_pool")

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def __enter__(self) -> sqlite3.Connection:
        self._connection = self._pool._borrow()
        return self._connection

    def __exit__(self, *exc: object) -> None:
        self._pool._give_back(self._connection)


def split_statements(script: str) -> Iterator[str]:
    """The statements of an SQL script, one at a time (comments stay with the next one).

    `executescript` would commit the open transaction first; running the statements one by
    one keeps a migration inside its transaction.

    Raises:
        ValueError: the script ends in the middle of a statement.
    """
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            yield buffer.strip()
            buffer = ""
    rest = [
        line for line in buffer.splitlines() if line.strip() and not line.strip().startswith("--")
    ]
    if rest:
        raise ValueError(f"the SQL script ends inside a statement: {' '.join(rest)[:200]!r}")
