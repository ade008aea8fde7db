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

import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from pathlib import Path

from statewright.errors import StoreError, StoreUnavailable
from statewright.store.fast_params import is_quiet
from statewright.store.partitions import UnpartitionedAudit
from statewright.store.records import TransitionWrite
from statewright.store.sql_files import include_queries, load_migrations, load_queries
from statewright.store.sql_store import SqlStore, committing
from statewright.store.sqlite.connection import ConnectionPool, connect, split_statements
from statewright.store.sqlite.faults import (
    WriteFault,
    busy,
    file_gone,
    lasting_write_fault,
    missing_file,
    translate,
)
from statewright.store.sqlite.prune_lock import prune_file_lock
from statewright.store.sqlite.quiet import QuietStatements
from statewright.store.sqlite.wakeup import WakeChannel
from statewright.store.sqlite.writer_lock import WriterBusy, WriterLock
from statewright.store.transaction import Params, Row, Transaction
from statewright.store.url import SqliteOptions

__all__ = ["SqliteStore"]

_PACKAGE = "statewright.store.sqlite"
#: A read's turn: none (readers run side by side under WAL).
_NO_TURN = nullcontext()
#: How often (seconds) a write looks whether the file at the store's path is still the file
#: its connections hold (`SqliteStore._check_file`): one `stat` a second, not one per write.
#: A file deleted or replaced under a running process is then refused within a second;
#: `check_writes` (the API's readiness) looks at once.
FILE_RECHECK_S = 1.0


