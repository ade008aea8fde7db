"""The step loop's log lines: one per attempt started, succeeded, failed, and per run given
up, taken over or whose result was discarded, in the shape of the timer and outbox lines
(`<what happened>: <instance> (tenant <t>) <invoke> (<src>), attempt ...`), with the same
facts as `extra` fields, which `--log json` writes as fields of the line."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator

import pytest
from log_lines import as_json, of_kind

from statewright import Machine
from statewright.engine import Engine
from statewright.runtime import Worker
from statewright.testing import VirtualClock


class CardDeclined(Exception):
    """What the failing step raises."""


def payment(retry: dict[str, object]) -> dict[str, object]:
    return {
        "id": "payment",
        "initial": "charging",
        "states": {
            "charging": {
                "invoke": {
                    "id": "payment",
                    "src": "chargeCard",
                    "statewright": {"retry": {"delay": "1s", "jitter": False, **retry}},
                    "onDone": "paid",
                    "onError": "review",
                },
                "on": {"CANCEL": "cancelled"},
            },
            "review": {},
            "paid": {"type": "final"},
            "cancelled": {"type": "final"},
        },
    }


@pytest.fixture
def open_engine(store_url: str, clock: VirtualClock) -> Iterator[Callable[..., Engine]]:
    engines: list[Engine] = []

    def open_(charge: Callable[..., object], **retry: object) -> Engine:
        engine = Engine.open(store_url, clock=clock)
        engine.register(Machine.from_config(payment(retry), actors={"chargeCard": charge}))
        engines.append(engine)
        return engine

    yield open_
    for engine in engines:
        engine.close()


def without_times(message: str) -> str:
    """The line with how long the attempt ran (real time) as N."""
    return re.sub(r"(?<!retrying) in \d+ ms", " in N ms", message)


STEP = {"instance_id": "A-1", "tenant": "acme", "invoke_id": "payment", "src": "chargeCard"}


def test_started_and_succeeded_are_info_lines_with_the_step_as_fields(
    open_engine: Callable[..., Engine], logged: pytest.LogCaptureFixture
) -> None:
    engine = open_engine(lambda _: {"ok": True})
    engine.start("payment", instance_id="A-1", tenant="acme")

    Worker(engine, concurrency=1).run_once()

    (started,) = of_kind(logged, "step_started")
    assert started.levelno == logging.INFO
    assert started.getMessage() == "step started: A-1 (tenant acme) payment (chargeCard), attempt 1"
    assert as_json(started) | STEP == as_json(started)  # the step's facts are fields
    assert as_json(started)["attempt"] == 1
    (succeeded,) = of_kind(logged, "step_succeeded")
    assert succeeded.levelno == logging.INFO
    assert without_times(succeeded.getMessage()) == (
        "step succeeded: A-1 (tenant acme) payment (chargeCard), attempt 1 in N ms"
    )
    fields = as_json(succeeded)
    assert {key: fields[key] for key in (*STEP, "kind", "attempt", "level")} == {
        **STEP,
        "kind": "step_succeeded",
        "attempt": 1,
        "level": "info",
    }
    assert isinstance(fields["duration_ms"], int)
    assert "error" not in fields


def test_a_failure_and_the_give_up_are_warnings_with_the_error_as_a_field(
    open_engine: Callable[..., Engine], clock: VirtualClock, logged: pytest.LogCaptureFixture
) -> None:
    def decline(_: object) -> None:
        raise CardDeclined("card declined")

    engine = open_engine(decline, attempts=2)
    engine.start("payment", instance_id="A-1", tenant="acme")
    worker = Worker(engine, concurrency=1)

    worker.run_once()
    clock.advance("1m")
    worker.run_once()

    (failed,) = of_kind(logged, "step_failed")
    assert failed.levelno == logging.WARNING
    assert without_times(failed.getMessage()) == (
        "step failed: A-1 (tenant acme) payment (chargeCard), attempt 1 of 2 in N ms: "
        "CardDeclined: card declined; retrying in 1000 ms"
    )
    fields = as_json(failed)
    assert {key: fields[key] for key in (*STEP, "kind", "attempt", "attempts", "level")} == {
        **STEP,
        "kind": "step_failed",
        "attempt": 1,
        "attempts": 2,
        "level": "warning",
    }
    assert (fields["error"], fields["retry_in_ms"]) == ("CardDeclined: card declined", 1000)
    assert isinstance(fields["duration_ms"], int)
    (given_up,) = of_kind(logged, "step_given_up")
    assert given_up.levelno == logging.WARNING
    assert without_times(given_up.getMessage()) == (
        "step given up: A-1 (tenant acme) payment (chargeCard), attempt 2 of 2 in N ms: "
        "CardDeclined: card declined; no attempts left; sent xstate.error.actor.payment"
    )
    fields = as_json(given_up)
    assert (fields["attempt"], fields["attempts"]) == (2, 2)
    assert fields["error"] == "CardDeclined: card declined"
    assert "retry_in_ms" not in fields
    assert engine.get("A-1", tenant="acme").value == "review"


def test_a_non_retryable_error_gives_up_at_the_first_attempt(
    open_engine: Callable[..., Engine], logged: pytest.LogCaptureFixture
) -> None:
    def decline(_: object) -> None:
        raise CardDeclined("card stolen")

    engine = open_engine(decline, attempts=5, nonRetryable=["CardDeclined"])
    engine.start("payment", instance_id="A-1", tenant="acme")

    Worker(engine, concurrency=1).run_once()

    assert of_kind(logged, "step_failed") == []
    (given_up,) = of_kind(logged, "step_given_up")
    assert without_times(given_up.getMessage()) == (
        "step given up: A-1 (tenant acme) payment (chargeCard), attempt 1 of 5 in N ms: "
        "CardDeclined: card stolen; CardDeclined is not retryable; "
        "sent xstate.error.actor.payment"
    )


def test_a_takeover_and_a_lost_last_attempt_name_the_lost_attempt(
    open_engine: Callable[..., Engine], clock: VirtualClock, logged: pytest.LogCaptureFixture
) -> None:
    engine = open_engine(lambda _: {"ok": True}, attempts=1)
    engine.start("payment", instance_id="A-1", tenant="acme")
    engine.store.claim_steps(clock.now(), 30_000, 10)  # the only attempt's worker dies
    clock.advance(30_000)

    Worker(engine).run_once()

    (taken,) = of_kind(logged, "step_taken_over")
    assert taken.levelno == logging.WARNING
    assert taken.getMessage() == (
        "step lease taken over: A-1 (tenant acme) payment (chargeCard), attempt 1: its worker "
        "stopped before it finished (its lease expired); claimed again here"
    )
    assert as_json(taken) | STEP | {"attempt": 1} == as_json(taken)
    (given_up,) = of_kind(logged, "step_given_up")
    assert given_up.getMessage() == (  # it never ran here: no duration
        "step given up: A-1 (tenant acme) payment (chargeCard), attempt 1 of 1: "
        "statewright.WorkerLost: step 'chargeCard': the worker running attempt 1 stopped "
        "before it finished (its lease expired); no attempts left; sent xstate.error.actor.payment"
    )
    assert "duration_ms" not in as_json(given_up)
    assert of_kind(logged, "step_started") == []


def test_a_result_for_a_run_stopped_meanwhile_is_discarded(
    open_engine: Callable[..., Engine], logged: pytest.LogCaptureFixture
) -> None:
    engines: list[Engine] = []

    def charge(_: object) -> dict[str, object]:
        engines[0].send("A-1", "CANCEL", tenant="acme")  # leaves the invoking state
        return {"ok": True}

    engine = open_engine(charge)
    engines.append(engine)
    engine.start("payment", instance_id="A-1", tenant="acme")

    Worker(engine, concurrency=1).run_once()

    assert engine.get("A-1", tenant="acme").value == "cancelled"
    assert of_kind(logged, "step_succeeded") == []
    (discarded,) = of_kind(logged, "step_discarded")
    assert discarded.levelno == logging.INFO
    assert without_times(discarded.getMessage()) == (
        "step result discarded: A-1 (tenant acme) payment (chargeCard), attempt 1 in N ms: "
        "the step was stopped or replaced meanwhile"
    )
    assert as_json(discarded)["kind"] == "step_discarded"
