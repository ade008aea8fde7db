"""`register` refuses definitions that cannot run, and stores nothing when it does."""

from __future__ import annotations

import pytest
from tests_support import ORDER

from statewright import Machine
from statewright.engine import Engine
from statewright.errors import DefinitionError
from statewright.testing import VirtualClock


def two_states(**first: object) -> dict[str, object]:
    return {"id": "m", "initial": "a", "states": {"a": first, "b": {}}}


def stored(engine: Engine) -> list[tuple[str, int]]:
    return [(d.id, d.version) for d in engine.store.list_definitions()]


def test_an_after_key_that_is_no_duration_is_refused_with_a_suggestion(engine: Engine) -> None:
    before = stored(engine)
    with pytest.raises(DefinitionError) as info:
        engine.register(Machine.from_config(two_states(after={"1 minute": "b"})))
    (fault,) = info.value.faults
    assert fault.path == 'states.a.after["1 minute"]'
    assert "is not a duration statewright reads" in fault.message
    assert fault.fix.startswith('did you mean "1m"?')
    assert stored(engine) == before


def test_a_delay_named_like_a_duration_registers_when_provided(engine: Engine) -> None:
    config = two_states(after={"1 minute": "b"})
    record = engine.register(Machine.from_config(config, delays={"1 minute": 60_000}))
    assert record.version == 1
    instance = engine.start("m")
    assert engine.store.pending_timers("default", instance.id)[0].due_at == (
        instance.created_at + 60_000
    )


@pytest.mark.parametrize(
    ("first", "kind", "name"),
    [
        ({"on": {"GO": {"target": "b", "guard": "isReady"}}}, "guard", "isReady"),
        ({"entry": ["notify"]}, "action", "notify"),
        ({"after": {"slowly": "b"}}, "delay", "slowly"),
    ],
)
def test_guards_actions_and_delays_the_process_lacks_are_refused(
    engine: Engine, first: dict[str, object], kind: str, name: str
) -> None:
    before = stored(engine)
    with pytest.raises(DefinitionError) as info:
        engine.register(Machine.from_config(two_states(**first)))
    (fault,) = info.value.faults
    assert fault.message == f"{kind} {name!r} is not provided"
    assert "machine.provide(" in fault.fix
    assert stored(engine) == before


def test_a_step_the_process_lacks_is_the_workers_concern(engine: Engine) -> None:
    config = two_states(invoke={"src": "chargeCard", "onDone": "b"})
    assert engine.register(Machine.from_config(config)).version == 1
    assert engine.start("m").value == "a"


def test_a_config_dict_is_registered_as_its_machine(engine: Engine) -> None:
    record = engine.register(two_states(on={"GO": "b"}))
    assert (record.id, record.version) == ("m", 1)
    engine.start("m", instance_id="m-1")
    assert engine.send("m-1", "GO").to_value == "b"


@pytest.mark.parametrize("thing", ["order.json", 42, None, [ORDER]])
def test_register_refuses_what_is_no_machine(engine: Engine, thing: object) -> None:
    before = stored(engine)
    with pytest.raises(DefinitionError, match="register\\(\\) takes a Machine or a config dict"):
        engine.register(thing)  # type: ignore[arg-type]
    assert stored(engine) == before


def test_a_faulty_config_dict_is_refused_with_its_faults(engine: Engine) -> None:
    with pytest.raises(DefinitionError, match='did you mean "b"'):
        engine.register({"id": "m", "initial": "a", "states": {"a": {"on": {"GO": "bb"}}, "b": {}}})
    assert stored(engine) == [("order", 1)]


def test_a_lone_surrogate_in_a_definition_is_refused(engine: Engine) -> None:
    with pytest.raises(DefinitionError, match=r"lone surrogate at \.states\.a\.meta\.note"):
        engine.register(two_states(meta={"note": "bad \ud800"}))
    assert stored(engine) == [("order", 1)]


def test_a_definition_nested_1500_deep_is_refused(store_url: str, clock: VirtualClock) -> None:
    deep: dict[str, object] = {}
    inner = deep
    for _ in range(1500):
        inner["x"] = {}
        inner = inner["x"]  # type: ignore[assignment]
    with Engine.open(store_url, clock=clock) as engine:
        with pytest.raises(DefinitionError, match="deeper than 200 levels"):
            engine.register({"id": "m", "initial": "a", "context": deep, "states": {"a": {}}})
        assert stored(engine) == []
