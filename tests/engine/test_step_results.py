"""A step output that its `onDone` transition cannot apply ends the run on `onError`, once,
with the real error: it is not run again as if the step had failed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests_support import START_MS

from statewright import Machine, assign
from statewright.engine import Engine
from statewright.engine.views import StepResult
from statewright.errors import WorkGone
from statewright.runtime import Worker
from statewright.testing import VirtualClock


def payment(on_done_actions: list[object], on_error: object = None) -> dict[str, object]:
    invoke: dict[str, object] = {
        "id": "charge",
        "src": "charge",
        "statewright": {"retry": {"attempts": 3, "delay": "1s"}},
        "onDone": {"target": "paid", "actions": on_done_actions},
    }
    if on_error is not None:
        invoke["onError"] = on_error
    return {
        "id": "payment",
        "initial": "charging",
        "context": {"total": None, "error": None},
        "states": {
            "charging": {"invoke": invoke},
            "review": {},
            "paid": {"type": "final"},
        },
    }


ON_ERROR = {
    "target": "review",
    "actions": [{"type": "assign", "params": {"error": {"$expr": "event.error"}}}],
}


class Charge:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, input: object) -> dict[str, object]:
        self.calls += 1
        return {"id": "pay-1"}  # no "total": what onDone reads


@pytest.fixture
def charge() -> Charge:
    return Charge()


@pytest.fixture
def engine(store_url: str, charge: Charge) -> Iterator[Engine]:
    with Engine.open(store_url, clock=VirtualClock(START_MS)) as opened:
        yield opened


def step_events(engine: Engine, instance_id: str) -> list[str]:
    return [
        str(e.event["type"])
        for e in engine.history(instance_id)
        if str(e.event["type"]).startswith("xstate.") and str(e.event["type"]) != "xstate.init"
    ]


def test_an_expression_that_cannot_read_the_output_takes_on_error_once(
    engine: Engine, charge: Charge
) -> None:
    reads_total = {"type": "assign", "params": {"total": {"$expr": "event.output.total + 1"}}}
    engine.register(
        Machine.from_config(payment([reads_total], ON_ERROR), actors={"charge": charge})
    )
    engine.start("payment", instance_id="p-1")
    worker = Worker(engine)

    worker.run_once()
    engine.clock.advance("10m")  # type: ignore[attr-defined]
    worker.run_once()

    instance = engine.get("p-1")
    assert instance.value == "review"
    assert charge.calls == 1
    assert step_events(engine, "p-1") == ["xstate.error.actor.charge"]
    assert engine.store.steps("default", "p-1") == []
    error = engine.history("p-1")[-1].event["error"]
    assert isinstance(error, dict)
    assert error["type"] == "ExpressionError"
    assert error["path"] == 'states.charging.invoke.onDone.actions[0].params.total["$expr"]'
    assert "event.output.total + 1" in error["message"]
    assert "TypeError" in error["message"]
    assert error["output"] == {"id": "pay-1"}
    assert instance.context["error"] == error  # type: ignore[index]
    assert engine.verify("p-1").ok


def test_a_python_action_that_raises_on_the_output_takes_on_error_once(
    engine: Engine, charge: Charge, caplog: pytest.LogCaptureFixture
) -> None:
    take = assign(lambda context, event: {"total": event["output"]["total"]})
    machine = Machine.from_config(
        payment(["takeTotal"], ON_ERROR), actors={"charge": charge}, actions={"takeTotal": take}
    )
    engine.register(machine)
    engine.start("payment", instance_id="p-1")

    with caplog.at_level("WARNING", logger="statewright.engine"):
        Worker(engine).run_once()

    assert engine.get("p-1").value == "review"
    assert charge.calls == 1
    error = engine.history("p-1")[-1].event["error"]
    assert isinstance(error, dict)
    assert (error["type"], error["path"]) == (
        "KeyError",
        "states.charging.invoke.onDone.actions[0]",
    )
    assert "action 'takeTotal'" in error["message"] and "'total'" in error["message"]
    assert "output not applied, the step took its error path" in caplog.text
    assert "lease" not in caplog.text


def test_without_on_error_the_instance_ends_in_error_with_the_real_error(
    engine: Engine, charge: Charge
) -> None:
    reads_total = {"type": "assign", "params": {"total": {"$expr": "event.output.total + 1"}}}
    engine.register(Machine.from_config(payment([reads_total]), actors={"charge": charge}))
    engine.start("payment", instance_id="p-1")

    Worker(engine).run_once()

    instance = engine.get("p-1")
    assert (instance.status, instance.runtime_status) == ("error", "error")
    assert charge.calls == 1
    assert engine.store.steps("default", "p-1") == []
    assert step_events(engine, "p-1") == ["xstate.error.actor.charge"]


def test_finish_step_alone_applies_the_same_rule(engine: Engine, charge: Charge) -> None:
    reads_total = {"type": "assign", "params": {"total": {"$expr": "event.output.total + 1"}}}
    engine.register(
        Machine.from_config(payment([reads_total], ON_ERROR), actors={"charge": charge})
    )
    engine.start("payment", instance_id="p-1")
    (step,) = engine.store.claim_steps(engine.clock.now(), 60_000)

    entry = engine.finish_step(step, output={"id": "pay-1"})

    assert entry.event["type"] == "xstate.error.actor.charge"
    assert entry.to_value == "review"
    (again,) = engine.finish_steps([StepResult(step, output={"id": "pay-1"})])
    assert isinstance(again, WorkGone)
