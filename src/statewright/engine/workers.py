"""Which workers run, as they advertise themselves, and what an instance waits for.

A worker writes a row to the store's `workers` table when it starts (its host, pid and the
step sources it provides), renews it every `WORKER_HEARTBEAT_MS` and deletes it when it stops
cleanly. A worker not heard of for `WORKER_GONE_MS` (a few heartbeats) counts as gone: a
step whose source no live worker provides waits, uncharged, and `Engine.get` says so
(`Instance.waiting_for`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from statewright.engine.deciding import Deciding
from statewright.store.records import InstanceRecord

if TYPE_CHECKING:
    from statewright.store.protocol import Store

__all__ = [
    "WORKERS_SEEN_MS",
    "WORKER_GONE_MS",
    "WORKER_HEARTBEAT_MS",
    "WorkerSeen",
    "Workers",
    "waiting_for",
]

#: How often a running worker renews its row in the workers table.
WORKER_HEARTBEAT_MS = 5_000
#: How long a worker may go unheard of before it counts as gone.
WORKER_GONE_MS = 3 * WORKER_HEARTBEAT_MS


def waiting_for(store: Store, record: InstanceRecord, now: int) -> str | None:
    """What the instance waits for that nobody is doing, read now: "a worker that provides
    chargeCard" for pending step runs whose source no live worker provides; else None."""
    if record.status != "active" or record.runtime_status not in ("running", "retrying"):
        return None
    steps = store.steps(record.tenant, record.id)
    idle = {
        step.src
        for step in steps
        if not (step.status == "running" and (step.lease_until or 0) > now)
    }
    if not idle:
        return None
    provided: set[str] = set()
    for worker in store.live_workers(now - WORKER_GONE_MS):
        provided.update(str(src) for src in json.loads(worker.steps))
    missing = sorted(idle - provided)
    return "a worker that provides " + ", ".join(missing) if missing else None


#: How long a worker that stopped without a word stays listed by `Engine.workers`.
WORKERS_SEEN_MS = 3_600_000


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerSeen:
    """A worker heard of recently: where it runs, what it provides, and whether it is live
    (heard of within `WORKER_GONE_MS`)."""

    id: str
    host: str
    pid: int
    steps: tuple[str, ...]
    listeners: tuple[str, ...]
    started_at: int
    heartbeat_at: int
    alive: bool


class Workers(Deciding):
    """`workers`: the workers heard of recently (shared by every tenant)."""

    def workers(self, *, seen_within_ms: int = WORKERS_SEEN_MS) -> list[WorkerSeen]:
        """The workers heard of in the last `seen_within_ms`, oldest first; a clean stop
        removes a worker at once, one that died stays until it is forgotten."""
        now = self.clock.now()
        return [
            WorkerSeen(
                id=record.id,
                host=record.host,
                pid=record.pid,
                steps=tuple(str(src) for src in json.loads(record.steps)),
                listeners=tuple(str(pattern) for pattern in json.loads(record.listeners)),
                started_at=record.started_at,
                heartbeat_at=record.heartbeat_at,
                alive=record.heartbeat_at >= now - WORKER_GONE_MS,
            )
            for record in self.store.live_workers(now - seen_within_ms)
        ]
