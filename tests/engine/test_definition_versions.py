"""Starting on a chosen definition version, and rolling back by registering again."""

from __future__ import annotations

import copy
import threading

import pytest
from tests_support import ORDER, order_machine

from statewright import Machine
from statewright.engine import Engine
from statewright.errors import NotFound, PayloadError, TransitionFailed
from statewright.testing import VirtualClock


def changed_order() -> Machine:
    config = copy.deepcopy(ORDER)
    config["states"]["pending"]["after"] = {"24h": "escalated"}  # type: ignore[index]
    return Machine.from_config(config, actors={"chargeCard": lambda input: {"ok": True}})


def test_start_takes_a_chosen_version(engine: Engine) -> None:
    assert engine.register(changed_order()).version == 2
    old = engine.start("order", input={"amount": 1}, version=1)
    new = engine.start("order", input={"amount": 1})
    assert (old.definition_version, new.definition_version) == (1, 2)
    assert engine.get(old.id).definition_version == 1


def test_a_version_that_does_not_exist_names_the_ones_that_do(engine: Engine) -> None:
    engine.register(changed_order())
    with pytest.raises(NotFound, match="has no version 7 \\(it has versions 1 to 2\\)"):
        engine.start("order", input={"amount": 1}, version=7)
    with pytest.raises(NotFound, match="no definition 'nope'"):
        engine.start("nope", version=1)
    assert engine.list() == []


@pytest.mark.parametrize("version", ["2", 1.0, True, -1])
def test_a_version_that_is_no_whole_number_is_refused(engine: Engine, version: object) -> None:
    with pytest.raises(PayloadError, match="version must be a whole number"):
        engine.start("order", input={"amount": 1}, version=version)  # type: ignore[arg-type]
    assert engine.list() == []


def test_registering_an_earlier_definition_again_makes_it_the_latest(engine: Engine) -> None:
    first = engine.store.get_definition("order", 1)
    assert first is not None
    assert engine.register(changed_order()).version == 2

    rolled_back = engine.register(order_machine())

    assert rolled_back.version == 3
    assert rolled_back.config == first.config
    assert engine.start("order", input={"amount": 1}).definition_version == 3
    assert engine.register(order_machine()).version == 3  # registered again: no new version
    assert engine.register(changed_order()).version == 4  # and forward again
    assert engine.register(order_machine()).version == 5


def test_another_process_starts_on_the_rolled_back_version(
    engine: Engine, store_url: str, clock: VirtualClock
) -> None:
    with Engine.open(store_url, clock=clock) as other:
        other.start("order", input={"amount": 1}, instance_id="before")
        engine.register(changed_order())
        engine.register(order_machine())
        started = other.start("order", input={"amount": 1}, instance_id="after")
    assert started.definition_version == 3


def test_two_processes_rolling_back_at_once_make_one_version(
    engine: Engine, store_url: str, clock: VirtualClock
) -> None:
    engine.register(changed_order())
    engines = [Engine.open(store_url, clock=clock) for _ in range(2)]
    barrier = threading.Barrier(2)
    versions: list[int] = []

    def roll_back(other: Engine) -> None:
        barrier.wait()
        versions.append(other.register(order_machine()).version)

    threads = [threading.Thread(target=roll_back, args=(other,)) for other in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for other in engines:
        other.close()
    assert versions == [3, 3]
    assert engine.store.get_definition("order") is not None
    assert engine.store.get_definition("order").version == 3  # type: ignore[union-attr]


def _counting(limit: int, steps: int) -> Machine:
    """Counts to `steps` with eventless transitions, under `options.maxIterations`."""
    return Machine.from_config(
        {
            "id": "counting",
            "initial": "idle",
            "options": {"maxIterations": limit},
            "context": {"n": 0},
            "states": {
                "idle": {"on": {"GO": "counting"}},
                "counting": {
                    "always": [
                        {"target": "counting", "reenter": True,
                         "guard": {"type": "below", "params": {"n": steps}},
                         "actions": [{"type": "assign",
                                      "params": {"n": {"$expr": "context.n + 1"}}}]},
                        {"target": "idle"},
                    ]
                },
            },
        },
        guards={"below": lambda context, event, params: context["n"] < params["n"]},
    )  # fmt: skip


def test_each_definition_version_keeps_its_own_max_iterations(engine: Engine) -> None:
    """XState's `options.maxIterations` is part of the definition: an instance runs under
    the limit of the version it runs, not of the latest one registered."""
    engine.register(_counting(limit=5, steps=20))
    engine.start("counting", instance_id="v1")
    engine.register(_counting(limit=100, steps=20))
    engine.start("counting", instance_id="v2")
    assert engine.send("v2", "GO").to_value == "idle"
    with pytest.raises(TransitionFailed, match="did not settle after 5 microsteps"):
        engine.send("v1", "GO")
    assert engine.get("v1").version == 1  # nothing committed
