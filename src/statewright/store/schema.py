"""The schema operations both stores share: version, migrations, first creation, checks.

- `migrate()` applies each pending migration in its own transaction under the migration
  lock (PostgreSQL: an advisory lock; SQLite: `BEGIN IMMEDIATE`, its single write lock).
- `create_schema()` gives an EMPTY database the whole schema in ONE transaction, under the
  same lock, so that several processes opening a new database at once never see it half
  made: the first creates it, the others wait for the lock and then find it complete.
- `foreign_tables()` names the tables of a database that holds no statewright schema, so
  that opening another application's database is refused rather than mixed into.
- `check()` is what a worker runs before it claims anything: the schema is this version's
  (and, in the SQLite store, the file is intact and writable).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, ClassVar

from statewright.errors import SchemaOutOfDate, StoreError
from statewright.store.protocol import SCHEMA_VERSION
from statewright.store.sql_files import Migration
from statewright.store.transaction import Transaction
from statewright.store.url import redact_url

if TYPE_CHECKING:
    from statewright.store.protocol import Store

__all__ = ["SchemaOps", "open_schema"]


class SchemaOps(ABC):
    """Schema operations over a backend's queries and migrations (mixed into `SqlStore`)."""

    queries: ClassVar[Mapping[str, str]]
    migrations: ClassVar[tuple[Migration, ...]]
    url: str

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

    def migrate(self) -> list[int]:
        """Apply every pending migration, in order, each in its own transaction.

        Safe to run from several processes at once: each migration is applied once.

        Returns:
            The versions applied (empty if up to date).
        """
        applied: list[int] = []
        for migration in self.migrations:
            what = f"applying migration {migration.version:04d}_{migration.name}"
            with self._transaction(write=True, what=what) as tx:
                self._lock(tx, "lock_migrations", {})
                if self._schema_version(tx) >= migration.version:
                    continue
                self._apply(tx, migration)
            applied.append(migration.version)
        return applied

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
        StoreError: another application's database, and not `share`.
        SchemaOutOfDate: the schema is older or newer than this version's (or there is
            none and not `create`).
    """
    found = store.schema_version()
    shown = redact_url(store.url)
    if found == 0:
        tables = store.foreign_tables()
        if tables and not share:
            raise StoreError(
                f"{shown} is not a statewright database: it holds tables of another "
                f"application ({', '.join(tables[:3])}); check the URL, or add "
                "statewright's tables beside them: Engine.open(url, share=True) or "
                '"statewright db migrate --share"'
            )
        if create:
            found = store.create_schema()
    if found < SCHEMA_VERSION:
        raise SchemaOutOfDate(
            f"{shown} is at schema {found} and this version needs {SCHEMA_VERSION}; "
            f'run "statewright db migrate --url {shown}"'
        )
    if found > SCHEMA_VERSION:
        raise SchemaOutOfDate(
            f"{shown} is at schema {found}, newer than this version's {SCHEMA_VERSION}; "
            "upgrade statewright"
        )
    return found
