"""The demo's traffic, on virtual time: the real API in-process over the examples (the demo's
setup), a worker running the steps, the traffic acting through HTTP with an operator token.
What a few virtual minutes of it leave: every example started, orders shipped, a declined
order and an unreadable document in manual review with the steps' errors in their history,
and at most the allowed number of instances left waiting."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from statewright.api import ApiSettings, create_app
from statewright.cli.demo.folder import TENANT
from statewright.cli.demo.machines import FULL_MAILBOX, OUTBOX_RETRY, load
from statewright.cli.demo.traffic import Traffic, TrafficStopped
from statewright.engine import Engine
from statewright.runtime import Worker
from statewright.testing import Harness, VirtualClock

EXAMPLES = Path(__file__).parents[2] / "examples"


def run_traffic(seed: int, steps: int) -> tuple[Harness, Traffic]:
    machines, _, _ = load(EXAMPLES, TENANT)
    h = Harness(*machines)
    token = h.engine.create_token(tenant=TENANT, role="operator", name="traffic")[1]
    app = create_app(h.engine, ApiSettings(rate=0))
    client = TestClient(app, headers={"Authorization": f"Bearer {token}"})
    traffic = Traffic(client, rng=random.Random(seed), clock=lambda: h.clock.now() / 1000)
    with client:
        for _ in range(steps):
            traffic.step()
            h.advance("500ms")  # the pace of the demo's default rate, the worker keeping up
    return h, traffic


@pytest.mark.slow
def test_a_few_virtual_minutes_of_traffic_leave_every_status_the_console_shows() -> None:
    h, traffic = run_traffic(seed=3, steps=600)
    with h:
        instances = h.engine.list(tenant=TENANT, limit=1000)
        by_definition = Counter(i.definition_id for i in instances)
        assert set(by_definition) == {"order", "approval", "intake"}
        values = {i.id: i.value for i in instances}
        assert any(i.definition_id == "order" and i.value == "shipped" for i in instances)
        assert any(i.status == "done" for i in instances if i.definition_id == "intake")
        # The scripted opening: A-1003 (7200) declined, D-1004 unreadable, both in review.
        assert values["A-1003"] == "payment_failed"
        assert values["D-1004"] == "failed"
        errors = [
            e.event["type"]
            for e in h.engine.history("A-1003", tenant=TENANT)
            if e.event.get("error")
        ]
        assert errors == ["xstate.error.actor.payment"]
        # Every event was sent by the traffic's token, through the API.
        actors = {e.actor for i in instances for e in h.engine.history(i.id, tenant=TENANT)}
        assert {a.split(" ")[0] for a in actors if a} == {"traffic"}
        waiting = [i for i in instances if i.status == "active"]
        assert len(waiting) <= 20 + 12  # parked at most, and those in play
        assert traffic.events_sent > 50
        summary = traffic.summary()
        assert f"started {len(instances)} (" in summary and "in manual review" in summary


def test_the_traffic_stops_on_a_refused_token() -> None:
    machines, _, _ = load(EXAMPLES, TENANT)
    with Harness(*machines) as h:
        app = create_app(h.engine, ApiSettings(rate=0))
        forged = {"Authorization": "Bearer sw_000000000000_" + "x" * 43}
        with TestClient(app, headers=forged) as client:
            traffic = Traffic(client, rng=random.Random(1))
            with pytest.raises(TrafficStopped, match=r"refused the traffic's token \(401"):
                traffic.step()
        assert h.engine.list(tenant=TENANT) == []


def test_the_demos_full_mailbox_is_dead_lettered_at_once_and_delivered_when_redriven(
    tmp_path: Path,
) -> None:
    machines, listeners, _ = load(EXAMPLES, TENANT)
    clock = VirtualClock()
    with Engine.open(f"sqlite:///{tmp_path / 'demo.db'}", clock=clock) as engine:
        engine.store.migrate()
        for machine in machines:
            engine.register(machine)
        worker = Worker(engine, outbox_retry=OUTBOX_RETRY)
        for pattern, listener in listeners.items():
            worker.listen(pattern, listener)  # type: ignore[arg-type]
        for number, applicant in ((1, FULL_MAILBOX), (2, "ada")):
            engine.start(
                "intake", instance_id=f"R-{number}", tenant=TENANT, input={"applicant": applicant}
            )
            engine.send(f"R-{number}", "SUBMIT", tenant=TENANT)  # notifies the applicant

        worker.run_once()

        (dead,) = engine.store.dead_letters()
        assert (dead.instance_id, dead.attempts) == ("R-1", 1)
        assert dead.last_error == (
            "MailboxFull: margaret's mailbox is full; redrive the message once she has made room"
        )
        assert [m.status for m in engine.store.outbox(TENANT, "R-2")] == ["delivered"]
        assert engine.store.redrive(dead.message_id, clock.now())
        worker.run_once()
        assert [m.status for m in engine.store.outbox(TENANT, "R-1")] == ["delivered"]
