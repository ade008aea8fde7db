"""Steps on both backends: run as jobs, retried with backoff, applied exactly once, given up to
the machine's onError, taken over after a worker dies. Time is virtual."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from statewright import Machine
from statewright.engine import Engine
from statewright.errors import WorkGone
from statewright.runtime import Worker
from statewright.testing import VirtualClock

PAYMENT = {
    "id": "payment",
    "initial": "charging",
    "context": {"paymentId": None, "error": None},
    "states": {
        "charging": {
            "invoke": {
                "id": "charge",
                "src": "charge",
                "input": {"amount": 5},
                "statewright": {
                    "retry": {"attempts": 3, "delay": "1s", "nonRetryable": ["ValueError"]}
                },
                "onDone": {
                    "target": "paid",
                    "actions": [
                        {"type": "assign", "params": {"paymentId": {"$expr": "event.output.id"}}}
                    ],
                },
                "onError": {
                    "target": "review",
                    "actions": [
                        {"type": "assign", "params": {"error": {"$expr": "event.error.message"}}}
                    ],
                },
            },
            "on": {"CANCEL": "cancelled"},
        },
        "review": {"on": {"RETRY": "charging"}},
        "paid": {"type": "final"},
        "cancelled": {"type": "final"},
    },
}


class Provider:
    """A payment provider that fails the first `failures` calls."""

    def __init__(self, failures: int = 0, error: type[Exception] = ConnectionError) -> None:
        self.failures = failures
        self.error = error
        self.calls: list[dict[str, object]] = []

    def __call__(self, input: dict[str, object]) -> dict[str, object]:
        self.calls.append(input)
        if len(self.calls) <= self.failures:
            raise self.error("provider unavailable")
        return {"id": f"pay-{len(self.calls)}"}


def open_engine(url: str, clock: VirtualClock, provider: Provider) -> Engine:
    engine = Engine.open(url, clock=clock)
    engine.register(Machine.from_config(PAYMENT, actors={"charge": provider}))
    return engine


@pytest.fixture
def provider() -> Provider:
    return Provider()


@pytest.fixture
def engine(store_url: str, clock: VirtualClock, provider: Provider) -> Iterator[Engine]:
    with open_engine(store_url, clock, provider) as opened:
        yield opened


def done_events(engine: Engine, instance_id: str) -> list[str]:
    return [
        str(e.event["type"])
        for e in engine.history(instance_id)
        if str(e.event["type"]).startswith(("xstate.done.actor", "xstate.error.actor"))
    ]


def test_a_step_runs_once_and_its_result_is_applied_once(
    engine: Engine, provider: Provider
) -> None:
    engine.start("payment", instance_id="p-1")
    worker = Worker(engine)

    assert worker.run_once() == 1
    assert worker.run_once() == 0

    payment = engine.get("p-1")
    assert (payment.value, payment.context["paymentId"]) == ("paid", "pay-1")  # type: ignore[index]
    assert provider.calls == [{"amount": 5}]
    assert done_events(engine, "p-1") == ["xstate.done.actor.charge"]
    assert engine.store.steps("default", "p-1") == []
    assert engine.verify("p-1").ok


def test_a_failing_step_is_retried_with_backoff_then_succeeds(
    store_url: str, clock: VirtualClock
) -> None:
    provider = Provider(failures=2)
    with open_engine(store_url, clock, provider) as engine:
        engine.start("payment", instance_id="p-1")
        worker = Worker(engine)

        worker.run_once()
        (step,) = engine.store.steps("default", "p-1")
        assert (step.status, step.attempts, step.last_error) == (
            "retrying",
            1,
            "ConnectionError: provider unavailable",
        )
        assert engine.get("p-1").runtime_status == "retrying"
        assert worker.run_once() == 0
        clock.advance("1s")
        worker.run_once()
        clock.advance("2s")
        worker.run_once()

        assert engine.get("p-1").value == "paid"
        assert len(provider.calls) == 3
        assert done_events(engine, "p-1") == ["xstate.done.actor.charge"]


def test_exhausted_retries_take_the_on_error_path_and_retry_restarts_it(
    store_url: str, clock: VirtualClock
) -> None:
    provider = Provider(failures=3)
    with open_engine(store_url, clock, provider) as engine:
        engine.start("payment", instance_id="p-1")
        worker = Worker(engine)
        for _ in range(3):
            worker.run_once()
            clock.advance("10s")

        review = engine.get("p-1")
        assert (review.value, review.runtime_status) == ("review", "active")
        assert review.context["error"] == "provider unavailable"  # type: ignore[index]
        engine.send("p-1", "RETRY")
        worker.run_once()
        assert engine.get("p-1").value == "paid"
        assert done_events(engine, "p-1") == [
            "xstate.error.actor.charge",
            "xstate.done.actor.charge",
        ]


def test_a_non_retryable_error_gives_up_at_once(store_url: str, clock: VirtualClock) -> None:
    provider = Provider(failures=1, error=ValueError)
    with open_engine(store_url, clock, provider) as engine:
        engine.start("payment", instance_id="p-1")
        Worker(engine).run_once()
        assert engine.get("p-1").value == "review"
        assert len(provider.calls) == 1


def test_the_result_of_a_step_whose_state_was_left_is_discarded(engine: Engine) -> None:
    engine.start("payment", instance_id="p-1")
    (claimed,) = engine.store.claim_steps(engine.clock.now(), 60_000)
    engine.send("p-1", "CANCEL")

    with pytest.raises(WorkGone):
        engine.finish_step(claimed, output={"id": "late"})

    assert engine.get("p-1").value == "cancelled"
    assert done_events(engine, "p-1") == []


def test_a_dead_workers_step_is_taken_over_after_its_lease(
    engine: Engine, clock: VirtualClock, provider: Provider
) -> None:
    engine.start("payment", instance_id="p-1")
    (claimed,) = engine.store.claim_steps(clock.now(), 60_000)  # a worker that then dies
    assert Worker(engine).run_once() == 0

    clock.advance("61s")
    assert Worker(engine).run_once() == 1

    assert engine.get("p-1").value == "paid"
    assert claimed.attempts == 1
    assert done_events(engine, "p-1") == ["xstate.done.actor.charge"]
    with pytest.raises(WorkGone):
        engine.finish_step(claimed, output={"id": "zombie"})


def test_one_at_a_time_results_are_committed_before_their_leases_lapse(store_url: str) -> None:
    """With concurrency 1 a batch's results wait for the batch, unrenewed: they are committed
    once the first has waited a third of the lease, so none is taken over and run again."""
    calls: list[object] = []

    def slow(input: object) -> object:
        calls.append(input)
        time.sleep(0.12)
        return input

    config = {
        "id": "slow",
        "initial": "a",
        "states": {
            "a": {"invoke": {"src": "slow", "input": {"$expr": "context.n"}, "onDone": "b"}},
            "b": {"type": "final"},
        },
        "context": {"n": {"$expr": "input.n"}},
    }
    with Engine.open(store_url) as engine:
        engine.register(Machine.from_config(config, actors={"slow": slow}))
        for n in range(6):
            engine.start("slow", instance_id=f"s-{n}", input={"n": n})

        Worker(engine, concurrency=1, step_lease_ms=300).run_once()

        assert sorted(calls) == list(range(6))  # each ran once: none was taken over
        assert all(engine.get(f"s-{n}").status == "done" for n in range(6))
