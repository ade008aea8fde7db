"""The schema operations both stores share: version, migrations, first creation, checks.

- `migrate()` applies each pending migration in its own transaction under the migration
  lock (PostgreSQL: an advisory lock; SQLite: `BEGIN IMMEDIATE`, its single write lock).
  With `lock_timeout_s` (PostgreSQL), a migration waits at most that long for each lock on
  a table it changes: an `ALTER TABLE` queued behind a long transaction (a report's read)
  would otherwise make every other reader and writer of that table queue behind it. On
  the timeout it is rolled back and `MigrationBlocked` names the transactions holding
  locks on its tables (`_lock_holders`).
- `create_schema()` gives an EMPTY database the whole schema in ONE transaction, under the
  same lock, so that several processes opening a new database at once never see it half
  made: the first creates it, the others wait for the lock and then find it complete.
- `foreign_tables()` names the tables of a database that holds no statewright schema, so
  that opening another application's database is refused rather than mixed into.
- `check()` is what a worker runs before it claims anything: the schema is this version's
  (and, in the SQLite store, the file is intact and writable).
- `watch_schema()`, armed by `open_schema`, makes a long-running process notice a schema
  it no longer matches: a newer statewright's `db migrate` run while this one serves (a
  rolling upgrade). Before a write, at most every `SCHEMA_RECHECK_S`, the store reads the
  version again; once it is not this version's, every write is refused with
  `SchemaOutOfDate` naming both versions (a worker stops on it, exit status 5; the HTTP API
  answers 503), so that an old process never writes rows a newer schema does not expect
  (an audit row without its stream cursor, say) for longer than that.
"""

from __future__ import annotations

import re
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, ClassVar

from statewright.errors import (
    ForeignDatabase,
    MigrationBlocked,
    SchemaOutOfDate,
    StoreError,
    StoreUnavailable,
)
from statewright.store.protocol import SCHEMA_VERSION
from statewright.store.sql_files import Migration
from statewright.store.transaction import Transaction
from statewright.store.url import redact_url

if TYPE_CHECKING:
    from statewright.store.protocol import Store

__all__ = [
    "SCHEMA_RECHECK_S",
    "LockWaitTimedOut",
    "SchemaOps",
    "migration_blocked",
    "open_schema",
    "schema_mismatch",
]

#: How often (seconds) a process that opened the store re-reads the schema version before
#: a write (`SchemaOps.watch_schema`): one read a second, the longest an old process can
#: go on writing after a newer statewright migrated the database.
SCHEMA_RECHECK_S = 1.0


class LockWaitTimedOut(StoreUnavailable):
    """A statement gave up waiting for a lock (PostgreSQL's `lock_timeout`): the backend
    raises it, `migrate` turns it into `MigrationBlocked`."""


