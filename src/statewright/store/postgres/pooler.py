"""Refuse, at open, a connection pooler in transaction mode between statewright and
PostgreSQL.

The store needs sessions of its own: prepared statements, LISTEN, session advisory locks.
A pooler in transaction (or statement) mode hands each transaction of a client to any of
its server connections, so two clients' prepared statements meet on one server session
and the server refuses the second (`PostgresStore._error` names the setting then). That
shows only when two clients' statements happen to meet, which a process that keeps to one
connection may never do: the check here makes the refusal certain, at open.

It opens two client connections and asks each, in turn, for the server session that runs
its statement (the backend's pid and the server's start time). Directly or through a pooler
in session mode, a client keeps one server session for as long as it is connected, and two
connected clients never share one; through a pooler in transaction mode, a statement runs
on whichever server connection is free (PgBouncer reuses the one used last), so a client's
session changes between statements or is the other client's.
"""

from __future__ import annotations

from typing import Any

import psycopg

__all__ = ["POOLER_FIX", "shares_sessions"]

POOLER_FIX = (
    "a connection pooler in transaction mode (PgBouncer's pool_mode = transaction) seems to "
    "stand between statewright and PostgreSQL, and statewright needs sessions of its own "
    "(prepared statements, LISTEN, advisory locks): set pool_mode = session for this "
    "database, or connect to PostgreSQL directly"
)

#: Turns of asking both connections: one is enough for PgBouncer's default (the server
#: connection used last is used next); more catch a pooler that hands them out in turn.
ROUNDS = 3

_SESSION = "SELECT pg_backend_pid(), pg_postmaster_start_time()"


def shares_sessions(first: psycopg.Connection[Any], second: psycopg.Connection[Any]) -> bool:
    """Whether the statements of two open connections (autocommit) run on server sessions
    that are not theirs alone: a pooler in transaction or statement mode."""
    seen: tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]] = (set(), set())
    for _ in range(ROUNDS):
        for connection, sessions in zip((first, second), seen, strict=True):
            row = connection.execute(_SESSION, prepare=False).fetchone()
            sessions.add(tuple(row or ()))
    return len(seen[0]) > 1 or len(seen[1]) > 1 or bool(seen[0] & seen[1])
