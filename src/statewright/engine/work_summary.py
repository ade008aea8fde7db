"""The work of every tenant at a glance, for the metrics: instances per status and runtime
status, and the work waiting for the workers, with how late the oldest due item is.

Every number is read cheaply: the instance counts from the counts per state the store's
triggers keep (a few rows whatever the number of instances), each count of waiting work from
one index range read up to `WORK_COUNT_CAP` rows, and each oldest due time from the first
row of its range; the live workers and the schedules they run are the small `workers` table,
and each schedule's last tick one key lookup (the schedules known only from their ticks: a
walk of the ticks' key one schedule at a time). Nothing names a tenant, an
instance or a definition: the summary is every tenant's together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from statewright.engine.deciding import Deciding
from statewright.engine.listing import RUNTIME_STATUSES, STATUSES
from statewright.engine.schedules import TICKED_LISTED_MS, schedule_specs, tick_status
from statewright.engine.workers import WORKER_GONE_MS, WORKERS_SEEN_MS

__all__ = ["INSTANCE_STATUSES", "WORK_COUNT_CAP", "WorkSummary", "WorkSummaries"]

#: The most rows one count of waiting work reads: a count at the cap means at least that many.
WORK_COUNT_CAP = 100_000

#: Every (status, runtime status) an instance can have: an active one's runtime status says
#: what it waits for; a finished one's is its status.
INSTANCE_STATUSES: tuple[tuple[str, str], ...] = tuple(
    ("active", runtime) for runtime in RUNTIME_STATUSES if runtime not in STATUSES[1:]
) + tuple((status, status) for status in STATUSES[1:])


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkSummary:
    """Every tenant's work at `now` (epoch ms).

    Attributes:
        instances: instances per (status, runtime status), every pair of INSTANCE_STATUSES
            present (0 for none).
        timers_overdue: pending timers whose due time has passed.
        steps_due: step runs a worker could claim now: pending or retrying runs whose
            attempt is due, and running ones whose lease ran out.
        steps_running: step runs claimed by a worker whose lease is live.
        steps_retrying: step runs waiting for their next attempt, not due yet.
        outbox_due: pending outbox messages due for delivery now (not claimed).
        outbox_pending: outbox messages not delivered yet (due, claimed or waiting for a
            retry).
        outbox_dead: dead letters.
        timer_lag_ms, step_lag_ms, outbox_lag_ms: how long ago the oldest overdue timer,
            due step run or due message fell due; 0 when none is.
        workers_live: workers heard of within `WORKER_GONE_MS`.
        schedules: the cron schedules that workers heard of in the last hour
            (`WORKERS_SEEN_MS`) run, and those no such worker advertises that ticked in the
            last `TICKED_LISTED_MS`, as `Engine.schedules` lists them, of every tenant.
        schedules_unrun: those of them no live worker runs (they make no ticks).
        schedules_stalled: those whose latest tick is stalled: claimed by a worker whose
            claim ran out unfinished.
        count_cap: the cap of each count of waiting work (a count equal to it means at least).
    """

    now: int
    instances: Mapping[tuple[str, str], int]
    timers_overdue: int
    steps_due: int
    steps_running: int
    steps_retrying: int
    outbox_due: int
    outbox_pending: int
    outbox_dead: int
    timer_lag_ms: int
    step_lag_ms: int
    outbox_lag_ms: int
    workers_live: int
    schedules: int
    schedules_unrun: int
    schedules_stalled: int
    count_cap: int


class WorkSummaries(Deciding):
    """`work_summary`."""

    def work_summary(self, *, count_cap: int = WORK_COUNT_CAP) -> WorkSummary:
        """Every tenant's work now (see `WorkSummary`).

        Raises:
            StoreUnavailable, StoreError: the store could not be read.
        """
        now = self.clock.now()
        cap = max(1, count_cap)
        counted, work = self.store.work_summary(now, cap)
        instances = dict.fromkeys(INSTANCE_STATUSES, 0)
        for status, runtime_status, number in counted:
            key = (status, runtime_status)
            instances[key] = instances.get(key, 0) + number
        kinds = {record.kind: record for record in work}

        def count(*names: str) -> int:
            return min(cap, sum(kinds[name].count for name in names if name in kinds))

        def lag(*names: str) -> int:
            due = [kinds[name].oldest for name in names if name in kinds]
            oldest = min((at for at in due if at is not None), default=None)
            return 0 if oldest is None else max(0, now - oldest)

        steps_due = ("steps_pending_due", "steps_retrying_due", "steps_running_lapsed")
        seen = self.store.live_workers(now - WORKERS_SEEN_MS)
        live = [worker for worker in seen if worker.heartbeat_at >= now - WORKER_GONE_MS]
        names = {str(spec["name"]) for worker in seen for spec in schedule_specs(worker)}
        run = {str(spec["name"]) for worker in live for spec in schedule_specs(worker)}
        ticks = {t.name: t for t in self.store.last_ticks(sorted(names))} if names else {}
        # Those no worker advertises any more, known from a recent tick (a deploy dropped
        # them, or their workers stopped cleanly): run by no live worker.
        for tick in self.store.ticked_schedules(now - TICKED_LISTED_MS):
            names.add(tick.name)
            ticks.setdefault(tick.name, tick)
        return WorkSummary(
            now=now,
            instances=MappingProxyType(instances),
            timers_overdue=count("timers_overdue"),
            steps_due=count(*steps_due),
            steps_running=count("steps_running"),
            steps_retrying=count("steps_retrying_waiting"),
            outbox_due=count("outbox_due"),
            outbox_pending=count("outbox_pending"),
            outbox_dead=count("outbox_dead"),
            timer_lag_ms=lag("timers_overdue"),
            step_lag_ms=lag(*steps_due),
            outbox_lag_ms=lag("outbox_due"),
            workers_live=len(live),
            schedules=len(names),
            schedules_unrun=len(names - run),
            schedules_stalled=sum(
                1 for tick in ticks.values() if tick_status(tick, now) == "stalled"
            ),
            count_cap=cap,
        )
