"""A running worker's row in the workers table: what it provides, renewed by a heartbeat.

`Worker.run` registers the worker when it starts (a fresh id, its host and pid, the step
sources of the machines registered on its engine, its listener patterns, the specs of its
cron schedules), renews the row
every `WORKER_HEARTBEAT_MS` from a daemon thread (so that a long step or a long sleep does
not silence it; what it provides is read again each time, so machines registered later are
advertised), and deletes it when it stops cleanly. A killed worker's row stops being renewed
and counts as gone after `WORKER_GONE_MS`; rows not heard of for an hour are forgotten by the
next worker that starts. The claim itself does not read this table: a worker claims by the
sources it provides (`Store.claim_steps(..., srcs=)`); the table tells readers which sources
some live worker provides (`Engine.get(...).waiting_for`) and which schedules some live
worker runs (`Engine.schedules`).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable

from statewright.engine import Engine
from statewright.engine.workers import WORKER_HEARTBEAT_MS
from statewright.errors import StatewrightError
from statewright.runtime.clock_skew import ClockWatch
from statewright.runtime.outage import is_transient
from statewright.store.records import WorkerRecord

__all__ = ["FORGET_WORKERS_MS", "Presence"]

#: Workers not heard of for this long are deleted from the table by the next one to start.
FORGET_WORKERS_MS = 3_600_000

log = logging.getLogger("statewright.worker")


class Presence:
    """Advertises one worker in the store while it runs."""

    def __init__(
        self,
        engine: Engine,
        listeners: Callable[[], list[str]],
        *,
        heartbeat_ms: int = WORKER_HEARTBEAT_MS,
        schedules: Callable[[], list[dict[str, object]]] = list,
    ) -> None:
        self.engine = engine
        self.id = uuid.uuid4().hex
        self.heartbeat_ms = heartbeat_ms
        self._listeners = listeners
        self._schedules = schedules
        self._started_at = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Register the worker now and renew its row every heartbeat until `stop`."""
        self._started_at = self.engine.clock.now()
        self._stop.clear()
        self.beat(forget_before=self._started_at - FORGET_WORKERS_MS)
        self._thread = threading.Thread(
            target=self._beat_until_stopped, name="statewright-presence", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop the heartbeat and delete the worker's row (nothing if it never started)."""
        self._stop.set()
        if self._thread is None:
            return
        self._thread.join()
        self._thread = None
        try:
            self.engine.store.remove_worker(self.id)
        except StatewrightError as error:
            log.warning(
                "worker row not removed: %s: %s; it will count as gone once its heartbeat is old",
                self.id,
                error,
                extra={"kind": "worker_row_not_removed", "worker_id": self.id, "error": str(error)},
            )

    def record(self) -> WorkerRecord:
        """The worker's row as it is written now."""
        return WorkerRecord(
            id=self.id,
            host=socket.gethostname(),
            pid=os.getpid(),
            steps=json.dumps(sorted(self.engine.registry.actor_sources())),
            listeners=json.dumps(sorted(set(self._listeners()))),
            started_at=self._started_at,
            heartbeat_at=self.engine.clock.now(),
            schedules=json.dumps(sorted(self._schedules(), key=lambda spec: str(spec["name"]))),
        )

    def beat(self, *, forget_before: int | None = None) -> bool:
        """Write the worker's row once; False (logged) if the store refused."""
        try:
            self.engine.store.register_worker(self.record(), forget_before=forget_before)
        except StatewrightError as error:
            # While the store is away the worker logs the outage once; the beats it misses
            # meanwhile are not news.
            log.log(
                logging.DEBUG if is_transient(error) else logging.WARNING,
                "worker heartbeat not written: %s: %s",
                self.id,
                error,
                extra={
                    "kind": "worker_heartbeat_failed",
                    "worker_id": self.id,
                    "error": str(error),
                },
            )
            return False
        return True

    def _beat_until_stopped(self) -> None:
        clocks = ClockWatch(self.engine)
        while not self._stop.wait(self.heartbeat_ms / 1000):
            if self.beat():
                clocks.look()
