"""What an operator does to a store's schema, by URL, before any engine runs on it:
`migrate_store` (`statewright db migrate`) and `schema_status` (`statewright db status`).

Neither checks the schema on opening, as `Engine.open` does: they are how a database that is
empty or at an older version gets to this version's schema.

On PostgreSQL each migration waits at most `lock_timeout_s` for a lock on a table it changes
(`Store.migrate`): an `ALTER TABLE` queued behind a long transaction, a report's read say,
would otherwise make every other statement on that table queue behind it, and stall every
worker and server on the database. A migration that gives up is rolled back, whole; this
module tries it again, `attempts` times in all, a pause apart, and then raises
`MigrationBlocked` naming the transactions that hold its tables and the fix. SQLite has one
writer at a time and readers never block it: there a migration waits as any write does (the
busy timeout).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from statewright.errors import ForeignDatabase, MigrationBlocked
from statewright.store import open_store
from statewright.store.protocol import SCHEMA_VERSION
from statewright.store.schema import migration_blocked
from statewright.store.url import redact_url

__all__ = [
    "DEFAULT_LOCK_TIMEOUT_S",
    "DEFAULT_MIGRATE_ATTEMPTS",
    "RETRY_PAUSE_S",
    "Migrated",
    "SchemaStatus",
    "migrate_store",
    "schema_status",
]

#: How long (seconds) a migration waits for a lock before it is rolled back and tried again:
#: the longest other statements on the table it changes queue behind it.
DEFAULT_LOCK_TIMEOUT_S = 5.0
#: How many times a migration is tried before `MigrationBlocked`.
DEFAULT_MIGRATE_ATTEMPTS = 3
#: The pause (seconds) between two attempts, in which the statements that queued behind the
#: one given up run.
RETRY_PAUSE_S = 1.0


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    """A store's schema version against the one this statewright needs.

    Attributes:
        url: the store's URL without its password.
        version: the database's schema version (0: no schema).
        needed: the version this statewright needs.
    """

    url: str
    version: int
    needed: int


@dataclass(frozen=True, slots=True)
class Migrated:
    """What `migrate_store` did.

    Attributes:
        url: the store's URL without its password.
        applied: the migrations applied by this call, in order (empty: it was up to date).
        version: the schema version now (newer than `needed`: a newer statewright's).
        needed: the version this statewright needs.
    """

    url: str
    applied: tuple[int, ...]
    version: int
    needed: int


def schema_status(url: str) -> SchemaStatus:
    """The schema version of the store at `url`; a SQLite file is never created.

    Raises:
        ConfigError: the URL is not one of the accepted forms.
        StoreError: no such SQLite file (or folder), or a file that is not a database.
        StoreUnavailable: the database cannot be reached.
    """
    store = open_store(url, create=False)
    try:
        return SchemaStatus(redact_url(url), store.schema_version(), SCHEMA_VERSION)
    finally:
        store.close()


def migrate_store(
    url: str,
    *,
    share: bool = False,
    lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
    attempts: int = DEFAULT_MIGRATE_ATTEMPTS,
    on_blocked: Callable[[MigrationBlocked, int], None] | None = None,
    pause_s: float = RETRY_PAUSE_S,
) -> Migrated:
    """Apply every pending migration to the store at `url` (an empty database gets the
    whole schema); a store already at this version's schema is left as it is.

    Each migration commits on its own; several processes may run this at once. On
    PostgreSQL a migration waits at most `lock_timeout_s` for each lock; one that gives up
    is rolled back, `on_blocked(error, attempt)` is called, and it is tried again after
    `pause_s`, `attempts` times in all.

    Raises:
        ForeignDatabase: the database holds another application's tables and no statewright
            schema, and not `share` (nothing is created).
        MigrationBlocked: a migration gave up `attempts` times; the migrations before it
            stay applied.
        ConfigError: the URL is not one of the accepted forms.
        StoreError: the database failed (a SQLite folder that does not exist, ...).
        StoreUnavailable: the database cannot be reached.
    """
    shown = redact_url(url)
    store = open_store(url)
    try:
        before = store.schema_version()
        tables = [] if share or before else store.foreign_tables()
        if tables:
            raise ForeignDatabase(
                f"{shown} is not a statewright database: it holds tables of another "
                f"application ({', '.join(tables[:3])}); check the URL, or add statewright's "
                'tables beside them ("statewright db migrate --share")',
                tables=tables[:3],
            )
        for attempt in range(1, attempts + 1):
            try:
                store.migrate(lock_timeout_s=lock_timeout_s)
                break
            except MigrationBlocked as blocked:
                if attempt == attempts:
                    version = store.schema_version()
                    raise migration_blocked(
                        blocked.migration,
                        lock_timeout_s,
                        blocked.holders,
                        blocked.pids,
                        attempts=attempts,
                        version=version,
                    ) from None
                if on_blocked is not None:
                    on_blocked(blocked, attempt)
                time.sleep(pause_s)
        after = store.schema_version()
    finally:
        store.close()
    applied = tuple(range(before + 1, min(after, SCHEMA_VERSION) + 1))
    return Migrated(shown, applied, after, SCHEMA_VERSION)
