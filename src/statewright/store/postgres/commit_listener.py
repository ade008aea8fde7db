"""Waiting for commits on PostgreSQL, for the live stream: `LISTEN statewright_audit`.

Every process that commits transitions sends `NOTIFY statewright_audit` after its commits,
from its notifier thread (`notifier.py`: never inside the transition's transaction, and the
commits made meanwhile coalesce into one NOTIFY). A `serve` process with live streams open
waits here, on ONE connection of its own shared by all its clients, then reads the audit
table: a NOTIFY only wakes it, so one that is lost (a dropped connection, PgBouncer's
transaction mode) costs a poll's delay, never a transition.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

import psycopg

__all__ = ["AUDIT_CHANNEL", "CommitListener"]

log = logging.getLogger("statewright.store")

AUDIT_CHANNEL = "statewright_audit"


class CommitListener:
    """Waits for a NOTIFY on `AUDIT_CHANNEL`, on a connection opened at the first wait."""

    def __init__(self, conninfo: str, connect_kwargs: dict[str, Any] | None = None) -> None:
        self._conninfo = conninfo
        self._connect_kwargs = {**(connect_kwargs or {}), "autocommit": True}
        self._connection: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()
        self._closed = False

    def wait(self, timeout_s: float) -> bool:
        """Return True on a NOTIFY (every one that came meanwhile is taken), or False after
        `timeout_s` (also when the server cannot be reached: the caller polls anyway)."""
        started = time.monotonic()
        with self._lock:
            try:
                connection = self._connect()
                if connection is None:
                    return False
                woken = False
                for _ in connection.notifies(timeout=max(0.0, timeout_s), stop_after=1):
                    woken = True
                if woken:  # take the others that came with it, without waiting
                    for _ in connection.notifies(timeout=0):
                        pass
                return woken
            except psycopg.Error as error:
                log.debug("not listening for commits (the stream polls): %s", error)
                self._drop()
        time.sleep(max(0.0, timeout_s - (time.monotonic() - started)))
        return False

    def close(self) -> None:
        """Stop listening (a wait in progress ends at its timeout)."""
        self._closed = True
        if self._lock.acquire(timeout=0.5):
            try:
                self._drop()
            finally:
                self._lock.release()

    def _connect(self) -> psycopg.Connection[Any] | None:
        if self._closed:
            return None
        if self._connection is None or self._connection.closed:
            self._connection = psycopg.connect(self._conninfo, **self._connect_kwargs)
            self._connection.execute(f"LISTEN {AUDIT_CHANNEL}")
        return self._connection

    def _drop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(psycopg.Error):
                self._connection.close()
            self._connection = None
