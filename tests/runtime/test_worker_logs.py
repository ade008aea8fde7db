"""What the worker logs at INFO: one line per timer fired, message delivered, failed and
dead-lettered, naming the instance and tenant, with the same facts as `extra` fields (which
`--log json` writes as fields of the line)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from log_lines import as_json, of_kind

from statewright import Machine
from statewright.engine import Engine
from statewright.runtime import RetryPolicy, Worker
from statewright.runtime.outbox import OutboxMessage
from statewright.testing import VirtualClock

REMINDER = {
    "id": "reminder",
    "initial": "waiting",
    "states": {
        "waiting": {
            "after": {"48h": "reminded"},
            "on": {"PING": {"actions": [{"type": "emit", "params": {"event": {"type": "ping"}}}]}},
        },
        "reminded": {
            "entry": [{"type": "emit", "params": {"event": {"type": "reminder.sent"}}}],
        },
    },
}


@pytest.fixture
def engine(store_url: str, clock: VirtualClock) -> Iterator[Engine]:
    with Engine.open(store_url, clock=clock) as opened:
        opened.register(Machine.from_config(REMINDER))
        yield opened


def test_a_fired_timer_is_one_line_with_instance_tenant_and_lateness(
    engine: Engine, clock: VirtualClock, logged: pytest.LogCaptureFixture
) -> None:
    engine.start("reminder", instance_id="r-1", tenant="acme")
    worker = Worker(engine)
    clock.advance("48h")
    clock.advance(1500)  # nothing ran meanwhile: the timer fires 1.5 s late

    worker.run_once()

    (line,) = of_kind(logged, "timer_fired")
    assert line.levelno == logging.INFO
    assert line.getMessage() == (
        "timer fired: r-1 (tenant acme) xstate.after.48h.reminder.waiting, version 2, 1500 ms late"
    )
    fields = as_json(line)
    assert {key: fields[key] for key in ("kind", "instance_id", "tenant", "late_ms")} == {
        "kind": "timer_fired",
        "instance_id": "r-1",
        "tenant": "acme",
        "late_ms": 1500,
    }
    assert fields["timer_id"] == "xstate.after.48h.reminder.waiting"


def test_a_delivery_is_one_line_per_message(
    engine: Engine, logged: pytest.LogCaptureFixture
) -> None:
    worker = Worker(engine)
    worker.listen("ping", lambda message: None)
    engine.start("reminder", instance_id="r-1", tenant="acme")
    engine.send("r-1", "PING", tenant="acme")

    assert worker.run_once() == 1

    (line,) = of_kind(logged, "message_delivered")
    assert line.levelno == logging.INFO
    assert line.getMessage() == (
        "message delivered: r-1 (tenant acme) ping, message acme/r-1/2/0, attempt 1"
    )
    fields = as_json(line)
    assert (fields["instance_id"], fields["tenant"], fields["event_type"]) == (
        "r-1",
        "acme",
        "ping",
    )
    assert (fields["message_id"], fields["attempt"]) == ("acme/r-1/2/0", 1)


def test_failures_and_the_dead_letter_are_one_line_each(
    engine: Engine, clock: VirtualClock, logged: pytest.LogCaptureFixture
) -> None:
    def refuse(message: OutboxMessage) -> None:
        raise ValueError(f"cannot take {message.event['type']}")

    worker = Worker(engine)
    worker.outbox.policy = RetryPolicy(attempts=2)
    worker.listen("ping", refuse)
    engine.start("reminder", instance_id="r-1")
    engine.send("r-1", "PING")

    worker.run_once()
    clock.advance("1h")
    worker.run_once()

    (failed,) = of_kind(logged, "message_failed")
    assert failed.getMessage().startswith(
        "message failed: r-1 (tenant default) ping, message default/r-1/2/0, attempt 1 of 2: "
        "ValueError: cannot take ping; retrying in "
    )
    (dead,) = of_kind(logged, "message_dead_lettered")
    assert dead.levelno == logging.WARNING  # shown at INFO; an operator has to act on it
    assert dead.getMessage() == (
        "message dead-lettered: r-1 (tenant default) ping, message default/r-1/2/0, "
        "attempt 2 of 2: ValueError: cannot take ping; no attempts left; dead-lettered"
    )
    fields = as_json(dead)
    assert (fields["instance_id"], fields["tenant"], fields["attempt"]) == ("r-1", "default", 2)
    assert fields["error"] == "ValueError: cannot take ping"
    assert [m.status for m in engine.store.outbox("default", "r-1")] == ["dead"]
