"""Cron schedules on both backends: each tick runs once across workers, sends events with an
idempotency key or starts an instance. Time is virtual."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from statewright import Machine
from statewright.engine import Engine
from statewright.errors import ConfigError
from statewright.runtime import Worker
from statewright.testing import VirtualClock

QUARTER = 15 * 60_000
START = 1_700_000_000_000  # 2023-11-14T22:13:20Z
NEXT_QUARTER = START - START % QUARTER + QUARTER

INTAKE = {
    "id": "intake",
    "initial": "draft",
    "states": {
        "draft": {"on": {"SUBMIT": "in_review"}},
        "in_review": {"on": {"ESCALATE": "escalated"}},
        "escalated": {},
    },
}
REPORT = {
    "id": "report",
    "initial": "ready",
    "context": {"day": {"$expr": "input.day"}},
    "states": {"ready": {}},
}
ESCALATE = {
    "name": "escalate-stale",
    "cron": "*/15 * * * *",
    "action": {"event": "ESCALATE", "where": {"definition": "intake"}},
}


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


def open_engine(url: str, clock: VirtualClock) -> Engine:
    engine = Engine.open(url, clock=clock)
    engine.register(Machine.from_config(INTAKE))
    engine.register(Machine.from_config(REPORT))
    return engine


@pytest.fixture
def engine(store_url: str, clock: VirtualClock) -> Iterator[Engine]:
    with open_engine(store_url, clock) as opened:
        yield opened


def escalations(engine: Engine, instance_id: str) -> list[str | None]:
    return [e.actor for e in engine.history(instance_id) if e.event["type"] == "ESCALATE"]


def run_at_once(workers: list[Worker], engines: list[Engine]) -> list[int]:
    """Each worker's `run_once` on a thread of its own, all at once; then the engines closed.
    What each ran."""
    ran: list[int] = []
    try:
        threads = [threading.Thread(target=lambda w=w: ran.append(w.run_once())) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for other in engines:
            other.close()
    return ran


def test_a_tick_sends_the_event_to_matching_instances_once(
    engine: Engine, clock: VirtualClock
) -> None:
    for instance_id in ("r-1", "r-2", "d-1"):
        engine.start("intake", instance_id=instance_id)
    engine.send("r-1", "SUBMIT")
    engine.send("r-2", "SUBMIT")
    worker = Worker(engine)
    worker.schedule(ESCALATE)

    assert worker.run_once() == 0
    clock.advance(NEXT_QUARTER - START)
    assert worker.run_once() == 1
    assert worker.run_once() == 0

    assert engine.get("r-1").value == "escalated" and engine.get("r-2").value == "escalated"
    assert engine.get("d-1").value == "draft"
    assert escalations(engine, "r-1") == ["schedule:escalate-stale"]
    assert engine.history("r-1")[-1].idempotency_key == f"schedule/escalate-stale/{NEXT_QUARTER}"


def test_missed_ticks_run_after_downtime_with_catch_up_all(
    engine: Engine, clock: VirtualClock
) -> None:
    worker = Worker(engine)
    worker.schedule(
        {
            "name": "daily-report",
            "cron": "0 2 * * *",
            "catchUp": "all",
            "action": {"start": "report", "input": {"day": "today"}},
        }
    )
    worker.run_once()

    clock.advance("3d")

    assert worker.run_once() == 3
    assert len(engine.list(definition_id="report")) == 3
    assert worker.run_once() == 0


MINUTE = 60_000
REMIND = {
    "name": "remind",
    "cron": "* * * * *",
    "action": {"event": "ESCALATE", "where": {"definition": "intake"}},
}


def _reviews(engine: Engine, count: int) -> None:
    for index in range(count):
        engine.start("intake", instance_id=f"r-{index}")
        engine.send(f"r-{index}", "SUBMIT")


def _skips(logged: pytest.LogCaptureFixture, name: str) -> list[str]:
    return [
        r.getMessage()
        for r in logged.records
        if r.getMessage().startswith(f"schedule {name}: ") and "skipped" in r.getMessage()
    ]


def test_after_a_day_down_only_the_latest_missed_tick_runs_by_default(
    engine: Engine, clock: VirtualClock, logged: pytest.LogCaptureFixture
) -> None:
    """The operator's case: every minute, the workers down for a day. The next pass runs
    one tick, not 1,440, and says once how many it skipped and how to run them."""
    _reviews(engine, 2)
    worker = Worker(engine)
    worker.schedule(REMIND)
    worker.run_once()
    clock.advance(MINUTE - START % MINUTE)  # the first tick: run
    assert worker.run_once() == 1
    first = clock.now()

    clock.advance("1d")
    assert worker.run_once() == 1
    assert worker.run_once() == 0

    (tick,) = engine.store.last_ticks(["remind"])
    assert (tick.tick_at, tick.status) == (first + 1440 * MINUTE, "done")
    (line,) = _skips(logged, "remind")
    assert line.startswith(
        "schedule remind: 1439 missed ticks skipped, from 2023-11-14T22:15:00Z to "
        '2023-11-15T22:13:00Z (catchUp "latest", the default: only the latest missed tick runs)'
    )
    assert '"catchUp" on the schedule to a window such as "1h", or to "all"' in line
    clock.advance(MINUTE)  # the schedule goes on ticking: nothing more is skipped
    assert worker.run_once() == 1
    assert len(_skips(logged, "remind")) == 1


def test_a_catch_up_window_runs_the_missed_ticks_that_recent_and_skips_the_older(
    engine: Engine, clock: VirtualClock, logged: pytest.LogCaptureFixture
) -> None:
    _reviews(engine, 1)
    worker = Worker(engine)
    worker.schedule({**REMIND, "catchUp": "1h"})
    worker.run_once()
    clock.advance(MINUTE - START % MINUTE)
    assert worker.run_once() == 1

    clock.advance("1d")
    clock.advance(30_000)  # mid-minute: the 60 ticks of the last hour are in the window
    assert worker.run_once() == 60
    assert worker.run_once() == 0
    (line,) = _skips(logged, "remind")
    assert line.startswith("schedule remind: 1380 missed ticks skipped, from ")
    assert 'catchUp "1h": only the missed ticks at most that old run' in line


def test_a_window_that_no_missed_tick_is_in_skips_them_all_once_and_the_next_tick_runs(
    engine: Engine, clock: VirtualClock, logged: pytest.LogCaptureFixture
) -> None:
    """As a Kubernetes CronJob past its startingDeadlineSeconds: a nightly report missed by
    more than its window does not run late; the next night's does."""
    worker = Worker(engine)
    worker.schedule(
        {
            "name": "daily-report",
            "cron": "0 2 * * *",
            "catchUp": "1h",
            "action": {"start": "report", "input": {"day": "today"}},
        }
    )
    worker.run_once()
    clock.advance("7h")  # 2023-11-15T05:13Z: the 02:00 tick is 3 h old

    assert worker.run_once() == 0
    assert worker.run_once() == 0
    assert engine.list(definition_id="report") == []
    (line,) = _skips(logged, "daily-report")
    assert line.startswith(
        "schedule daily-report: 1 missed tick skipped, from 2023-11-15T02:00:00Z to "
        "2023-11-15T02:00:00Z"
    )
    next_night = START - START % 86_400_000 + 86_400_000 + 26 * 3_600_000  # the 16th, 02:00
    assert worker.schedules.next_due() == next_night
    clock.advance("21h")  # 02:13 on the 16th: that tick is in the window
    assert worker.run_once() == 1
    assert [i.id for i in engine.list(definition_id="report")] == [f"daily-report-{next_night}"]
    assert len(_skips(logged, "daily-report")) == 1


