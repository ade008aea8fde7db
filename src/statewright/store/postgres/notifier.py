"""Wake-ups for PostgreSQL workers: `NOTIFY statewright_work`, sent beside the commits.

PostgreSQL serializes the commits of transactions that NOTIFY (a lock held through the
commit's flush to disk), so a NOTIFY inside every transaction that creates work would stop
those commits from sharing flushes. Instead, a commit that created work pokes this process's
`Notifier`, and its thread sends the NOTIFY on a connection of its own: many commits made
while it sends coalesce into the next one. The NOTIFY is sent after the commit it announces,
so a woken worker sees the work. It is best-effort like NOTIFY itself (workers also poll).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from typing import Any

import psycopg

__all__ = ["Notifier"]

log = logging.getLogger("statewright.store")


class Notifier:
    """Sends `sql` (a NOTIFY) once after any number of `poke()`s, from a daemon thread."""

    def __init__(
        self,
        conninfo: str,
        sql: str,
        connect_kwargs: dict[str, Any] | None = None,
        *,
        min_interval_s: float = 0.0,
    ) -> None:
        """`min_interval_s`: the least time between two NOTIFYs (the pokes made meanwhile
        coalesce into the next one), for wake-ups that may come a little later."""
        self._min_interval_s = min_interval_s
        self._conninfo = conninfo
        self._connect_kwargs = {**(connect_kwargs or {}), "autocommit": True}
        self._sql = sql
        self._poked = threading.Event()
        #: A NOTIFY is owed: set by `poke`, cleared by the thread as it sends one.
        self._owed = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def poke(self) -> None:
        """Ask for a NOTIFY soon (after the commit that calls this)."""
        if self._thread is None or self._pid != os.getpid():
            self._start()
        self._owed = True
        self._poked.set()

    def close(self) -> None:
        """Stop the thread, once it has sent the NOTIFY asked for by the last `poke` (a
        process that exits right after its last commit still wakes the workers)."""
        self._closed = True
        self._poked.set()
        thread = self._thread
        if thread is not None and self._pid == os.getpid():
            thread.join(timeout=5)

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None and self._pid == os.getpid():
                return
            self._pid = os.getpid()  # a forked child starts its own thread
            self._thread = threading.Thread(
                target=self._run, name="statewright-notify", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        connection: psycopg.Connection[Any] | None = None
        try:
            while True:
                self._poked.wait()
                self._poked.clear()
                if self._owed:
                    self._owed = False  # a poke from here on sets it again
                    connection = self._send(connection)
                if self._closed and not self._owed:
                    return  # closed, and nothing asked for since the last NOTIFY
        finally:
            if connection is not None:
                with contextlib.suppress(psycopg.Error):
                    connection.close()

    def _send(self, connection: psycopg.Connection[Any] | None) -> psycopg.Connection[Any] | None:
        """Send the NOTIFY (connecting first if need be); the connection to use next time."""
        try:
            if connection is None or connection.closed:
                connection = psycopg.connect(self._conninfo, **self._connect_kwargs)
                # A NOTIFY's transaction needs no flush to disk: it is a wake-up, delivered
                # at its commit, and lost with a crash like any other.
                connection.execute("SET synchronous_commit = off")
            connection.execute(self._sql)
            if self._min_interval_s > 0 and not self._closed:
                time.sleep(self._min_interval_s)
            return connection
        except psycopg.Error as error:
            # A lost connection (the server restarted): the next poke reconnects.
            log.debug("could not wake the workers (they will poll): %s", error)
            if connection is not None:
                with contextlib.suppress(psycopg.Error):
                    connection.close()
            return None
