"""Which plans the store's connections use: generic ones, made once per prepared statement,
except while a table the server has not analyzed yet is growing.

psycopg prepares the statements a connection runs, and the store asks for one generic plan
per statement (`force_generic_plan`): every statement looks rows up by key, and planning
the larger ones anew on each run costs more than running them. But a generic plan is made
from the table's size as the planner sees it then. On a new database, whose tables the
server has not analyzed yet, that is a near-empty table, on which a lookup by the primary
key (`tenant = $1 AND id = $2`) and an index scan of a list index on `tenant` cost the
same; the plan may pick the list index and keep it while the table grows, every lookup
then reading all of the tenant's rows, until autovacuum's first ANALYZE (up to a minute
after the first rows, or never where autovacuum is off) makes the connections plan again.
Measured (`benchmarks/fresh_database.py`): a store starting and sending on a new database
slowed from 850 to 240 starts a second within a minute, then sped up four times at the
ANALYZE.

So the store looks, at most every `LOOK_EVERY_S` and on a connection it hands out, for
tables whose rows grow with use (and audit partitions) that are not analyzed yet and have
grown past the planner's ten-page assumption. It analyzes those itself, as autovacuum
would within the minute (`SKIP_LOCKED`: a table being analyzed or vacuumed is left alone;
a table this role does not own is skipped with a warning in the server's log). A table
still unanalyzed after that makes the connections plan each run (`force_custom_plan`), each
plan then seeing the table's present size, until it is analyzed. A connection whose setting
differs from the store's is set again when it is next handed out. The store stops looking
once every such table has been analyzed. On PostgreSQL 13 and earlier a table never
analyzed cannot be told from an empty one: connections keep generic plans there.
"""

from __future__ import annotations

import contextlib
import threading
import time
import weakref
from typing import Any

import psycopg

from statewright.store.sql_files import load_queries

__all__ = ["LOOK_EVERY_S", "PlanChoice"]

#: At most this often the store looks whether a table is growing unanalyzed.
LOOK_EVERY_S = 5.0
GENERIC = "force_generic_plan"
CUSTOM = "force_custom_plan"
_UNANALYZED = load_queries("statewright.store.postgres", "planning.sql")["unanalyzed_tables"]


class PlanChoice:
    """The pool's `configure` and `check` callbacks: sets each connection's
    `plan_cache_mode` to the store's present choice (see the module's text)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mode = CUSTOM  # until the first look says otherwise
        self._settled = False  # every table analyzed: no more looks
        self._look_at = 0.0
        self._modes: weakref.WeakKeyDictionary[psycopg.Connection[Any], str] = (
            weakref.WeakKeyDictionary()
        )

    def configure(self, connection: psycopg.Connection[Any]) -> None:
        """Set a new connection up (before the pool hands it out)."""
        with contextlib.suppress(psycopg.Error):
            self._look(connection)
        self._set(connection, self._mode)

    def check(self, connection: psycopg.Connection[Any]) -> None:
        """Called as the pool hands `connection` out: look when it is time, and set the
        connection's mode if it is not the store's. A failure here is left for the
        operation that follows, which meets the same fault and reports it."""
        if self._settled and not self._modes:
            return
        with contextlib.suppress(psycopg.Error):
            if not self._settled and time.monotonic() >= self._look_at:
                self._look(connection)
            if self._modes.get(connection, GENERIC) != self._mode:
                self._set(connection, self._mode)

    def _look(self, connection: psycopg.Connection[Any]) -> None:
        with self._lock:
            if self._settled or time.monotonic() < self._look_at:
                return
            self._look_at = time.monotonic() + LOOK_EVERY_S
        made, unanalyzed, grown = self._unanalyzed(connection)
        if grown:
            # As autovacuum would within its next minute; a table another session is
            # analyzing (or vacuuming) is skipped, and one this role does not own is
            # skipped with a warning to the server's log: it is planned each run until then.
            with contextlib.suppress(psycopg.Error):
                connection.execute(f"ANALYZE (SKIP_LOCKED) {', '.join(grown)}", prepare=False)
            made, unanalyzed, grown = self._unanalyzed(connection)
        self._mode = CUSTOM if grown else GENERIC
        self._settled = made and unanalyzed == 0

    @staticmethod
    def _unanalyzed(connection: psycopg.Connection[Any]) -> tuple[bool, int, list[str]]:
        row = connection.execute(_UNANALYZED, prepare=False).fetchone()
        return (bool(row[0]), int(row[1]), list(row[2])) if row else (False, 0, [])

    def _set(self, connection: psycopg.Connection[Any], mode: str) -> None:
        connection.execute(f"SET plan_cache_mode = {mode}", prepare=False)
        with self._lock:
            if mode == GENERIC:
                self._modes.pop(connection, None)
            else:
                self._modes[connection] = mode