def test_racing_workers_after_downtime_run_the_latest_missed_tick_once(
    engine: Engine, clock: VirtualClock, store_url: str
) -> None:
    _reviews(engine, 3)
    engines = [open_engine(store_url, clock) for _ in range(3)]
    workers = [Worker(e) for e in engines]
    for worker in workers:
        worker.schedule(ESCALATE)
    clock.advance("1d")
    ran = run_at_once(workers, engines)

    assert sum(ran) == 1
    for index in range(3):
        assert escalations(engine, f"r-{index}") == ["schedule:escalate-stale"]


def test_racing_workers_run_each_tick_once(
    engine: Engine, clock: VirtualClock, store_url: str
) -> None:
    for index in range(10):
        engine.start("intake", instance_id=f"r-{index}")
        engine.send(f"r-{index}", "SUBMIT")
    engines = [open_engine(store_url, clock) for _ in range(3)]
    workers = [Worker(e) for e in engines]
    for worker in workers:
        worker.schedule(ESCALATE)
    clock.advance(NEXT_QUARTER - START)
    ran = run_at_once(workers, engines)

    assert sum(ran) == 1
    for index in range(10):
        assert escalations(engine, f"r-{index}") == ["schedule:escalate-stale"]


@pytest.mark.parametrize(
    ("action", "why"),
    [
        ({"start": "reprot"}, "no definition 'reprot'"),
        ({"start": "tally", "input": {"count": "x"}}, "refused the event"),
    ],
)
def test_a_tick_whose_start_is_refused_is_logged_and_the_worker_goes_on(
    engine: Engine,
    clock: VirtualClock,
    logged: pytest.LogCaptureFixture,
    action: dict[str, object],
    why: str,
) -> None:
    tally = {"id": "tally", "context": {"next": {"$expr": "input.count + 1"}}, "states": {}}
    engine.register(Machine.from_config(tally))
    engine.start("intake", instance_id="i-1")
    engine.send("i-1", "SUBMIT")
    worker = Worker(engine)
    worker.schedule({"name": "daily-report", "cron": "*/15 * * * *", "action": action})
    worker.schedule(ESCALATE)
    clock.advance(NEXT_QUARTER - START)

    assert worker.run_once() == 2  # both ticks done; the refused one does not stop the round

    assert escalations(engine, "i-1") == ["schedule:escalate-stale"]
    assert engine.list(definition_id="tally") == []
    (line,) = [r.getMessage() for r in logged.records if "daily-report" in r.getMessage()]
    assert line.startswith("schedule daily-report: tick 2023-11-14T22:15:00Z not run: ")
    assert why in line
    clock.advance(QUARTER)
    assert worker.run_once() == 2  # the next tick is claimed and tried again


