"""Riding out store outages: which errors pass, how long to wait, and what to log.

A worker whose database goes away (PostgreSQL restarts or fails over, the network drops, a
SQLite file stays locked or its disk fills up) keeps running: every loop hands the error to
its `Outage`, which logs ONE warning when the outage starts, sleeps a backoff with jitter
(`OutagePolicy`: doubling from 0.1 s, capped at 30 s) and, at the first operation that
succeeds again, logs one line with how long the outage lasted. The worker then carries on
where it was: claims that lapsed meanwhile are taken again (by it or another worker), and
step results that were ready are committed as their leases allow.

Only `StoreUnavailable` (and the OS's connection errors) pass as transient. Any other
`StoreError` is a fault that waiting does not fix (schema out of date, corrupt file,
read-only file, not a statewright database): the worker stops on it.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from statewright.errors import StoreUnavailable

__all__ = ["MAX_BACKOFF_S", "Outage", "OutagePolicy", "is_transient", "through"]

log = logging.getLogger("statewright.worker")

T = TypeVar("T")

#: The longest wait between two tries while the store is unavailable.
MAX_BACKOFF_S = 30.0


@dataclass(frozen=True, slots=True)
class OutagePolicy:
    """How long to wait before the next try while the store is unavailable.

    The wait doubles from `first_s` with each failure in a row, up to `max_s`, and is
    jittered to between half of it and all of it, so that workers cut off together do not
    come back in step (and in a herd).
    """

    first_s: float = 0.1
    max_s: float = MAX_BACKOFF_S

    def delay_s(self, failures: int, rand: float) -> float:
        """The wait after the `failures`-th failure in a row (1 for the first), for a
        uniform random `rand` in [0, 1)."""
        exponent = min(max(failures, 1) - 1, 62)
        ceiling = min(self.max_s, self.first_s * 2.0**exponent)
        return ceiling * (0.5 + 0.5 * min(max(rand, 0.0), 1.0))


def is_transient(error: object) -> bool:
    """Whether waiting may fix `error`: the store cannot be reached (or is locked or full)
    for now. Faults of the database itself (schema, corruption, permissions) are not."""
    return isinstance(error, StoreUnavailable | ConnectionError | TimeoutError)


class Outage:
    """One worker's view of its store's availability: logs each outage once, with its cause,
    and its end, with how long it lasted; sleeps the backoff between tries.

    Thread-safe, and shared by a worker's loops (its step loop and the loop of timers, ticks
    and messages): each loop that failed backs off on its own count of failures in a row,
    and the outage ends when a loop that failed in it succeeds. A loop that did not fail
    does not end it for one that still fails (a full disk lets reads through and fails
    writes): that one would otherwise try again at once, logging an outage each time.
    `stop` cuts a backoff short (and ends `call`'s retries).
    """

    def __init__(
        self,
        store: str,
        stop: threading.Event | None = None,
        *,
        policy: OutagePolicy | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        """Track the outages of the store shown as `store` (a URL without its password)."""
        self.store = store
        self.stop = stop or threading.Event()
        self.policy = policy or OutagePolicy()
        self._rand = rand
        self._lock = threading.Lock()
        self._since: float | None = None  # time.monotonic() of the outage's first failure
        self._failures = 0  # in all, since the outage began
        #: The loops (threads) failing now, each with its failures in a row.
        self._failing: dict[int, int] = {}

    @property
    def down(self) -> bool:
        """Whether the store is unavailable as far as this worker knows."""
        return self._since is not None

    def failed(self, error: BaseException) -> float:
        """A try failed with a transient `error`: log it if it starts an outage, then sleep
        the backoff (or until `stop`). Returns the seconds slept."""
        me = threading.get_ident()
        with self._lock:
            self._failures += 1
            failures = self._failing[me] = self._failing.get(me, 0) + 1
            if self._since is None:
                self._since = time.monotonic()
                log.warning(
                    "store %s unavailable, retrying (backoff up to %g s): %s",
                    self.store,
                    self.policy.max_s,
                    _one_line(error),
                )
        delay = self.policy.delay_s(failures, self._rand())
        started = time.monotonic()
        self.stop.wait(delay)
        return time.monotonic() - started

    def ok(self) -> None:
        """A try succeeded: if this loop failed in the outage, the outage is over; log that
        the store is back. A loop that did not fail in it says nothing of it."""
        if self._since is None:
            return
        with self._lock:
            since, failures = self._since, self._failures
            if since is None or threading.get_ident() not in self._failing:
                return  # not failing here: another loop's outage is not over
            self._since, self._failures = None, 0
            self._failing.clear()
        log.warning(
            "store %s available again after %.1f s (%d failed tries)",
            self.store,
            time.monotonic() - since,
            failures,
        )

    def call(self, operation: Callable[[], T]) -> T:
        """Run `operation`, trying again after each transient failure until it succeeds or
        `stop` is set (then the last error is raised). Other errors are raised at once."""
        while True:
            try:
                result = operation()
            except Exception as error:
                if not is_transient(error) or self.stop.is_set():
                    raise
                self.failed(error)
                if self.stop.is_set():
                    raise
                continue
            self.ok()
            return result


def through(outage: Outage | None, operation: Callable[[], T]) -> T:
    """Run `operation` through `outage` (retried while the store is away) while a worker
    runs; outside a running worker (`run_once`, harnesses: no outage), once."""
    return operation() if outage is None else outage.call(operation)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__
