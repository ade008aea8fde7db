"""Engine.schedules: the cron schedules workers advertise, with the live workers running
each, its last tick (done, running, stalled, taken over) and its next, per tenant."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tests_support import START_MS

from statewright.engine import Engine
from statewright.engine.schedules import TICKED_LISTED_MS
from statewright.engine.workers import WORKER_GONE_MS, WORKERS_SEEN_MS
from statewright.runtime import Worker
from statewright.store.records import WorkerRecord
from statewright.testing import VirtualClock

REMIND = {
    "name": "remind-active",
    "cron": "0 9 * * *",
    "timezone": "Europe/Riga",
    "description": "Nudge the orders still open",
    "action": {"event": {"type": "REMIND"}, "where": {"definition": "order", "status": "active"}},
}
REPORT = {
    "name": "nightly-report",
    "cron": "*/15 * * * *",
    "action": {"start": "report", "input": {"kind": "daily"}, "tenant": "acme"},
}


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _worker(engine: Engine, *schedules: dict[str, object]) -> Worker:
    worker = Worker(engine)
    for schedule in schedules:
        worker.schedule(schedule)
    assert worker.presence.beat()
    return worker


def test_a_schedule_is_listed_with_its_worker_summary_and_next_tick_in_its_zone(
    engine: Engine,
) -> None:
    worker = _worker(engine, REMIND)
    [seen] = engine.schedules()
    assert (seen.name, seen.cron, seen.timezone) == ("remind-active", "0 9 * * *", "Europe/Riga")
    assert seen.description == "Nudge the orders still open"
    assert seen.summary == "send REMIND to order instances in status active"
    assert seen.tenant == "default"
    assert dict(seen.action) == REMIND["action"]
    assert [w.id for w in seen.workers] == [worker.presence.id]
    assert seen.last_heard_at == START_MS and seen.last_tick is None
    # 2023-11-14 22:13 UTC is 00:13 on the 15th in Riga: the next 09:00 there is 07:00 UTC.
    riga = datetime(2023, 11, 15, 9, 0, tzinfo=ZoneInfo("Europe/Riga"))
    assert seen.next_tick == _ms(riga) == _ms(datetime(2023, 11, 15, 7, 0, tzinfo=UTC))


def test_a_schedule_belongs_to_its_actions_tenant(engine: Engine) -> None:
    _worker(engine, REMIND, REPORT)
    assert [s.name for s in engine.schedules()] == ["remind-active"]
    [report] = engine.schedules(tenant="acme")
    assert (report.name, report.tenant) == ("nightly-report", "acme")
    assert report.summary == "start report"
    assert engine.schedules(tenant="other") == []


def test_the_last_tick_is_shown_done_after_a_worker_ran_it(
    engine: Engine, clock: VirtualClock
) -> None:
    worker = _worker(engine, REPORT)
    [before] = engine.schedules(tenant="acme")
    assert before.next_tick is not None
    clock.advance(before.next_tick - clock.now())
    assert worker.schedules.run_due() == 1
    [after] = engine.schedules(tenant="acme")
    assert after.last_tick is not None
    assert (after.last_tick.at, after.last_tick.status) == (before.next_tick, "done")
    assert after.last_tick.taken_over is False
    assert after.next_tick == before.next_tick + 15 * 60_000


def test_a_claim_whose_worker_died_is_stalled_then_shown_taken_over(
    engine: Engine, clock: VirtualClock
) -> None:
    _worker(engine, REPORT)
    tick = engine.schedules(tenant="acme")[0].next_tick
    assert tick is not None
    clock.advance(tick - clock.now())
    assert engine.store.claim_tick("nightly-report", tick, clock.now(), 60_000)
    [running] = engine.schedules(tenant="acme")
    assert running.last_tick is not None and running.last_tick.status == "running"
    clock.advance(60_000)
    [stalled] = engine.schedules(tenant="acme")
    assert stalled.last_tick is not None and stalled.last_tick.status == "stalled"
    assert engine.store.claim_tick("nightly-report", tick, clock.now(), 60_000)
    [taken] = engine.schedules(tenant="acme")
    assert taken.last_tick is not None
    assert (taken.last_tick.status, taken.last_tick.taken_over) == ("running", True)


def test_a_schedule_whose_workers_died_is_run_by_no_live_worker_until_forgotten(
    engine: Engine, clock: VirtualClock
) -> None:
    _worker(engine, REMIND)
    clock.advance(WORKER_GONE_MS + 1)
    [orphan] = engine.schedules()
    assert orphan.workers == () and orphan.last_heard_at == START_MS
    assert orphan.next_tick is not None and orphan.next_tick > clock.now()
    clock.advance(WORKERS_SEEN_MS)
    assert engine.schedules() == []


def test_two_workers_running_one_schedule_are_both_listed(engine: Engine) -> None:
    first, second = _worker(engine, REMIND), _worker(engine, REMIND)
    [seen] = engine.schedules()
    assert sorted(w.id for w in seen.workers) == sorted([first.presence.id, second.presence.id])


def test_a_worker_that_publishes_no_schedules_is_still_a_worker(engine: Engine) -> None:
    """A worker older than schema 14 writes no schedules (NULL): it runs none, as far as
    anyone can tell, and is listed as before."""
    now = engine.clock.now()
    old = WorkerRecord(
        id="w-old", host="h", pid=1, steps=json.dumps(["chargeCard"]), listeners="[]",
        started_at=now, heartbeat_at=now,
    )  # fmt: skip
    engine.store.register_worker(old)
    assert engine.schedules() == []
    assert [(w.id, w.steps) for w in engine.workers()] == [("w-old", ("chargeCard",))]


def test_an_event_action_is_summarised_with_its_filters() -> None:
    from statewright.engine.schedules import describe_action

    where = {"definition": "order", "runtimeStatus": "waiting"}
    assert describe_action({"event": "PING", "where": where}) == (
        "send PING to order instances with runtime status waiting"
    )
    both = {**where, "status": "active"}
    assert describe_action({"event": {"type": "PING"}, "where": both}) == (
        "send PING to order instances in status active and with runtime status waiting"
    )


def test_a_schedule_that_ticked_but_no_worker_advertises_is_run_by_no_live_worker(
    engine: Engine, clock: VirtualClock
) -> None:
    """A deploy dropped it from SCHEDULES, or its workers stopped cleanly (which removes
    their rows): known from its ticks, it is listed and counted as run by no live worker,
    so that the alert on such schedules fires, until its last tick is 7 days old."""
    worker = _worker(engine, REPORT)
    [before] = engine.schedules(tenant="acme")
    assert before.next_tick is not None
    clock.advance(before.next_tick - clock.now())
    assert worker.schedules.run_due() == 1
    engine.store.remove_worker(worker.presence.id)  # a clean stop
    clock.advance("2h")

    [dropped] = engine.schedules()  # its tenant is not known: listed for the default one
    assert (dropped.name, dropped.spec_known, dropped.workers) == ("nightly-report", False, ())
    assert dropped.last_tick is not None
    assert (dropped.last_tick.at, dropped.last_tick.status) == (before.next_tick, "done")
    assert dropped.last_heard_at == before.next_tick and dropped.next_tick is None
    assert engine.schedules(tenant="acme") == [] and engine.schedules(tenant="other") == []
    summary = engine.work_summary()
    assert (summary.schedules, summary.schedules_unrun) == (1, 1)

    clock.advance(TICKED_LISTED_MS - 2 * 3_600_000)  # its last tick 7 days old, to the ms
    assert [s.name for s in engine.schedules()] == ["nightly-report"]
    clock.advance(1)
    assert engine.schedules() == []
    assert (engine.work_summary().schedules, engine.work_summary().schedules_unrun) == (0, 0)


def test_a_ticked_schedule_a_live_worker_runs_is_listed_once_in_its_tenant(
    engine: Engine, clock: VirtualClock
) -> None:
    worker = _worker(engine, REPORT)
    tick = engine.schedules(tenant="acme")[0].next_tick
    assert tick is not None
    clock.advance(tick - clock.now())
    assert worker.schedules.run_due() == 1
    assert worker.presence.beat()
    assert engine.schedules() == []
    [report] = engine.schedules(tenant="acme")
    assert report.spec_known and [w.id for w in report.workers] == [worker.presence.id]
    summary = engine.work_summary()
    assert (summary.schedules, summary.schedules_unrun) == (1, 0)


def test_the_next_tick_is_the_one_due_and_not_yet_run(engine: Engine, clock: VirtualClock) -> None:
    worker = _worker(engine, {**REPORT, "catchUp": "1h"})
    tick = engine.schedules(tenant="acme")[0].next_tick
    assert tick is not None
    clock.advance(tick - clock.now())
    assert worker.schedules.run_due() == 1
    clock.advance(20 * 60_000)  # the next quarter is due, its worker not come round yet
    assert worker.presence.beat()
    [due] = engine.schedules(tenant="acme")
    assert due.next_tick == tick + 15 * 60_000 < clock.now()
    assert due.catch_up == "1h"
    clock.advance("2h")  # those due now are the ones of the last hour: the oldest of them
    assert worker.presence.beat()
    [late] = engine.schedules(tenant="acme")
    assert late.next_tick == tick + 90 * 60_000  # 23:45, the first of the last hour (00:35)
