"""The order example, state by state: `paths` reaches every state and each path replays."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from statewright import Machine
from statewright.testing import Actor, paths

EXAMPLE = Path(__file__).parents[2] / "examples" / "order"
INPUT = {"orderId": "A-1", "amount": 2500}


def load_steps() -> dict[str, object]:
    spec = importlib.util.spec_from_file_location("order_steps_paths", EXAMPLE / "steps.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.ACTORS)


@pytest.fixture(scope="module")
def machine() -> Machine:
    return Machine.load(EXAMPLE / "order.json", actors=load_steps())  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def samples() -> dict[str, list[dict[str, object]]]:
    data: dict[str, list[dict[str, object]]] = json.loads(
        (EXAMPLE / "sample-events.json").read_text()
    )
    return data


def test_paths_reach_every_state_of_the_order(
    machine: Machine, samples: dict[str, list[dict[str, object]]]
) -> None:
    found = paths(machine, events=samples, input=INPUT)
    reached = {state_id for path in found for state_id in path.snapshot.configuration}
    every_state = {node.id for node in machine.states}
    # "submitted" decides at once (`always`), so no snapshot ever rests there.
    assert every_state - reached == {"order.submitted"}
    assert {str(path.snapshot.value) for path in found if path.snapshot.status == "done"} == {
        "shipped",
        "rejected",
        "cancelled",
    }


def test_every_path_replays_on_an_actor(
    machine: Machine, samples: dict[str, list[dict[str, object]]]
) -> None:
    found = paths(machine, events=samples, input=INPUT)
    assert len(found) > 10
    for path in found:
        actor = Actor(machine, input=INPUT, run_steps=False)
        arrived = path.run(actor)
        assert arrived.value == path.snapshot.value
        assert arrived.context == path.snapshot.context
        assert arrived.status == path.snapshot.status


def test_the_shortest_way_to_ship_a_large_order(
    machine: Machine, samples: dict[str, list[dict[str, object]]]
) -> None:
    (path,) = paths(machine, events=samples, input=INPUT, to_state="shipped", serialize="value")
    assert [event["type"] for event in path.events] == [
        "APPROVE",
        "xstate.done.actor.payment",
        "RESERVED",
        "SHIPPED",
    ]
    actor = Actor(machine, input=INPUT, run_steps=False)
    assert path.run(actor).output == {
        "orderId": "A-1",
        "outcome": "shipped",
        "paymentId": "pay-A-1",
    }
    assert actor.emitted == [{"type": "order.shipped", "orderId": "A-1", "tracking": "TRK-1"}]
