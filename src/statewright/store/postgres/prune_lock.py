"""One pruning run at a time on a PostgreSQL database, from any host: a session advisory
lock (`pruning.sql`: `prune_try_lock`, keyed by the schema, so that schemas of one database
prune apart) held on one pooled connection for the run. The server releases it when that
connection ends, so a killed run never blocks the next."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from statewright.errors import PruneRunning

__all__ = ["prune_advisory_lock"]


@contextmanager
def prune_advisory_lock(
    pool: ConnectionPool[psycopg.Connection[Any]],
    queries: Mapping[str, str],
    url: str,
    errors: Callable[[str], AbstractContextManager[None]],
) -> Iterator[None]:
    """Hold the pruning lock while the block runs; `errors` translates database errors.

    Raises:
        PruneRunning: another run holds it (nothing is changed).
    """
    with errors("taking the pruning lock"), pool.connection() as connection:
        with connection.cursor(row_factory=dict_row) as cursor:
            cursor.execute(queries["prune_try_lock"])
            row = cursor.fetchone()
            if row is None or not row["locked"]:
                cursor.execute(queries["prune_lock_holder"])
                found = cursor.fetchone()
                holder = None if found is None else found["holder"]
                raise PruneRunning(
                    f"another prune is running on {url}"
                    + (f" ({holder})" if holder else "")
                    + "; one run at a time: wait for it to finish, then run again",
                    holder=holder,
                )
        try:
            yield
        finally:
            # If this fails the connection is broken: the server has dropped the lock with it.
            with suppress(psycopg.Error):
                connection.execute(queries["prune_unlock"])