class SchemaOps(ABC):
    """Schema operations over a backend's queries and migrations (mixed into `SqlStore`)."""

    queries: ClassVar[Mapping[str, str]]
    migrations: ClassVar[tuple[Migration, ...]]
    url: str
    #: `time.monotonic()` at which the next write re-reads the schema version; None while
    #: the schema is not watched (a store opened without `open_schema`, e.g. to migrate).
    _schema_recheck_at: float | None = None

    @abstractmethod
    def _transaction(self, *, write: bool, what: str) -> AbstractContextManager[Transaction]:
        """One transaction (see `SqlStore`)."""

    def _lock(self, tx: Transaction, query: str, params: Mapping[str, object]) -> None:
        """Take an advisory lock named by `query`, where the backend has one."""
        if query in self.queries:
            tx.one(self.queries[query], params)

    def schema_version(self) -> int:
        """The applied schema version; 0 for an empty database."""
        with self._transaction(write=False, what="reading the schema version") as tx:
            return self._schema_version(tx)

    def migrate(self, *, lock_timeout_s: float | None = None) -> list[int]:
        """Apply every pending migration, in order, each in its own transaction.

        Safe to run from several processes at once: each migration is applied once.
        `lock_timeout_s` (PostgreSQL; None: wait as long as it takes): the longest a
        migration waits for a lock on a table, once it holds the migration lock.

        Returns:
            The versions applied (empty if up to date).

        Raises:
            MigrationBlocked: a migration waited `lock_timeout_s` for a lock; it was rolled
                back (the ones before it stay applied), naming who holds its tables.
        """
        applied: list[int] = []
        for migration in self.migrations:
            what = f"applying migration {migration.version:04d}_{migration.name}"
            try:
                with self._transaction(write=True, what=what) as tx:
                    self._lock(tx, "lock_migrations", {})
                    if self._schema_version(tx) >= migration.version:
                        continue
                    if lock_timeout_s is not None:
                        self._limit_lock_wait(tx, lock_timeout_s)
                    self._apply(tx, migration)
            except LockWaitTimedOut:
                if lock_timeout_s is None:
                    raise
                raise self._blocked(migration, lock_timeout_s) from None
            applied.append(migration.version)
        return applied

    def _limit_lock_wait(self, tx: Transaction, lock_timeout_s: float) -> None:
        """Make the rest of this transaction wait at most `lock_timeout_s` for a lock,
        where the backend can (PostgreSQL: `SET LOCAL lock_timeout`)."""
        if "lock_wait_limit" in self.queries:
            timeout = f"{max(1, round(lock_timeout_s * 1000))}ms"
            tx.one(self.queries["lock_wait_limit"], {"timeout": timeout})

    def _lock_holders(self, tables: list[str], waited_s: float) -> Sequence[Mapping[str, object]]:
        """The transactions that hold a lock on one of `tables` and began at least
        `waited_s` ago (so before a lock wait of that long), where the backend can tell."""
        return []

    def _blocked(self, migration: Migration, waited_s: float) -> MigrationBlocked:
        """The error for `migration`, given up after waiting `waited_s` for a lock: it names
        each transaction holding a lock on a table the migration names, and the fix."""
        name = f"{migration.version:04d}_{migration.name}"
        words = sorted(set(re.findall(r"[a-z_][a-z0-9_]*", migration.sql.lower())))
        try:
            rows = self._lock_holders(words, waited_s)
        except StoreError:
            rows = []  # the holders cannot be read: the error still says what happened
        holders = [_describe_holder(row) for row in rows]
        pids = list(dict.fromkeys(int(str(row["pid"])) for row in rows))
        return migration_blocked(name, waited_s, holders, pids)

    def create_schema(self) -> int:
        """Give an empty database the whole schema, in one transaction under the migration
        lock; a database that has a schema (made meanwhile by another process, whose
        creation this waited for) is left alone. Returns the schema version found or made.
        """
        with self._transaction(write=True, what="creating the schema") as tx:
            self._lock(tx, "lock_migrations", {})
            found = self._schema_version(tx)
            if found:
                return found
            for migration in self.migrations:
                self._apply(tx, migration)
        return self.migrations[-1].version if self.migrations else 0

    def foreign_tables(self) -> list[str]:
        """The tables (a few, by name) of a database without a statewright schema: empty
        for an empty database or one of statewright's."""
        with self._transaction(write=False, what="reading the list of tables") as tx:
            tables = [str(row["name"]) for row in tx.all(self.queries["list_tables"], {})]
            # Then the schema (a later look, on PostgreSQL): tables another process's schema
            # creation committed after that first look are seen with their schema_migrations.
            if not tables or self._schema_version(tx):
                return []
            return tables

    def check(self) -> None:
        """Check that a worker can use this database now, before it claims anything.

        Raises:
            SchemaOutOfDate: the schema is not this version's (or there is none).
            StoreError: the database is not statewright's (or, SQLite, is damaged or
                read-only).
            StoreUnavailable: the database cannot be reached (try again later).
        """
        open_schema(self, create=False, share=False)  # type: ignore[arg-type]

    def server_clock_ms(self) -> int | None:
        """The database server's clock (ms since the Unix epoch), for a store on another
        host; None here (SQLite: the file is on this host, its processes share its clock)."""
        return None

    def check_writes(self) -> None:
        """Check that the store can take writes now (readiness): the SQLite store looks at
        its file and at the last failed write; here (PostgreSQL) readiness is the read of
        the schema version alone."""
        return None

    def watch_schema(self) -> None:
        """From now on, refuse writes once the schema is no longer this version's (checked
        before a write, at most every `SCHEMA_RECHECK_S`); `open_schema` calls it."""
        self._schema_recheck_at = time.monotonic() + SCHEMA_RECHECK_S

    def _before_write(self) -> None:
        """Called before every write: re-read the schema version when it is time.

        Raises:
            SchemaOutOfDate: the schema is no longer this version's (nothing is written).
        """
        recheck_at = self._schema_recheck_at
        if recheck_at is not None and time.monotonic() >= recheck_at:
            self._recheck_schema()

    def _recheck_schema(self) -> None:
        # The next write looks again in a second, however this look ends (also when it
        # fails: the write itself then meets the same outage and says so).
        self._schema_recheck_at = time.monotonic() + SCHEMA_RECHECK_S
        found = self.schema_version()
        if found != SCHEMA_VERSION:
            self._schema_recheck_at = time.monotonic()  # refuse every write from now on
            raise schema_mismatch(redact_url(self.url), found, running=True)

    def _apply(self, tx: Transaction, migration: Migration) -> None:
        tx.script(migration.sql)
        tx.run(
            self.queries["record_migration"],
            {"version": migration.version, "applied_at": time.time_ns() // 1_000_000},
        )

    def _schema_version(self, tx: Transaction) -> int:
        exists = tx.one(self.queries["schema_table_exists"], {})
        if not exists or not exists["found"]:
            return 0
        row = tx.one(self.queries["schema_version"], {})
        return int(row["version"]) if row else 0


def open_schema(store: Store, *, create: bool, share: bool) -> int:
    """Make sure `store` holds this version's schema; returns it.

    An empty database gets the schema when `create` (once, however many processes open it at
    once). A database that holds another application's tables and no statewright schema is
    refused unless `share` (the schema is then created beside those tables).

    Raises:
        ForeignDatabase: another application's database, and not `share`.
        SchemaOutOfDate: the schema is older or newer than this version's (or there is
            none and not `create`).
    """
    found = store.schema_version()
    shown = redact_url(store.url)
    if found == 0:
        tables = store.foreign_tables()
        if tables and not share:
            raise ForeignDatabase(
                f"{shown} is not a statewright database: it holds tables of another "
                f"application ({', '.join(tables[:3])}); check the URL, or add "
                "statewright's tables beside them: Engine.open(url, share=True) or "
                '"statewright db migrate --share"',
                tables=tables[:3],
            )
        if create:
            found = store.create_schema()
    if found != SCHEMA_VERSION:
        raise schema_mismatch(shown, found)
    store.watch_schema()
    return found


def schema_mismatch(shown: str, found: int, *, running: bool = False) -> SchemaOutOfDate:
    """The error for the database `shown` (a URL without its password) at schema `found`,
    not this version's: it names both versions and the fix. `running`: found by a process
    that had opened the database at this version's schema (it was migrated meanwhile)."""
    if found < SCHEMA_VERSION:
        return SchemaOutOfDate(
            f"{shown} is at schema {found} and this version needs {SCHEMA_VERSION}; "
            f'run "statewright db migrate --url {shown}"',
            found=found,
            needed=SCHEMA_VERSION,
        )
    if running:
        return SchemaOutOfDate(
            f"{shown} is now at schema {found}, newer than this version's {SCHEMA_VERSION}: "
            "a newer statewright migrated it while this process ran; nothing was written; "
            "restart this process with the upgraded statewright",
            found=found,
            needed=SCHEMA_VERSION,
        )
    return SchemaOutOfDate(
        f"{shown} is at schema {found}, newer than this version's {SCHEMA_VERSION}: a newer "
        "statewright migrated it; upgrade statewright here too (pip install --upgrade "
        "statewright) and start this process again; this version writes nothing to it",
        found=found,
        needed=SCHEMA_VERSION,
    )


def migration_blocked(
    name: str,
    waited_s: float,
    holders: Sequence[str],
    pids: Sequence[int],
    *,
    attempts: int = 1,
    version: int | None = None,
) -> MigrationBlocked:
    """The error for the migration `name` given up `attempts` times after waiting `waited_s`
    for a lock, with the database left at schema `version` (where known): it names each of
    the `holders` (lines of `_describe_holder`, of the transactions `pids`) and the fix."""
    tries = "" if attempts == 1 else f" {attempts} times"
    each = "" if attempts == 1 else " each time"
    left = "" if version is None else f"; the database stays at schema {version}"
    if holders:
        held = "; ".join(holders)
        fix = (
            "end that transaction (commit or roll it back in its application, or "
            f"SELECT pg_terminate_backend({pids[0]}) if it is stuck)"
            if len(pids) == 1
            else "end those transactions (commit or roll them back in their applications, "
            "or pg_terminate_backend(pid) the stuck ones)"
        )
        fix += ', then run "statewright db migrate" again'
    else:
        held = "no transaction holds a lock on its tables any more (it has ended)"
        fix = 'run "statewright db migrate" again now'
    return MigrationBlocked(
        f"migration {name} waited {waited_s:g} s for a lock on its tables{tries} and was "
        f"rolled back{each}{left}; {held}. Fix: {fix}; or let it wait longer (--lock-timeout)",
        migration=name,
        holders=holders,
        pids=pids,
    )


def _describe_holder(row: Mapping[str, object]) -> str:
    """One line for a transaction holding a lock (a row of `_lock_holders`): who, on what,
    doing what, since when."""
    now_ms = int(str(row["now_ms"]))
    began_ms = int(str(row["xact_start_ms"]))
    query = " ".join(str(row["query"] or "").split())
    query = query if len(query) <= 120 else query[:117] + "..."
    who = f"pid {row['pid']}"
    if row.get("application_name"):
        who += f" ({row['application_name']})"
    state = str(row["state"] or "unknown state")
    line = (
        f"{who} holds {row['relation']} ({row['mode']}), {state}, its transaction started "
        f"{_utc(began_ms)} ({(now_ms - began_ms) / 1000:.0f} s ago)"
    )
    if row.get("query_start_ms") is not None:
        line += f", its last query started {_utc(int(str(row['query_start_ms'])))}"
    return line + (f": {query}" if query else "")


def _utc(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ms / 1000))
