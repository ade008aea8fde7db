"""The cron schedules the workers run, as they advertise them: what each does, which live
workers run it, its last tick and its next.

A worker publishes the specs of its schedules in its row of the `workers` table (schema 14;
a worker older than that publishes none) and claims each tick in `schedule_ticks`. This reads
both: a schedule is listed while a worker that runs it was heard of within `WORKERS_SEEN_MS`,
so one whose workers all died stays listed, run by no live worker, until they are forgotten.
A schedule belongs to its action's tenant (`"tenant"`, `default` when absent).

A schedule no worker heard of in that hour advertises (a deploy dropped it from `SCHEDULES`,
or its workers stopped cleanly, which removes their rows) is still known from its ticks:
while its last tick is at most `TICKED_LISTED_MS` (7 days) old it is listed, run by no live
worker, with its last tick and nothing else (`spec_known` False), and counts among the
schedules no live worker runs, so that the alert on them fires. Its ticks say nothing of its
action, hence of its tenant: it is listed for the default tenant, the operators'.
"""

from __future__ import annotations

import json
import zoneinfo
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from cronsim import CronSimError

from statewright.engine.cron_ticks import CATCH_UP_DEFAULT, catch_up, ticks_after
from statewright.engine.deciding import DEFAULT_TENANT, Deciding
from statewright.engine.workers import WORKER_GONE_MS, WORKERS_SEEN_MS
from statewright.store.records import ScheduleTickRecord, WorkerRecord

__all__ = [
    "TICKED_LISTED_MS",
    "ScheduleSeen",
    "ScheduleWorker",
    "Schedules",
    "TickSeen",
    "describe_action",
    "schedule_specs",
    "tick_status",
]


#: How long a schedule that no worker advertises stays listed after its last tick: long
#: enough for the alert on a schedule no live worker runs to be seen over a weekend, short
#: enough that one dropped on purpose stops counting on its own.
TICKED_LISTED_MS = 7 * 86_400_000


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleWorker:
    """A live worker that runs a schedule."""

    id: str
    host: str
    pid: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TickSeen:
    """A schedule's latest claimed tick.

    Attributes:
        at: the tick's time (epoch ms).
        status: "done" (its action ran), "running" (claimed, its action under way) or
            "stalled" (claimed, but its worker's claim ran out unfinished: the worker died,
            and the next pass of a live worker takes it over).
        taken_over: claimed again after a worker died holding it.
    """

    at: int
    status: str
    taken_over: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleSeen:
    """A cron schedule some worker heard of recently runs.

    Attributes:
        name, description, cron, timezone, action: the schedule's spec as its worker has it.
        summary: the action in words: "send REMIND to order instances in status active",
            "start report".
        catch_up: its catch-up policy ("latest", a window such as "1h", or "all").
        tenant: the action's tenant.
        workers: the live workers that run it (empty: none does; its ticks wait).
        last_heard_at: when a worker that runs it was last heard of (epoch ms); for a
            schedule known only from its ticks, its last tick.
        last_tick: the latest tick claimed, or None (never ticked yet).
        next_tick: the tick it runs next (epoch ms): one already due and not yet run (the
            earliest its catch-up policy keeps), else the first after now by its cron and
            time zone; None when the cron has no tick in the next 50 years, or its spec is
            not known.
        spec_known: False for a schedule known only from its ticks (no worker heard of in
            the last hour advertises it): its cron, time zone and action are then empty.
    """

    name: str
    description: str
    cron: str
    timezone: str
    action: Mapping[str, object]
    summary: str
    tenant: str
    workers: tuple[ScheduleWorker, ...]
    last_heard_at: int
    last_tick: TickSeen | None
    next_tick: int | None
    catch_up: str = CATCH_UP_DEFAULT
    spec_known: bool = True


def describe_action(action: Mapping[str, object]) -> str:
    """A schedule's action in words: "start report", "send REMIND to order instances in
    status active"."""
    if "start" in action:
        return f"start {action['start']}"
    event = action.get("event")
    event_type = event.get("type") if isinstance(event, Mapping) else event
    where = action.get("where")
    where = where if isinstance(where, Mapping) else {}
    words = f"send {event_type} to {where.get('definition')} instances"
    if where.get("status") is not None:
        words += f" in status {where['status']}"
    if where.get("runtimeStatus") is not None:
        joiner = " and" if where.get("status") is not None else ""
        words += f"{joiner} with runtime status {where['runtimeStatus']}"
    return words


