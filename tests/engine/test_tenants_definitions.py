"""Tenants see only their own instances; definitions are versioned by content."""

from __future__ import annotations

import copy

import pytest
from tests_support import ORDER, order_machine

from statewright import Machine
from statewright.engine import Engine
from statewright.errors import DefinitionError, InstanceExists, NotFound
from statewright.testing import VirtualClock


def test_another_tenants_instance_is_invisible(engine: Engine) -> None:
    engine.start("order", input={"amount": 1}, instance_id="o-1", tenant="acme")

    with pytest.raises(NotFound, match="no instance 'o-1' in tenant 'globex'"):
        engine.get("o-1", tenant="globex")
    with pytest.raises(NotFound):
        engine.send("o-1", "REJECT", tenant="globex")
    with pytest.raises(NotFound):
        engine.history("o-1", tenant="globex")
    assert engine.list(tenant="globex") == []
    assert engine.get("o-1", tenant="acme").version == 1


def test_the_same_id_in_two_tenants_is_two_instances(engine: Engine) -> None:
    engine.start("order", input={"amount": 1}, instance_id="o-1", tenant="acme")
    engine.start("order", input={"amount": 2}, instance_id="o-1", tenant="globex")
    engine.send("o-1", "REJECT", tenant="acme")

    assert engine.get("o-1", tenant="acme").status == "done"
    assert engine.get("o-1", tenant="globex").context == {"amount": 2, "approvedBy": None}


def test_starting_a_taken_id_is_refused(engine: Engine) -> None:
    engine.start("order", input={"amount": 1}, instance_id="o-1")
    with pytest.raises(InstanceExists, match="o-1"):
        engine.start("order", input={"amount": 9}, instance_id="o-1")
    assert engine.get("o-1").context == {"amount": 1, "approvedBy": None}


def test_registering_the_same_definition_twice_keeps_its_version(engine: Engine) -> None:
    again = engine.register(order_machine())
    assert again.version == 1


def test_a_changed_definition_is_a_new_version_and_running_instances_stay(
    engine: Engine,
) -> None:
    engine.start("order", input={"amount": 1}, instance_id="old")
    changed = copy.deepcopy(ORDER)
    changed["states"]["pending"]["on"]["HOLD"] = "escalated"  # type: ignore[index]
    record = engine.register(Machine.from_config(changed))
    engine.start("order", input={"amount": 1}, instance_id="new")

    assert record.version == 2
    assert engine.get("old").definition_version == 1
    assert engine.get("new").definition_version == 2
    engine.send("new", "HOLD")
    with pytest.raises(Exception, match="does not accept 'HOLD'"):
        engine.send("old", "HOLD")


def test_a_definition_with_inline_functions_cannot_be_stored(engine: Engine) -> None:
    config = {
        "id": "inline",
        "initial": "a",
        "states": {"a": {"on": {"GO": {"target": "a", "actions": lambda c, e: None}}}},
    }
    with pytest.raises(DefinitionError, match="reference guards, actions and steps by name"):
        engine.register(Machine.from_config(config))


def test_a_json_only_definition_runs_in_a_process_that_never_registered_it(
    store_url: str, clock: VirtualClock
) -> None:
    with Engine.open(store_url, clock=clock) as first:
        first.register(order_machine())
        first.start("order", input={"amount": 3}, instance_id="o-1")
    with Engine.open(store_url, clock=clock) as second:
        second.send("o-1", {"type": "APPROVE", "by": "bo"})
        assert second.get("o-1").value == "paying"


def test_a_start_takes_the_version_another_process_registered_since(
    engine: Engine, store_url: str, clock: VirtualClock
) -> None:
    """A start is pinned to the latest version this engine saw; when another process has
    registered a newer one since, the store refuses it and it is made again on that one."""
    engine.start("order", input={"amount": 1}, instance_id="before")  # sees version 1
    changed = copy.deepcopy(ORDER)
    changed["states"]["pending"]["on"]["HOLD"] = "escalated"  # type: ignore[index]
    with Engine.open(store_url, clock=clock) as other:
        assert other.register(Machine.from_config(changed)).version == 2

    started = engine.start("order", input={"amount": 1}, instance_id="after")

    assert started.definition_version == 2
    assert engine.get("after").definition_version == 2
    assert [entry.seq for entry in engine.history("after")] == [1]
    assert engine.send("after", "HOLD").to_value == "escalated"
    assert engine.get("before").definition_version == 1