def test_a_dead_workers_tick_is_taken_over_before_the_ticks_after_it(
    engine: Engine, clock: VirtualClock
) -> None:
    """A worker died holding a tick (claimed, its action not run): the next ticks wait for
    the take-over when its lease ends, rather than passing it by and leaving it unrun."""
    daily = {
        "name": "daily-report",
        "cron": "0 2 * * *",
        "action": {"start": "report", "input": {"day": "today"}},
    }
    worker = Worker(engine)
    worker.schedule(daily)
    worker.run_once()
    day = 86_400_000
    first = START - START % day + day + 2 * 3_600_000  # 2023-11-15T02:00Z
    clock.advance("2d")  # two ticks due: a worker that died claimed the first
    assert engine.store.claim_tick("daily-report", first, clock.now(), worker.schedules.lease_ms)

    assert worker.run_once() == 0  # the next tick waits while the claim is held
    assert engine.list(definition_id="report") == []

    clock.advance(worker.schedules.lease_ms)  # the claim ends: taken over, then the next
    assert worker.run_once() == 2
    started = sorted(i.id for i in engine.list(definition_id="report"))
    assert started == [f"daily-report-{first}", f"daily-report-{first + day}"]
    assert worker.run_once() == 0


LEASE = 60_000


def _slow_sends(
    monkeypatch: pytest.MonkeyPatch,
    engine: Engine,
    clock: VirtualClock,
    each_ms: int,
    during: dict[int, object],
) -> None:
    """Each send of `engine` takes `each_ms` of the virtual clock, and before the n-th (from
    1) the callable `during[n]` runs: another worker's pass, as it would meanwhile."""
    sent = [0]
    original = engine.send

    def slow_send(*args: object, **kwargs: object) -> object:
        sent[0] += 1
        step = during.get(sent[0])
        if callable(step):
            step()
        clock.advance(each_ms)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "send", slow_send)