class Schedules(Deciding):
    """`schedules`: the cron schedules the workers run, per tenant."""

    def schedules(self, *, tenant: str = DEFAULT_TENANT) -> list[ScheduleSeen]:
        """The cron schedules of `tenant` that workers heard of in the last hour run, by
        name: each with the live workers running it, its last tick and its next; for the
        default tenant also those known only from a tick of the last `TICKED_LISTED_MS`."""
        now = self.clock.now()
        specs: dict[str, Mapping[str, object]] = {}
        runners: dict[str, list[WorkerRecord]] = {}
        advertised: set[str] = set()
        # Oldest first: the spec of the worker heard of last wins a name two specs share.
        for worker in sorted(
            self.store.live_workers(now - WORKERS_SEEN_MS), key=lambda w: w.heartbeat_at
        ):
            for spec in schedule_specs(worker):
                advertised.add(str(spec["name"]))
                action = spec.get("action")
                if not isinstance(action, Mapping) or _tenant(action) != tenant:
                    continue
                name = str(spec["name"])
                specs[name] = spec
                runners.setdefault(name, []).append(worker)
        ticks = {tick.name: tick for tick in self.store.last_ticks(sorted(specs))}
        seen = {name: _seen(specs[name], runners[name], ticks.get(name), now) for name in specs}
        if tenant == DEFAULT_TENANT:
            for tick in self.store.ticked_schedules(now - TICKED_LISTED_MS):
                if tick.name not in advertised:
                    seen[tick.name] = _ticked_only(tick, now)
        return [seen[name] for name in sorted(seen)]


def schedule_specs(worker: WorkerRecord) -> Iterator[Mapping[str, object]]:
    """The schedule specs a worker advertises (none from a worker older than schema 14)."""
    try:
        specs = json.loads(worker.schedules) if worker.schedules else []
    except ValueError:
        return
    if isinstance(specs, list):
        for spec in specs:
            if isinstance(spec, Mapping) and isinstance(spec.get("name"), str):
                yield spec


def _tenant(action: Mapping[str, object]) -> str:
    return str(action.get("tenant") or DEFAULT_TENANT)


def _seen(
    spec: Mapping[str, object],
    workers: list[WorkerRecord],
    tick: ScheduleTickRecord | None,
    now: int,
) -> ScheduleSeen:
    action = spec["action"]
    assert isinstance(action, Mapping)
    cron, timezone = str(spec.get("cron", "")), str(spec.get("timezone", "UTC"))
    live = [worker for worker in workers if worker.heartbeat_at >= now - WORKER_GONE_MS]
    policy = spec.get("catchUp", CATCH_UP_DEFAULT)
    policy = policy if isinstance(policy, str) else CATCH_UP_DEFAULT
    return ScheduleSeen(
        name=str(spec["name"]),
        description=str(spec.get("description", "")),
        cron=cron,
        timezone=timezone,
        action=MappingProxyType(dict(action)),
        summary=describe_action(action),
        tenant=_tenant(action),
        workers=tuple(ScheduleWorker(id=w.id, host=w.host, pid=w.pid) for w in live),
        last_heard_at=max(worker.heartbeat_at for worker in workers),
        last_tick=None if tick is None else _tick(tick, now),
        next_tick=_next_tick(cron, timezone, policy, tick, now),
        catch_up=policy,
    )


def _ticked_only(tick: ScheduleTickRecord, now: int) -> ScheduleSeen:
    """A schedule known only from its ticks: no worker heard of lately advertises it."""
    return ScheduleSeen(
        name=tick.name,
        description="",
        cron="",
        timezone="",
        action=MappingProxyType({}),
        summary="unknown: no worker heard of in the last hour runs it",
        tenant=DEFAULT_TENANT,
        workers=(),
        last_heard_at=tick.tick_at,
        last_tick=_tick(tick, now),
        next_tick=None,
        spec_known=False,
    )


def tick_status(tick: ScheduleTickRecord, now: int) -> str:
    """A claimed tick's status at `now`: "done", "running", or "stalled" (its worker's claim
    ran out unfinished)."""
    if tick.status == "running" and (tick.lease_until or 0) <= now:
        return "stalled"
    return tick.status


def _tick(tick: ScheduleTickRecord, now: int) -> TickSeen:
    return TickSeen(at=tick.tick_at, status=tick_status(tick, now), taken_over=tick.claims > 1)


def _next_tick(
    cron: str, timezone: str, policy: str, last: ScheduleTickRecord | None, now: int
) -> int | None:
    """The tick a worker runs next: after the last tick, the earliest due one that the
    catch-up `policy` keeps (due: not yet run), else the first after `now`; None for none
    in cronsim's horizon (or a spec that no longer reads, which its worker would have
    refused)."""
    try:
        if last is not None:
            due = catch_up(cron, timezone, policy, last.tick_at, now, 1).run
            if due:
                return due[0]
        return next(ticks_after(cron, timezone, now), None)
    except (CronSimError, zoneinfo.ZoneInfoNotFoundError, ValueError, IndexError):
        return None
