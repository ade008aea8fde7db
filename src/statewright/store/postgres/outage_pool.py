"""The store's connection pool: psycopg's, waiting for a connection only briefly while its
server is known to be away.

psycopg's pool makes a caller wait up to its `timeout` (10 s) for a connection, which is
right when every connection is busy, and wrong when the server is down: then every request
of the API, and its health probe, would hang 10 s before its 503. Once the store has found
the server away (a connection lost, or none made: `PostgresStore._errors`), it sets `away`,
and callers wait at most `AWAY_WAIT_S` until a connection is given again, which clears it.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

__all__ = ["AWAY_WAIT_S", "OutagePool"]

#: Seconds a caller waits for a connection while the server is known to be away.
AWAY_WAIT_S = 1.0


class OutagePool(ConnectionPool[psycopg.Connection[Any]]):
    """`ConnectionPool` with an `away` flag: set, a caller that names no timeout waits
    `AWAY_WAIT_S` instead of the pool's."""

    away: bool = False

    def getconn(self, timeout: float | None = None) -> psycopg.Connection[Any]:
        """A connection, as `ConnectionPool.getconn`; the server is no longer away."""
        if timeout is None and self.away:
            timeout = AWAY_WAIT_S
        connection = super().getconn(timeout)
        self.away = False
        return connection