class SqliteStore(UnpartitionedAudit, SqlStore):
    """The store in one SQLite file; safe for many threads and processes on one host.

    Open it with `statewright.store.open_store("sqlite:///path.db")`. Each concurrent
    operation borrows its own connection (see `connection.py`).
    """

    queries = include_queries(load_queries(_PACKAGE))
    operations = load_queries(_PACKAGE, "operations.sql")
    token_queries = load_queries(_PACKAGE, "tokens.sql")
    stream_queries = load_queries(_PACKAGE, "stream.sql")
    prune_queries = load_queries(_PACKAGE, "pruning.sql")
    migrations = load_migrations(_PACKAGE)
    _quiet = QuietStatements(queries)

    def __init__(
        self, options: SqliteOptions, *, url: str | None = None, create: bool = True
    ) -> None:
        """Open the database file (created if missing and `create`, in a folder that must
        exist); the schema is not touched.

        Raises:
            StoreUnavailable: the file cannot be opened for now (locked, an I/O error).
            StoreError: no such file (and not `create`), a missing folder, or a file that
                cannot be used (not a SQLite database, damaged, no permission).
        """
        self.url = url if url is not None else f"sqlite:///{options.path}"
        self.path = options.path
        self._options = options
        if not create and (missing := missing_file(options.path, self.display_url)):
            raise missing
        #: The file's (device, inode) when the first connection opened it; None before.
        self._file_id: tuple[int, int] | None = None
        #: `time.monotonic()` at which the next write looks at the file again.
        self._file_check_at = 0.0
        #: The last write that failed for a lasting reason (disk full, read-only, I/O
        #: error), until a write succeeds: `check_writes` reports it.
        self._write_fault: WriteFault | None = None
        self._pool = ConnectionPool(self._connect)
        with self._pool.connection():
            pass  # open one connection now, so that a bad path fails here
        self._file_id = _identity(options.path)
        self._file_check_at = time.monotonic() + FILE_RECHECK_S
        self._writer = WriterLock(options.path, options.busy_timeout_ms / 1000)
        self._wakeups = WakeChannel(Path(options.path))

    def _connect(self) -> sqlite3.Connection:
        """A new connection for the pool: refused once the file at the path is no longer
        the one the store opened (sqlite3 would otherwise create a new, empty one there)."""
        if self._file_id is not None and (gone := self._file_fault()):
            raise gone
        return connect(self._options, url=self.display_url)

    def _file_fault(self) -> StoreError | None:
        """Why the file at the store's path is not the one its connections hold (deleted,
        or replaced by another file); None while it is."""
        try:
            found: tuple[int, int] | None = _identity(self.path)
        except FileNotFoundError:
            found = None
        except OSError:
            return None  # cannot tell (the folder unreadable): the writes say what fails
        if found == self._file_id:
            return None
        return file_gone(self.path, self.display_url, replaced=found is not None)

    def _check_file(self) -> None:
        """Refuse a write when the file was deleted or replaced (looked at every
        FILE_RECHECK_S, then on every write once it was): a write committed into a file
        that is no longer at the path is lost when this process ends.

        Raises:
            StoreError: naming the path and the fix (restore the file, restart).
        """
        fault = self._file_fault()
        if fault is not None:
            self._file_check_at = 0.0  # look again on every write
            raise fault
        self._file_check_at = time.monotonic() + FILE_RECHECK_S

    def _before_write(self) -> None:
        if time.monotonic() >= self._file_check_at:
            self._check_file()
        super()._before_write()

    def check_writes(self) -> None:
        """Check that the store can take writes now (the API's readiness): the file at the
        path is the one the connections hold, and no write failed for a lasting reason
        since the last one that succeeded; while one had, a small write (the header's
        `user_version`, set to itself) tries again, so that freed space or a remount is
        seen without other traffic.

        Raises:
            StoreError: the file was deleted or replaced, or writes fail for a lasting
                reason (read-only, damaged), naming the fix.
            StoreUnavailable: writes fail for now (the disk is full, an I/O error).
        """
        self._check_file()
        if self._write_fault is None:
            return
        what = "checking that the store takes writes"
        with suppress(StoreError), self._transaction(write=True, what=what) as tx:
            row = tx.one("PRAGMA user_version", {})
            version = int(next(iter(row.values()))) if row else 0
            tx.run(f"PRAGMA user_version = {version}", {})
        fault = self._write_fault
        if fault is not None:
            raise fault.reported()

    def _remember_write_fault(self, error: sqlite3.Error, translated: StoreError) -> None:
        if cause := lasting_write_fault(error):
            self._write_fault = WriteFault(translated, cause, time.time())

    def close(self) -> None:
        """Close every connection; the store cannot be used afterwards."""
        self._wakeups.close()
        self._pool.close()
        self._writer.close()

    def wait_for_work(self, timeout_s: float) -> bool:
        """Return when another process (or thread) committed new work on this file (True),
        or after `timeout_s` (wake-ups are best-effort, see `wakeup.py`)."""
        return self._wakeups.wait(timeout_s)

    def _work_committed(self) -> None:
        self._wakeups.notify()

    def _prune_lock(self) -> AbstractContextManager[None]:
        return prune_file_lock(self.path, self.display_url)

    def wait_for_commits(self, timeout_s: float) -> bool:
        """Wait `timeout_s` (False): live streams on SQLite poll the audit table, one
        cheap read of its largest cursor per look."""
        time.sleep(max(0.0, timeout_s))
        return False

    @contextmanager
    def _transaction(self, *, write: bool, what: str) -> Iterator[Transaction]:
        with self._pool.connection() as connection, self._within(connection, write, what) as tx:
            yield tx

    @contextmanager
    def _prune_transaction(self, what: str) -> Iterator[Transaction]:
        # A removal by `prune` commits without waiting for the disk (sql_pruning.py): WAL
        # keeps it atomic, and one lost to a power cut comes back whole. The level cannot
        # change inside a transaction, so it is set around it, and set back.
        with self._pool.connection() as connection:
            connection.execute("PRAGMA synchronous = NORMAL")
            try:
                with self._within(connection, True, what) as tx:
                    yield tx
            finally:
                if not connection.in_transaction:
                    connection.execute(f"PRAGMA synchronous = {self._options.synchronous}")

    @contextmanager
    def _within(
        self, connection: sqlite3.Connection, write: bool, what: str
    ) -> Iterator[Transaction]:
        """One transaction on `connection`: committed on success, rolled back on any error,
        SQLite's errors translated (their message starting with `what`). A write holds its
        turn (`writer_lock.py`) from `BEGIN IMMEDIATE` to its end."""
        if write:
            self._before_write()
        try:
            with self._writer if write else _NO_TURN:
                try:
                    connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                    yield _SqliteTransaction(connection)
                    connection.execute("COMMIT")
                    if write:
                        self._write_fault = None
                except BaseException as error:
                    if connection.in_transaction:
                        # If even this fails, the pool drops the connection (still in a
                        # transaction).
                        with suppress(sqlite3.Error):
                            connection.execute("ROLLBACK")
                    if isinstance(error, sqlite3.Error):
                        translated = self._translate(error, what)
                        if write:
                            self._remember_write_fault(error, translated)
                        raise translated from error
                    raise
        except WriterBusy:
            raise self._busy(what) from None

    def _commit_alone(
        self,
        writes: Sequence[TransitionWrite],
        before_commit: Callable[[], None] | None = None,
    ) -> bool:
        """Quiet transitions (`fast_params.is_quiet`), one or a group's, straight on the
        connection: `BEGIN IMMEDIATE`, each write's quiet update (the one that leaves the
        state value alone when it stays the same, so that the state index's triggers do not
        start), the audit inserts, `before_commit` (if given), `COMMIT`, with positional
        values (`quiet.py`); the statements of the general path, without its layers. False,
        having written nothing, when an update matches no row or SQLite refuses a statement:
        the general path then runs and finds out why."""
        if not writes or not all(map(is_quiet, writes)):
            return False
        self._before_write()
        quiet = self._quiet
        update_values, audit_values = quiet.update_values, quiet.audit_values
        try:
            with self._pool.connection() as connection, self._writer:
                cursor = connection.cursor()  # one cursor for every statement
                execute = cursor.execute
                try:
                    execute("BEGIN IMMEDIATE")
                    for write in writes:
                        same_value = write.instance.value == write.audit.from_value
                        update = quiet.update_same_value if same_value else quiet.update
                        if execute(update, update_values(write)).rowcount != 1:
                            execute("ROLLBACK")
                            return False
                    if len(writes) == 1:
                        execute(quiet.insert_audit, audit_values(writes[0].audit))
                    else:
                        audits = [audit_values(write.audit) for write in writes]
                        cursor.executemany(quiet.insert_audit, audits)
                    if before_commit is not None:
                        before_commit()
                    execute("COMMIT")
                    self._write_fault = None
                except sqlite3.Error as error:
                    if connection.in_transaction:
                        with suppress(sqlite3.Error):  # else the pool drops the connection
                            execute("ROLLBACK")
                    translated = self._translate(error, committing(writes))
                    if isinstance(translated, StoreUnavailable):
                        self._remember_write_fault(error, translated)
                        raise translated from error
                    return False
                except BaseException:
                    if connection.in_transaction:
                        with suppress(sqlite3.Error):
                            execute("ROLLBACK")
                    raise
        except WriterBusy:
            raise self._busy(committing(writes)) from None
        return True

    def _busy(self, what: str) -> StoreUnavailable:
        return busy(
            what, path=self.path, url=self.display_url, busy_ms=self._options.busy_timeout_ms
        )

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

    def check(self) -> None:
        """Check, before a worker claims anything, that the file is intact (`PRAGMA
        quick_check`, given at most `QUICK_CHECK_S`), writable, and at this version's
        schema.

        Raises:
            StoreError: the file is damaged, read-only or not statewright's.
            SchemaOutOfDate: the schema is not this version's.
            StoreUnavailable: the file is locked or cannot be read for now.
        """
        with self._pool.connection() as connection:
            try:
                _quick_check(connection, self.path, self.display_url)
                with self._writer:
                    connection.execute("BEGIN IMMEDIATE")  # the write lock: fails if read-only
                    connection.execute("CREATE TABLE statewright_write_check (x)")
                    connection.execute("ROLLBACK")
            except WriterBusy:
                raise self._busy("checking the database") from None
            except sqlite3.Error as error:
                if connection.in_transaction:
                    with suppress(sqlite3.Error):
                        connection.execute("ROLLBACK")
                raise self._translate(error, "checking the database") from error
        super().check()

    def _translate(self, error: sqlite3.Error, what: str) -> StoreError:
        return translate(
            error,
            what=what,
            path=self.path,
            url=self.display_url,
            busy_ms=self._options.busy_timeout_ms,
        )


