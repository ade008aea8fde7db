"""A delivery lost with its worker has spent an attempt: the claim charges it, so that a
message whose listener kills its worker every time is dead-lettered after the policy's
attempts (at the claim that finds them used up, without calling the listener again), as a
step whose worker is lost goes to onError. Time is virtual; a lost delivery is a claim left
to run out, as a killed worker leaves it."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from statewright import Machine
from statewright.engine import Engine
from statewright.runtime import RetryPolicy, Worker
from statewright.runtime.outbox import OutboxMessage
from statewright.store.records import OutboxRecord
from statewright.testing import VirtualClock

PING = {
    "id": "ping",
    "initial": "a",
    "states": {
        "a": {"on": {"GO": {"actions": [{"type": "emit", "params": {"event": {"type": "ping"}}}]}}}
    },
}
LEASE_MS = 1_000
POLICY = RetryPolicy(attempts=3, backoff="fixed", delay_ms=500, jitter=False)


@pytest.fixture
def engine(store_url: str, clock: VirtualClock) -> Iterator[Engine]:
    with Engine.open(store_url, clock=clock) as opened:
        opened.register(Machine.from_config(PING))
        emit(opened, "p-1")
        yield opened


def emit(engine: Engine, instance_id: str) -> None:
    engine.start("ping", instance_id=instance_id)
    engine.send(instance_id, "GO")


def worker_of(engine: Engine, got: list[OutboxMessage]) -> Worker:
    worker = Worker(engine, outbox_lease_ms=LEASE_MS)
    worker.outbox.policy = POLICY
    worker.listen("ping", got.append)
    return worker


def message(engine: Engine, instance_id: str) -> OutboxRecord:
    (record,) = engine.store.outbox("default", instance_id)
    return record


def lose_a_delivery(engine: Engine, clock: VirtualClock) -> OutboxRecord:
    """Claim p-1 as a worker does, then let its claim run out, as a killed worker leaves it."""
    (claimed,) = engine.store.due_outbox(clock.now(), 10, LEASE_MS, types=["ping"])
    clock.advance(LEASE_MS)
    return claimed


def test_the_claim_charges_the_attempt_the_listener_sees(engine: Engine) -> None:
    emit(engine, "p-2")
    seen: list[tuple[int, int]] = []

    def listener(received: OutboxMessage) -> None:
        seen.append((received.attempt, message(engine, received.instance_id).attempts))

    worker = Worker(engine)
    worker.listen("ping", listener)
    assert worker.run_once() == 2
    # While its listener runs, the message's stored attempts already count this delivery.
    assert seen == [(1, 1), (1, 1)]
    assert [(m.status, m.attempts) for m in (message(engine, "p-1"), message(engine, "p-2"))] == [
        ("delivered", 1),
        ("delivered", 1),
    ]


def test_each_lost_delivery_spends_an_attempt(engine: Engine, clock: VirtualClock) -> None:
    first = lose_a_delivery(engine, clock)
    second = lose_a_delivery(engine, clock)
    assert (first.attempts, second.attempts) == (1, 2)
    emit(engine, "p-2")
    got: list[OutboxMessage] = []
    assert worker_of(engine, got).run_once() == 2
    assert sorted((m.instance_id, m.attempt) for m in got) == [("p-1", 3), ("p-2", 1)]
    assert (message(engine, "p-1").status, message(engine, "p-1").attempts) == ("delivered", 3)


def test_a_message_whose_every_delivery_lost_its_worker_is_dead_lettered_at_the_claim(
    engine: Engine, clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(POLICY.attempts):
        lose_a_delivery(engine, clock)
    emit(engine, "p-2")
    got: list[OutboxMessage] = []
    with caplog.at_level(logging.WARNING, logger="statewright.worker"):
        assert worker_of(engine, got).run_once() == 1
    # The listener is not called again; the other message is delivered.
    assert [m.instance_id for m in got] == ["p-2"]
    dead = message(engine, "p-1")
    assert (dead.status, dead.attempts) == ("dead", 3)
    assert dead.last_error == (
        "statewright.WorkerLost: its worker stopped during each of its 3 deliveries (killed, "
        "or lost its store for a whole lease); see the worker logs"
    )
    assert [letter.message_id for letter in engine.store.dead_letters()] == ["default/p-1/2/0"]
    (line,) = [r for r in caplog.records if getattr(r, "kind", None) == "message_dead_lettered"]
    assert line.getMessage().startswith(
        "message dead-lettered: p-1 (tenant default) ping, message default/p-1/2/0, attempt 3 "
        "of 3: statewright.WorkerLost: its worker stopped during each of its 3 deliveries"
    )
    assert line.getMessage().endswith("; no attempts left; dead-lettered")
    # A redrive starts its attempts afresh.
    assert engine.store.redrive("default/p-1/2/0", clock.now())
    assert worker_of(engine, got).run_once() == 1
    assert (message(engine, "p-1").status, message(engine, "p-1").attempts) == ("delivered", 1)


def test_a_last_delivery_lost_after_a_failure_names_both(
    engine: Engine, clock: VirtualClock
) -> None:
    def refuse(received: OutboxMessage) -> None:
        raise ValueError("cannot take ping")

    worker = Worker(engine, outbox_lease_ms=LEASE_MS)
    worker.outbox.policy = POLICY
    worker.listen("ping", refuse)
    assert worker.run_once() == 0  # attempt 1 failed
    clock.advance(POLICY.delay_ms)
    lose_a_delivery(engine, clock)
    lose_a_delivery(engine, clock)
    assert message(engine, "p-1").attempts == 3
    got: list[OutboxMessage] = []
    worker_of(engine, got).run_once()
    dead = message(engine, "p-1")
    assert (dead.status, dead.attempts) == ("dead", 3)
    assert dead.last_error == (
        "statewright.WorkerLost: its worker stopped during its last delivery (attempt 3) "
        "(killed, or lost its store for a whole lease); see the worker logs; the failure "
        "before: ValueError: cannot take ping"
    )


def test_a_renewal_holds_the_claim_and_one_that_ran_out_renews_nothing(
    engine: Engine, clock: VirtualClock
) -> None:
    lost = lose_a_delivery(engine, clock)
    emit(engine, "p-2")
    renewals: list[bool] = []

    def listener(received: OutboxMessage) -> None:
        if received.instance_id != "p-1":
            return
        held = message(engine, "p-1")
        assert (received.attempt, held.attempts) == (2, 2)
        # The claim that ran out (attempt 1) renews nothing; the running one (attempt 2) does.
        renewals.append(engine.store.renew_outbox_lease(lost, lost.next_attempt_at, 10**15))
        renewals.append(
            engine.store.renew_outbox_lease(held, held.next_attempt_at, held.next_attempt_at + 5)
        )
        clock.advance(LEASE_MS)  # past the first lease: the renewal keeps the message ours
        again = engine.store.due_outbox(
            clock.now(), 10, LEASE_MS, types=["ping"], skip=["default/p-2/2/0"]
        )
        renewals.append(bool(again))

    worker = Worker(engine, outbox_lease_ms=LEASE_MS)
    worker.listen("ping", listener)
    assert worker.run_once() == 2
    assert renewals == [False, True, False]
    assert (message(engine, "p-1").status, message(engine, "p-1").attempts) == ("delivered", 2)
