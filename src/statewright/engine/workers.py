"""Which workers run, as they advertise themselves, and what an instance waits for.

A worker writes a row to the store's `workers` table when it starts (its host, pid and the
step sources it provides), renews it every `WORKER_HEARTBEAT_MS` and deletes it when it stops
cleanly. A worker not heard of for `WORKER_GONE_MS` (a few heartbeats) counts as gone: a
step whose source no live worker provides waits, uncharged, and `Engine.get` says so
(`Instance.waiting_for`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from statewright.store.records import InstanceRecord

if TYPE_CHECKING:
    from statewright.store.protocol import Store

__all__ = ["WORKER_GONE_MS", "WORKER_HEARTBEAT_MS", "waiting_for"]

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
