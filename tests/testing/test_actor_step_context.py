"""A step the testing actor runs can call `current_step()`, as on a worker: a step written
for production (its idempotency key passed to a provider) is unit-tested unchanged."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from statewright import Machine
from statewright.runtime import StepContext, current_step
from statewright.testing import Actor, Harness

CONFIG = {
    "id": "pay",
    "initial": "waiting",
    "context": {"key": None},
    "states": {
        "waiting": {"on": {"GO": "charging"}},
        "charging": {
            "invoke": {
                "id": "charge",
                "src": "charge",
                "onDone": {
                    "target": "paid",
                    "actions": {"type": "assign", "params": {"key": {"$expr": "event.output"}}},
                },
                "onError": "failed",
            }
        },
        "paid": {"type": "final"},
        "failed": {"type": "final"},
    },
}

seen: list[StepContext] = []


def charge(input: Mapping[str, object]) -> str:
    step = current_step()
    seen.append(step)
    return step.idempotency_key


async def charge_async(input: Mapping[str, object]) -> str:
    await asyncio.sleep(0)
    return current_step().idempotency_key


def test_a_sync_step_sees_its_run_as_the_engine_names_it() -> None:
    seen.clear()
    machine = Machine.from_config(CONFIG, actors={"charge": charge})
    actor = Actor(machine).start()
    actor.send("GO")
    assert actor.snapshot.value == "paid"
    assert actor.snapshot.context["key"] == "default/pay/charge/2"
    (step,) = seen
    assert (step.tenant, step.instance_id, step.invoke_id, step.src, step.attempt) == (
        "default",
        "pay",
        "charge",
        "charge",
        1,
    )
    assert not step.cancelled
    # The same key a worker gives the run of an instance with that id.
    with Harness(machine) as harness:
        harness.start("pay", instance_id="pay")
        harness.send("pay", "GO")
        assert harness.engine.get("pay").snapshot.context["key"] == "default/pay/charge/2"


def test_an_async_step_sees_its_run_too() -> None:
    actor = Actor(Machine.from_config(CONFIG, actors={"charge": charge_async})).start()
    actor.send("GO")
    assert actor.snapshot.value == "paid"
    assert actor.snapshot.context["key"] == "default/pay/charge/2"