def test_a_tick_whose_action_outlasts_its_lease_keeps_its_claim(
    engine: Engine, clock: VirtualClock, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An event for a large fleet can take longer than one lease: the claim is renewed
    while it runs, so no other worker takes the tick over and runs it beside this one."""
    for index in range(10):
        engine.start("intake", instance_id=f"r-{index}")
        engine.send(f"r-{index}", "SUBMIT")
    worker = Worker(engine)
    worker.schedules.lease_ms = LEASE
    worker.schedule(ESCALATE)
    clock.advance(NEXT_QUARTER - START)
    with open_engine(store_url, clock) as other_engine:
        other = Worker(other_engine)
        other.schedules.lease_ms = LEASE
        other.schedule(ESCALATE)
        others_ran: list[int] = []
        # 10 sends of 25 s each: 250 s, four leases; the other worker looks at 150 s.
        _slow_sends(
            monkeypatch, engine, clock, 25_000, {7: lambda: others_ran.append(other.run_once())}
        )

        assert worker.run_once() == 1
        assert others_ran == [0]
        assert other.run_once() == 0

    for index in range(10):
        assert escalations(engine, f"r-{index}") == ["schedule:escalate-stale"]
    (tick,) = engine.store.last_ticks(["escalate-stale"])
    assert (tick.tick_at, tick.status, tick.claims) == (NEXT_QUARTER, "done", 1)


def test_a_worker_that_stalled_past_its_lease_leaves_the_tick_to_its_new_holder(
    engine: Engine,
    clock: VirtualClock,
    store_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A worker that stalled past its lease (a pause of the process, a long send) finds at
    its next renewal that another worker took the tick over: it stops there and leaves the
    tick to that worker, which runs it to the end and marks it done."""
    for index in range(6):
        engine.start("intake", instance_id=f"r-{index}")
        engine.send(f"r-{index}", "SUBMIT")
    worker = Worker(engine)
    worker.schedules.lease_ms = LEASE
    worker.schedule(ESCALATE)
    clock.advance(NEXT_QUARTER - START)
    with open_engine(store_url, clock) as other_engine:
        other = Worker(other_engine)
        other.schedules.lease_ms = LEASE
        other.schedule(ESCALATE)
        others_ran: list[int] = []

        def stall_then_the_other_takes_over() -> None:
            clock.advance(LEASE + 1)
            others_ran.append(other.run_once())

        _slow_sends(monkeypatch, engine, clock, 1_000, {3: stall_then_the_other_takes_over})
        caplog.set_level("WARNING", logger="statewright.worker")

        assert worker.run_once() == 0  # stopped at its renewal, the tick not its own
        assert others_ran == [1]

    assert "taken over by another worker" in caplog.text
    for index in range(6):
        assert escalations(engine, f"r-{index}") == ["schedule:escalate-stale"]
    (tick,) = engine.store.last_ticks(["escalate-stale"])
    assert (tick.tick_at, tick.status, tick.claims) == (NEXT_QUARTER, "done", 2)


def test_a_second_schedule_of_the_same_name_is_refused(engine: Engine) -> None:
    worker = Worker(engine)
    first = worker.schedule({"name": "nightly", "cron": "0 2 * * *", "action": {"start": "report"}})
    with pytest.raises(ConfigError) as refused:
        worker.schedule({"name": "nightly", "cron": "0 3 * * *", "action": {"start": "report"}})
    assert str(refused.value) == (
        "schedule 'nightly': this worker runs a schedule of that name already ('0 2 * * *' in "
        "UTC); its ticks are claimed by name, so give each schedule a name of its own, or "
        "drop one"
    )
    with pytest.raises(ConfigError, match=r"the same schedule given twice"):
        worker.schedule(first)
    assert worker.schedules.specs() == [first.to_json()]  # the first one stays