#: The longest a worker's start-up integrity check may take; a larger file is checked in
#: part (the check stops there and the worker starts).
QUICK_CHECK_S = 2.0


def _quick_check(connection: sqlite3.Connection, path: str, url: str) -> None:
    """`PRAGMA quick_check(1)`, interrupted after QUICK_CHECK_S (then taken as passed)."""
    deadline = time.monotonic() + QUICK_CHECK_S
    connection.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    try:
        row = connection.execute("PRAGMA quick_check(1)").fetchone()
    except sqlite3.OperationalError as error:
        if "interrupted" in str(error):
            return
        raise
    finally:
        connection.set_progress_handler(None, 0)
    # On one line: SQLite reports the damage over several ("*** in database main ***\n...").
    found = " ".join(str(next(iter(row.values()))).split()) if row else "ok"
    if found != "ok":
        raise StoreError(
            f"{path} ({url}) is damaged ({found}); stop the workers and restore it from a "
            f"backup (or salvage it: sqlite3 {path} .recover)"
        )


def _identity(path: str) -> tuple[int, int]:
    """The (device, inode) of the file at `path`.

    Raises:
        OSError: it cannot be looked at (FileNotFoundError: there is none).
    """
    found = os.stat(path)
    return found.st_dev, found.st_ino


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
