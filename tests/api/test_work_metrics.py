"""GET /api/metrics: the work gauges, every tenant's work read from the store at scrape time
(instances per status, overdue timers, due and running steps, the outbox and its dead
letters, how late the oldest due work is, the live workers), never naming a tenant."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from statewright import Machine
from statewright.api import ApiSettings, create_app
from statewright.api.metrics import Metrics, WorkCollector
from statewright.engine import Engine, WorkSummary
from statewright.engine.workers import WORKER_GONE_MS
from statewright.errors import StoreUnavailable
from statewright.store.records import WorkerRecord
from statewright.testing import VirtualClock

#: A tenant, definitions and instances whose names must never reach the metrics.
TENANT = "zanzibar-tenant-q7x"
T0 = 1_800_000_000_000

SLEEPER = {
    "id": "sleeper-def-k2",
    "initial": "idle",
    "states": {"idle": {"after": {"60000": "woke"}}, "woke": {"type": "final"}},
}
PAYER = {
    "id": "payer-def-k2",
    "initial": "charging",
    "states": {
        "charging": {"invoke": {"id": "charge", "src": "charge", "onDone": "paid"}},
        "paid": {"type": "final"},
    },
}
NOTIFIER = {
    "id": "notifier-def-k2",
    "initial": "sent",
    "states": {
        "sent": {
            "entry": [{"type": "emit", "params": {"event": {"type": "order.placed"}}}],
            "on": {"CLOSE": "closed"},
        },
        "closed": {"type": "final"},
    },
}


def _worker(worker_id: str, heartbeat_at: int, schedule: str) -> WorkerRecord:
    spec = {"name": schedule, "cron": "0 3 * * *", "timezone": "UTC"}
    spec["action"] = {"start": "sleeper-def-k2", "tenant": TENANT}
    return WorkerRecord(
        id=worker_id,
        host="box-1",
        pid=4242,
        steps=json.dumps(["charge"]),
        listeners=json.dumps(["order.*"]),
        started_at=heartbeat_at - 1000,
        heartbeat_at=heartbeat_at,
        schedules=json.dumps([spec]),
    )


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    with Engine.open(store_url, clock=VirtualClock(start_ms=T0)) as engine:
        for config in (SLEEPER, PAYER, NOTIFIER):
            engine.register(Machine.from_config(config))
        yield engine


def _scrape(engine: Engine) -> str:
    token = engine.create_token(tenant=TENANT, role="viewer")[1]
    app = create_app(engine, ApiSettings(rate=0))
    with TestClient(app) as client:
        response = client.get("/api/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    return response.text


def _samples(text: str) -> dict[str, float]:
    """The samples of the work gauges, by name with labels."""
    found = {}
    for line in text.splitlines():
        match = re.match(r"^(statewright_(?!http_)\S+) (\S+)$", line)
        if match:
            found[match[1]] = float(match[2])
    return found


def test_the_work_gauges_count_every_kind_of_waiting_work_and_its_lag(engine: Engine) -> None:
    clock = engine.clock
    assert isinstance(clock, VirtualClock)
    store = engine.store
    engine.start("sleeper-def-k2", instance_id="sleep-1", tenant=TENANT)
    engine.start("sleeper-def-k2", instance_id="sleep-2", tenant=TENANT)
    clock.advance(10_000)  # T0 + 10 s
    engine.start("sleeper-def-k2", instance_id="sleep-3", tenant=TENANT)  # due at T0 + 70 s
    for n in (1, 2, 3):
        engine.start("payer-def-k2", instance_id=f"pay-{n}", tenant=TENANT)
        engine.start("notifier-def-k2", instance_id=f"note-{n}", tenant="default")
    clock.advance(55_000)  # T0 + 65 s: two timers 5 s overdue, one due in 5 s
    now = clock.now()
    # Steps: one claimed (running), one failed and waiting 100 s for its retry, one due
    # since T0 + 10 s.
    [running] = store.claim_steps(now, 30_000, limit=1)
    [failing] = store.claim_steps(now, 30_000, limit=1)
    assert store.retry_step(failing, next_attempt_at=now + 100_000, error="boom")
    # Messages: one dead-lettered, one claimed by a worker, one due since T0 + 10 s.
    [dead] = store.due_outbox(now, limit=1, lease_ms=30_000)
    assert store.outbox_failed(dead, error="gone", next_attempt_at=now, dead=True)
    assert len(store.due_outbox(now, limit=1, lease_ms=30_000)) == 1
    # Schedules: one run by the live worker, its last tick stalled (its claim ran out); one
    # run only by a worker gone quiet.
    store.register_worker(_worker("w-live", now, "nightly-sched-k2"))
    store.register_worker(_worker("w-quiet", now - WORKER_GONE_MS - 1000, "hourly-sched-k2"))
    assert store.claim_tick("nightly-sched-k2", now - 120_000, now - 120_000, 1000)

    text = _scrape(engine)

    samples = _samples(text)
    assert {name: value for name, value in samples.items() if "instances" not in name} == {
        "statewright_store_up": 1.0,
        "statewright_timers_overdue": 2.0,
        "statewright_steps_due": 1.0,
        "statewright_steps_running": 1.0,
        "statewright_steps_retrying": 1.0,
        "statewright_outbox_due": 1.0,
        "statewright_outbox_pending": 2.0,
        "statewright_outbox_dead": 1.0,
        "statewright_timer_lag_seconds": 5.0,
        "statewright_step_lag_seconds": 55.0,
        "statewright_outbox_lag_seconds": 55.0,
        "statewright_work_lag_seconds": 55.0,
        "statewright_workers_live": 1.0,
        "statewright_schedules": 2.0,
        "statewright_schedules_without_live_worker": 1.0,
        "statewright_schedules_stalled": 1.0,
    }
    instances = {name: value for name, value in samples.items() if "instances" in name}
    assert instances == {
        'statewright_instances{runtime_status="active",status="active"}': 3.0,
        'statewright_instances{runtime_status="waiting",status="active"}': 3.0,
        'statewright_instances{runtime_status="running",status="active"}': 2.0,
        'statewright_instances{runtime_status="retrying",status="active"}': 1.0,
        'statewright_instances{runtime_status="done",status="done"}': 0.0,
        'statewright_instances{runtime_status="error",status="error"}': 0.0,
        'statewright_instances{runtime_status="stopped",status="stopped"}': 0.0,
    }
    assert "# HELP statewright_work_lag_seconds" in text
    # Nothing names a tenant, a definition or an instance.
    for secret in (
        TENANT,
        "default",
        "-def-k2",
        "sleep-",
        "pay-",
        "note-",
        "w-live",
        "box-1",
        "sched-k2",
    ):
        assert secret not in text
    assert running.invoke_id == "charge"


def test_with_no_work_every_count_and_lag_is_zero(engine: Engine) -> None:
    samples = _samples(_scrape(engine))
    assert samples["statewright_store_up"] == 1.0
    for name in ("timer", "step", "outbox", "work"):
        assert samples[f"statewright_{name}_lag_seconds"] == 0.0
    for name in ("timers_overdue", "steps_due", "outbox_pending", "outbox_dead", "schedules"):
        assert samples[f"statewright_{name}"] == 0.0


def test_counts_stop_at_the_cap(engine: Engine) -> None:
    for n in range(3):
        engine.start("notifier-def-k2", instance_id=f"note-{n}")
    summary = engine.work_summary(count_cap=2)
    assert (summary.outbox_pending, summary.outbox_due, summary.count_cap) == (2, 2, 2)
    assert engine.work_summary().outbox_pending == 3


def test_when_the_store_cannot_be_read_the_request_metrics_are_still_served(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def away(now: int, cap: int) -> object:
        raise StoreUnavailable("the database is locked: try again")

    monkeypatch.setattr(engine.store, "work_summary", away)
    text = _scrape(engine)
    assert "statewright_store_up 0.0" in text
    assert "statewright_http_requests_total" in text
    assert "statewright_timers_overdue" not in text
    assert "statewright_instances" not in text


def _summary(lag_ms: int) -> WorkSummary:
    return WorkSummary(
        now=0, instances={}, timers_overdue=0, steps_due=0, steps_running=0, steps_retrying=0,
        outbox_due=0, outbox_pending=0, outbox_dead=0, timer_lag_ms=lag_ms, step_lag_ms=0,
        outbox_lag_ms=0, workers_live=0, schedules=0, schedules_unrun=0, schedules_stalled=0,
        count_cap=1,
    )  # fmt: skip


def test_one_read_serves_the_scrapes_of_a_second() -> None:
    reads: list[int] = []
    seconds = [100.0]

    def read() -> WorkSummary:
        reads.append(1)
        if len(reads) == 2:
            raise StoreUnavailable("away")
        return _summary(1000 * len(reads))

    collector = WorkCollector(read, cache_s=1.0, monotonic=lambda: seconds[0])
    lag = {
        "first": [m for m in collector.collect() if m.name == "statewright_timer_lag_seconds"],
    }
    seconds[0] += 0.5
    lag["cached"] = [m for m in collector.collect() if m.name == "statewright_timer_lag_seconds"]
    assert len(reads) == 1
    assert lag["first"][0].samples[0].value == lag["cached"][0].samples[0].value == 1.0
    seconds[0] += 1.0  # the read fails: the store's gauge is 0, no work gauges
    away = {m.name: m for m in collector.collect()}
    assert len(reads) == 2
    assert set(away) == {"statewright_store_up"}
    assert away["statewright_store_up"].samples[0].value == 0
    seconds[0] += 1.0  # back
    back = {m.name: m for m in collector.collect()}
    assert back["statewright_store_up"].samples[0].value == 1
    assert back["statewright_timer_lag_seconds"].samples[0].value == 3.0


def test_registering_the_work_gauges_reads_nothing() -> None:
    reads: list[int] = []

    def read() -> WorkSummary:
        reads.append(1)
        return _summary(0)

    metrics = Metrics(read)
    assert reads == []
    assert metrics.registry.get_sample_value("statewright_store_up") == 1.0
    assert reads == [1]


def test_every_work_gauge_is_documented_in_docs_api_md() -> None:
    collector = WorkCollector(lambda: _summary(0))
    names = {metric.name for metric in collector.describe()}
    text = (Path(__file__).parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(statewright_\w+)", text, flags=re.MULTILINE))
    assert len(names) == 17
    assert names == documented
