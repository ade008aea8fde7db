"""Outbox delivery on both backends: after commit, at least once, retried with backoff, then
dead-lettered and redrivable. Time is virtual."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from statewright import Machine
from statewright.engine import Engine
from statewright.errors import ConfigError
from statewright.runtime import OUTBOX_DEFAULT, Worker
from statewright.runtime.outbox import OUTBOX_LEASE_MS, OutboxMessage
from statewright.testing import VirtualClock

SHIPPING = {
    "id": "shipping",
    "initial": "packing",
    "states": {
        "packing": {
            "on": {
                "SHIP": {
                    "target": "shipped",
                    "actions": [
                        {
                            "type": "emit",
                            "params": {
                                "event": {
                                    "type": "order.shipped",
                                    "carrier": {"$expr": "event.carrier"},
                                }
                            },
                        }
                    ],
                },
                "PING": {"actions": [{"type": "emit", "params": {"event": {"type": "ping"}}}]},
            }
        },
        "shipped": {"type": "final"},
    },
}


@pytest.fixture
def engine(store_url: str, clock: VirtualClock) -> Iterator[Engine]:
    with Engine.open(store_url, clock=clock) as opened:
        opened.register(Machine.from_config(SHIPPING))
        yield opened


def statuses(engine: Engine, instance_id: str) -> list[tuple[str, int]]:
    return [(m.status, m.attempts) for m in engine.store.outbox("default", instance_id)]


def test_messages_are_delivered_once_after_commit_with_a_stable_id(engine: Engine) -> None:
    received: list[OutboxMessage] = []
    worker = Worker(engine)
    worker.listen("order.*", received.append)
    engine.start("shipping", instance_id="s-1")
    engine.send("s-1", {"type": "SHIP", "carrier": "DHL"})

    assert worker.run_once() == 1
    assert worker.run_once() == 0

    (message,) = received
    assert message.id == "default/s-1/2/0"
    assert message.event == {"type": "order.shipped", "carrier": "DHL"}
    assert (message.instance_id, message.version, message.attempt) == ("s-1", 2, 1)
    assert statuses(engine, "s-1") == [("delivered", 1)]


def test_a_failing_listener_is_retried_with_backoff_then_succeeds(
    engine: Engine, clock: VirtualClock
) -> None:
    calls: list[int] = []

    def flaky(message: OutboxMessage) -> None:
        calls.append(message.attempt)
        if len(calls) < 3:
            raise ConnectionError("receiver down")

    worker = Worker(engine)
    worker.listen("*", flaky)
    engine.start("shipping", instance_id="s-1")
    engine.send("s-1", {"type": "SHIP", "carrier": "UPS"})

    worker.run_once()
    assert statuses(engine, "s-1") == [("pending", 1)]
    (record,) = engine.store.outbox("default", "s-1")
    assert record.last_error == "ConnectionError: receiver down"
    assert 5_000 <= record.next_attempt_at - clock.now() <= 10_000
    worker.run_once()
    assert calls == [1]
    clock.advance(10_000)
    worker.run_once()
    clock.advance("1m")
    worker.run_once()

    assert calls == [1, 2, 3]
    assert statuses(engine, "s-1") == [("delivered", 3)]


def test_exhausted_messages_are_dead_lettered_and_can_be_redriven(
    engine: Engine, clock: VirtualClock
) -> None:
    broken = True

    def receiver(message: OutboxMessage) -> None:
        if broken:
            raise TimeoutError("no answer")

    worker = Worker(engine)
    worker.listen("ping", receiver)
    engine.start("shipping", instance_id="s-1")
    engine.send("s-1", "PING")
    for _ in range(OUTBOX_DEFAULT.attempts):
        worker.run_once()
        clock.advance("2h")

    (dead,) = engine.store.dead_letters()
    assert (dead.message_id, dead.status, dead.attempts) == ("default/s-1/2/0", "dead", 10)
    assert dead.last_error == "TimeoutError: no answer"
    broken = False
    assert engine.store.redrive(dead.message_id, clock.now())
    assert worker.run_once() == 1
    assert engine.store.dead_letters() == []


def test_a_message_no_worker_listens_for_waits_uncharged_for_one_that_does(
    engine: Engine, clock: VirtualClock
) -> None:
    engine.start("shipping", instance_id="s-1")
    engine.send("s-1", "PING")
    (emitted,) = engine.store.outbox("default", "s-1")
    shipping_only = Worker(engine)
    shipping_only.listen("order.*", lambda message: None)
    shipping_only.listen("pin", lambda message: None)

    assert shipping_only.run_once() == 0
    clock.advance("2h")
    assert shipping_only.run_once() == 0

    (waiting,) = engine.store.outbox("default", "s-1")
    assert waiting == emitted  # not claimed, not charged, not dead-lettered
    assert engine.store.dead_letters() == []
    # Nor does it keep the worker awake: it is no work of this worker's.
    outbox = shipping_only.outbox
    assert engine.store.next_work_at(outbox=True, outbox_types=outbox.patterns) is None
    received: list[OutboxMessage] = []
    pinging = Worker(engine)
    pinging.listen("ping", received.append)
    assert pinging.run_once() == 1
    assert [(m.event, m.attempt) for m in received] == [({"type": "ping"}, 1)]
    assert statuses(engine, "s-1") == [("delivered", 1)]


def test_a_listener_reacts_through_the_engine_it_is_given(engine: Engine) -> None:
    def ship_the_next(message: OutboxMessage) -> None:
        if message.instance_id != "s-1":
            return
        message.engine.send(
            "s-2",
            {"type": "SHIP", "carrier": "relay"},
            tenant=message.tenant,
            idempotency_key=message.id,
        )
        message.engine.start("shipping", instance_id="s-3", tenant=message.tenant)

    worker = Worker(engine)
    worker.listen("order.shipped", ship_the_next)
    engine.start("shipping", instance_id="s-1")
    engine.start("shipping", instance_id="s-2")
    engine.send("s-1", {"type": "SHIP", "carrier": "DHL"})

    assert worker.run_once() == 2  # s-1's message, then the one s-2 emitted in reaction

    assert engine.get("s-2").status == "done"
    assert engine.history("s-2")[-1].event == {"type": "SHIP", "carrier": "relay"}
    assert engine.get("s-3").value == "packing"
    assert statuses(engine, "s-2") == [("delivered", 1)]


def test_without_listeners_messages_wait(engine: Engine) -> None:
    engine.start("shipping", instance_id="s-1")
    engine.send("s-1", "PING")
    assert Worker(engine).run_once() == 0
    assert statuses(engine, "s-1") == [("pending", 0)]


@pytest.mark.parametrize("lease_ms", [None, 5_000])
def test_a_claimed_message_is_held_for_the_outbox_lease_then_another_worker_may_take_it(
    engine: Engine, clock: VirtualClock, lease_ms: int | None
) -> None:
    held = OUTBOX_LEASE_MS if lease_ms is None else lease_ms
    other = Worker(engine)
    taken_over: list[OutboxMessage] = []
    other.listen("ping", taken_over.append)
    seen: list[tuple[str, int]] = []

    def outlasts_its_lease(message: OutboxMessage) -> None:
        (record,) = engine.store.outbox("default", "s-1")
        seen.append(("claimed for", record.next_attempt_at - clock.now()))
        clock.advance(held - 1)
        seen.append(("just before the lease ends", other.run_once()))
        clock.advance(1)
        seen.append(("when it ends", other.run_once()))

    worker = Worker(engine) if lease_ms is None else Worker(engine, outbox_lease_ms=lease_ms)
    worker.listen("ping", outlasts_its_lease)
    engine.start("shipping", instance_id="s-1")
    engine.send("s-1", "PING")

    assert worker.run_once() == 0  # delivered, but the other worker had taken it over

    assert seen == [
        ("claimed for", held),
        ("just before the lease ends", 0),
        ("when it ends", 1),
    ]
    # Virtual time ran past the lease with no renewal (as when a worker stalls): twice. The
    # claim that ran out counts as an attempt, as one lost with its worker does.
    assert [m.attempt for m in taken_over] == [2]
    assert statuses(engine, "s-1") == [("delivered", 2)]


def test_a_message_is_claimed_at_its_turn_so_one_another_worker_delivered_meanwhile_is_not(
    engine: Engine, clock: VirtualClock
) -> None:
    other = Worker(engine)
    other_got: list[str] = []
    other.listen("ping", lambda message: other_got.append(message.id))
    got: list[str] = []

    def slow(message: OutboxMessage) -> None:
        got.append(message.id)
        clock.advance(1_000)  # the claim runs out meanwhile
        other.run_once()

    worker = Worker(engine, outbox_lease_ms=1_000)
    worker.listen("ping", slow)
    engine.start("shipping", instance_id="s-1")
    engine.send("s-1", "PING")
    engine.send("s-1", "PING")

    worker.run_once()

    # The first ran past its lease and was taken over (delivered twice, its second delivery
    # its second attempt); the second, claimed only when its turn came, had been delivered by
    # the other worker by then, so only the other worker has it, on its first attempt.
    assert len(got) == 1
    assert sorted(other_got) == ["default/s-1/2/0", "default/s-1/3/0"]
    assert statuses(engine, "s-1") == [("delivered", 2), ("delivered", 1)]


@pytest.mark.parametrize("lease_ms", [0, -5, 1.5])
def test_an_outbox_lease_that_is_not_a_positive_whole_number_is_refused(
    engine: Engine, lease_ms: int
) -> None:
    with pytest.raises(ConfigError, match=r"outbox_lease_ms must be a whole number .* not"):
        Worker(engine, outbox_lease_ms=lease_ms)


class Abort(BaseException):
    """Not an Exception, as some libraries' cancellation and abort signals are not."""


@pytest.mark.parametrize(
    ("error", "recorded"),
    [(Abort("receiver aborted"), "Abort: receiver aborted"), (SystemExit(2), "SystemExit: 2")],
)
def test_a_listener_raising_a_base_exception_fails_the_attempt_and_the_worker_goes_on(
    engine: Engine, error: BaseException, recorded: str
) -> None:
    def receiver(message: OutboxMessage) -> None:
        raise error

    worker = Worker(engine)
    worker.listen("ping", receiver)
    engine.start("shipping", instance_id="s-1")
    engine.send("s-1", "PING")

    assert worker.run_once() == 0

    assert statuses(engine, "s-1") == [("pending", 1)]
    (record,) = engine.store.outbox("default", "s-1")
    assert record.last_error == recorded
