"""The Harness runs a scenario as a worker on SQLite does: the same audit log, row for row.

The reference drives the real `Engine` and `Worker` on a SQLite file the way `Worker.run`
moves: a round of `run_once`, then a wait until the next due time the store reports, or the
poll at the latest (which is what catches a schedule's tick), here on a virtual clock."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from statewright import AuditEntry, Engine, Machine, Worker
from statewright.testing import Harness, VirtualClock, to_milliseconds
from statewright.testing.harness import DEFAULT_START_MS

EXAMPLES = Path(__file__).parents[2] / "examples"
POLL_MS = 60_000  # a worker's poll; every event here comes on a whole minute, as the ticks do


def declined(input: dict[str, object]) -> dict[str, object]:
    if input["orderId"] == "A-2":
        raise ConnectionError("gateway down")
    return {"paymentId": f"pay-{input['orderId']}"}


def machines() -> list[Machine]:
    return [
        Machine.load(EXAMPLES / "order" / "order.json", actors={"chargeCard": declined}),
        Machine.load(EXAMPLES / "intake" / "intake.json"),
    ]


SCHEDULES: list[dict[str, object]] = json.loads(
    (EXAMPLES / "intake" / "schedules.json").read_text()
)


class Reference:
    """The engine and a worker on SQLite, moved as `Worker.run` moves."""

    def __init__(self, url: str) -> None:
        self.clock = VirtualClock(DEFAULT_START_MS)
        self.engine = Engine.open(url, clock=self.clock)
        for machine in machines():
            self.engine.register(machine)
        self.worker = Worker(self.engine, concurrency=1)
        for schedule in SCHEDULES:
            self.worker.schedule(schedule)

    def start(self, definition: str, **options: object) -> None:
        self.engine.start(definition, **options)  # type: ignore[arg-type]
        self.worker.run_once()

    def send(self, instance_id: str, event: str | dict[str, object]) -> None:
        self.engine.send(instance_id, event)
        self.worker.run_once()

    def advance(self, amount: str) -> None:
        target = self.clock.now() + to_milliseconds(amount)
        while self.clock.now() < target:
            due = self.engine.store.next_work_at(
                outbox=False, srcs=sorted(self.engine.registry.actor_sources())
            )
            wake = self.clock.now() + POLL_MS
            if due is not None:
                wake = min(due, wake)
            self.clock.advance(max(0, min(wake, target) - self.clock.now()))
            self.worker.run_once()

    def close(self) -> None:
        self.worker.close()
        self.engine.close()


def scenario(driver: Harness | Reference) -> None:
    driver.start("order", instance_id="A-1", input={"orderId": "A-1", "amount": 2500})
    driver.start("order", instance_id="A-2", input={"orderId": "A-2", "amount": 2500})
    driver.start("intake", instance_id="I-1", input={"applicant": "ann"})
    driver.advance("7m")
    driver.send("I-1", "SUBMIT")
    driver.send("A-2", {"type": "APPROVE", "by": "ann"})  # declined: retried, then review
    driver.advance("1h")
    driver.send("A-2", "CANCEL")
    driver.advance("2d")  # A-1 escalates; I-1 goes stale and the schedule escalates it
    driver.send("A-1", {"type": "APPROVE", "by": "bob"})
    driver.send("A-1", {"type": "SHIPPED", "tracking": "T-1"})
    driver.send("A-1", "RESERVED")


def audit(engine: Engine, instance_ids: list[str]) -> list[tuple[object, ...]]:
    """Each instance's transitions and failed step attempts, with their times and keys."""
    rows: list[tuple[object, ...]] = []
    for instance_id in instance_ids:
        for entry in engine.history(instance_id, attempts=True):
            if isinstance(entry, AuditEntry):
                rows.append(
                    (instance_id, entry.event["type"], entry.actor, entry.to_value,
                     entry.runtime_status, entry.at, entry.idempotency_key)
                )  # fmt: skip
            else:
                rows.append(
                    (instance_id, "attempt", entry.attempt, entry.error_type, entry.started_at,
                     entry.ended_at)
                )  # fmt: skip
    return rows


def run(make: Callable[[], Harness | Reference]) -> list[tuple[object, ...]]:
    driver = make()
    try:
        scenario(driver)
        return audit(driver.engine, ["A-1", "A-2", "I-1"])
    finally:
        driver.close()


@pytest.mark.slow
def test_the_harness_writes_the_audit_log_a_worker_writes(tmp_path: Path) -> None:
    def harness() -> Harness:
        h = Harness(*machines())
        for schedule in SCHEDULES:
            h.schedule(schedule)
        return h

    expected = run(lambda: Reference(f"sqlite:///{tmp_path / 'worker.db'}"))
    assert run(harness) == expected
    assert expected[-1][:3] == ("I-1", "ESCALATE", "schedule:escalate-stale-reviews")
