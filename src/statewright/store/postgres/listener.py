"""Waiting for work on PostgreSQL: one idle worker listens, the others queue behind it.

Every NOTIFY reaches every connection that LISTENs. If every idle worker woke for each one, a
stream of small commits would wake them all, and all but one would find nothing: each of
those wakes costs a round of claims, and with several workers per core that herd costs more
than the work. So idle workers take turns instead:

- The **token** is a session-level advisory lock, one per schema (the key is the schema's
  name hashed), held on the worker's listening connection, which LISTENs while it holds it.
- The worker holding it waits for a NOTIFY (or its timeout) and wakes for it. It keeps the
  token while it works, since it looks for more work before it waits again; NOTIFYs that
  come meanwhile are read when it waits again.
- The other idle workers wait for the lock itself, each on a thread of its own that blocks
  in `pg_advisory_lock` (no timeout: the server neither polls nor logs anything for it).
  PostgreSQL grants a released lock to one waiter, so exactly one of them takes the token
  when it is let go.
- The holder lets the token go when it has worked for longer than `help_after_s` (a slow
  step, a full batch): the next idle worker then listens. Taking the token wakes a worker:
  a NOTIFY may have come while nobody listened, and only the holder waits for the next due
  time (the others wait for the token, or for their poll).
- A worker that dies closes its connection, which releases the token.

A worker that takes the token LISTENs before it looks for work, so work committed before that
is found by its look, and work committed after wakes it. Waiting for the token ends at the
timeout like listening does (the worker's poll, as NOTIFY is best-effort); the thread stays
queued.

Closing the store while a worker waits here must not close the connection under the wait
(psycopg's `close` does not wait for the thread using it, whose socket number may then be
reused). So `close` only marks the listener closed while a wait is in progress; the wait
reads NOTIFYs in slices of `_CLOSE_CHECK_S`, sees the mark, closes the connection itself and
raises the store's `StoreError` (the store is closed), as does every later wait, which never
connects again.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

import psycopg

from statewright.errors import StoreError

__all__ = ["HELP_AFTER_S", "Listener"]

log = logging.getLogger("statewright.store")

#: How long the worker holding the token may work before another idle worker listens.
HELP_AFTER_S = 0.02
#: The advisory lock's first key ("sw" in ASCII); the second is the schema's hashed name.
_TOKEN_CLASS = 0x7377
_TOKEN = f"{_TOKEN_CLASS}, hashtext(coalesce(current_schema(), ''))"
_CHANNEL = "statewright_work"
#: How often a wait for a NOTIFY or the token looks whether the listener was closed.
_CLOSE_CHECK_S = 0.1
_CLOSED = "waiting for work: the store is closed; open a new one"


class Listener:
    """A worker's waits for NOTIFYs of new work, taking turns with the other idle workers."""

    def __init__(
        self,
        conninfo: str,
        *,
        help_after_s: float = HELP_AFTER_S,
        connect_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self._conninfo = conninfo
        self._connect_kwargs = {**(connect_kwargs or {}), "autocommit": True}
        self._failing_since: float | None = None  # the first failure of the current outage
        self._help_after_s = help_after_s
        self._connection: psycopg.Connection[Any] | None = None
        self._holding = False
        self._busy_since: float | None = None  # when the last wait returned; None: waiting
        self._lock = threading.Lock()  # the token's state, between wait() and the watchdog
        self._busy = threading.Event()  # set while the worker works holding the token
        self._closed = threading.Event()
        self._watchdog: threading.Thread | None = None
        self._queued: _Queued | None = None  # the thread waiting for the token
        self._waiters = 0  # threads in `wait`: the connection is theirs to close once closed

    @property
    def holding(self) -> bool:
        """Whether this worker holds the token (it is the one that listens)."""
        return self._holding

    def wait(self, timeout_s: float) -> bool:
        """Return True on a NOTIFY (holding the token) or on taking the token; False after
        `timeout_s` at the latest.

        Raises:
            StoreError: the listener was closed (with its store), also while waiting.
        """
        deadline = time.monotonic() + max(0.0, timeout_s)
        with self._lock:
            if self._closed.is_set():
                raise StoreError(_CLOSED)
            self._waiters += 1
            self._busy_since = None
            holding = self._holding
        try:
            return self._wait(deadline, holding)
        finally:
            with self._lock:
                self._waiters -= 1
                last_out = self._closed.is_set() and self._waiters == 0
            if last_out:
                self._drop()
                raise StoreError(_CLOSED)
            self._working()

    def _wait(self, deadline: float, holding: bool) -> bool:
        try:
            connection = self._connect()
            if not holding:
                return self._take(connection, deadline)
            if _drain(connection):
                return True
            while not self._closed.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                slice_s = min(remaining, _CLOSE_CHECK_S)
                if any(True for _ in connection.notifies(timeout=slice_s, stop_after=1)):
                    return True
            return False
        except psycopg.Error as error:
            if self._closed.is_set():
                return False  # `wait` raises the store's error
            # The worker logs the outage; this one polls until the next wait reconnects.
            if self._failing_since is None:
                self._failing_since = time.monotonic()
            log.debug("waiting for work on PostgreSQL failed (polling): %s", error)
            self._drop()
            self._closed.wait(max(0.0, deadline - time.monotonic()))
            return False

    def close(self) -> None:
        """Stop the watchdog and close the connection (which lets the token go); while a
        wait is in progress, that wait closes it (within `_CLOSE_CHECK_S`)."""
        with self._lock:
            self._closed.set()
            waiting = self._waiters > 0
        self._busy.set()
        watchdog = self._watchdog
        if watchdog is not None and watchdog is not threading.current_thread():
            watchdog.join(timeout=5)
        if not waiting:
            self._drop()

    # -- the token ------------------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[Any]:
        connection = self._connection
        if connection is None or connection.closed:
            connection = psycopg.connect(self._conninfo, **self._connect_kwargs)
            self._connection, self._holding = connection, False
            if self._failing_since is not None:
                log.debug(
                    "listening for work again after %.1f s",
                    time.monotonic() - self._failing_since,
                )
                self._failing_since = None
        return connection

    def _take(self, connection: psycopg.Connection[Any], deadline: float) -> bool:
        """Wait until `deadline` (`time.monotonic()`) for the token (queued on a thread that
        blocks in the lock, and stays queued after a timeout); whether it was taken. Taken,
        the connection LISTENs, and NOTIFYs read before (from an earlier turn) are dropped:
        the worker looks for work next."""
        queued = self._queued
        if queued is None:
            queued = self._queued = _Queued(connection)
        while not queued.done.wait(min(max(0.0, deadline - time.monotonic()), _CLOSE_CHECK_S)):
            if self._closed.is_set() or time.monotonic() >= deadline:
                return False
        self._queued = None
        if queued.error is not None:
            raise queued.error
        _drain(connection)
        with self._lock:
            self._holding = True
        return True

    def _working(self) -> None:
        """The worker goes to work: let the token go if that lasts longer than help_after_s."""
        with self._lock:
            if not self._holding:
                return
            self._busy_since = time.monotonic()
        if self._watchdog is None:
            self._watchdog = threading.Thread(
                target=self._watch, name="statewright-listener", daemon=True
            )
            self._watchdog.start()
        self._busy.set()

    def _watch(self) -> None:
        """Let the token go when its holder has worked for longer than help_after_s."""
        while not self._closed.is_set():
            self._busy.wait()
            with self._lock:
                since = self._busy_since
                if since is None or not self._holding:
                    self._busy.clear()
                    continue
            late = since + self._help_after_s - time.monotonic()
            if late > 0:
                self._closed.wait(late)
                continue
            with self._lock:
                if self._busy_since == since and self._holding and not self._closed.is_set():
                    self._release()

    def _release(self) -> None:
        """Let the token go (with `_lock` held, while the worker works)."""
        self._holding = False
        connection = self._connection
        if connection is None or connection.closed:
            return
        try:
            connection.execute(f"UNLISTEN {_CHANNEL}; SELECT pg_advisory_unlock({_TOKEN})")
        except psycopg.Error as error:
            log.debug("could not pass the listening turn on (closing it): %s", error)
            with contextlib.suppress(psycopg.Error):
                connection.close()

    def _drop(self) -> None:
        with self._lock:
            self._holding = False
            connection, self._connection = self._connection, None
            queued, self._queued = self._queued, None
        if connection is None:
            return
        if queued is not None and not queued.done.is_set():
            with contextlib.suppress(psycopg.Error):
                connection.cancel_safe(timeout=2)  # ends its wait for the lock
            queued.done.wait(2)
        with contextlib.suppress(psycopg.Error):
            connection.close()


class _Queued:
    """A daemon thread waiting on `connection` for the token, then LISTENing."""

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self.done = threading.Event()
        self.error: psycopg.Error | None = None
        threading.Thread(
            target=self._run, args=(connection,), name="statewright-turn", daemon=True
        ).start()

    def _run(self, connection: psycopg.Connection[Any]) -> None:
        try:
            connection.execute(f"SELECT pg_advisory_lock({_TOKEN}); LISTEN {_CHANNEL}")
        except psycopg.Error as error:
            self.error = error
        finally:
            self.done.set()


def _drain(connection: psycopg.Connection[Any]) -> bool:
    """Read the NOTIFYs already received; whether there were any."""
    return sum(1 for _ in connection.notifies(timeout=0)) > 0
