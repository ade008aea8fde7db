"""What the engine refuses, and that a refusal writes nothing."""

from __future__ import annotations

import pytest

from statewright import Machine
from statewright.engine import Engine
from statewright.errors import (
    EventError,
    EventNotAccepted,
    IdempotencyConflict,
    NotFound,
    TransitionFailed,
    VersionConflict,
)


def unchanged(engine: Engine, instance_id: str, version: int, tenant: str = "default") -> None:
    assert engine.get(instance_id, tenant=tenant).version == version
    assert len(engine.history(instance_id, tenant=tenant)) == version


def test_an_event_nothing_accepts_is_refused_naming_state_and_accepted_events(
    engine: Engine,
) -> None:
    engine.start("order", input={"amount": 5}, instance_id="order-42")

    with pytest.raises(EventNotAccepted) as info:
        engine.send("order-42", {"type": "APROVE"})

    message = str(info.value)
    assert message == (
        "order-42 (in pending) does not accept 'APROVE'; it accepts APPROVE, REJECT, NOTE"
    )
    assert info.value.accepted == ("APPROVE", "REJECT", "NOTE")
    unchanged(engine, "order-42", 1)


def test_a_guard_that_blocks_every_candidate_is_not_accepted(engine: Engine) -> None:
    engine.start("order", input={"amount": 5}, instance_id="o")
    with pytest.raises(EventNotAccepted):
        engine.send("o", {"type": "APPROVE", "by": "mallory"})
    unchanged(engine, "o", 1)


def test_a_finished_instance_accepts_nothing(engine: Engine) -> None:
    engine.start("order", input={"amount": 5}, instance_id="o")
    engine.send("o", "REJECT")
    with pytest.raises(EventNotAccepted, match="accepts nothing"):
        engine.send("o", "APPROVE")
    unchanged(engine, "o", 2)


@pytest.mark.parametrize(
    ("config", "why"),
    [
        (
            {"initial": "working", "states": {
                "working": {"invoke": {"id": "charge", "src": "pay", "onDone": "done"}},
                "done": {"type": "final"}}},
            "it accepts nothing now: it waits for its step charge (pay) to finish",
        ),
        (
            {"initial": "a", "states": {"a": {"after": {"1000": "b"}}, "b": {"type": "final"}}},
            "it accepts nothing now: it waits for a timer",
        ),
        (
            {"initial": "a", "states": {"a": {"on": {"xstate.done.actor.x": "b"}},
                                        "b": {"type": "final"}}},
            "it accepts nothing: none of its states takes an event you send",
        ),
    ],
)  # fmt: skip
def test_an_active_instance_that_accepts_nothing_says_what_it_waits_for(
    engine: Engine, config: dict[str, object], why: str
) -> None:
    engine.register(Machine.from_config({"id": "idle", **config}, actors={"pay": lambda _: 1}))
    engine.start("idle", instance_id="i")
    with pytest.raises(EventNotAccepted) as info:
        engine.send("i", "GO")
    assert str(info.value) == f"i (in {info.value.state}) does not accept 'GO'; {why}"
    assert info.value.accepted == ()
    unchanged(engine, "i", 1)


def test_a_raising_action_refuses_the_send_and_commits_nothing(engine: Engine) -> None:
    def explode(context: object, event: object) -> None:
        raise RuntimeError("ledger offline")

    config = {
        "id": "fragile",
        "initial": "a",
        "states": {"a": {"on": {"GO": {"target": "b", "actions": "book"}}}, "b": {}},
    }
    engine.register(Machine.from_config(config, actions={"book": explode}))
    engine.start("fragile", instance_id="f-1")

    with pytest.raises(TransitionFailed) as info:
        engine.send("f-1", "GO")

    assert "f-1 (in a) refused the event" in str(info.value)
    assert "action 'book'" in str(info.value) and "ledger offline" in str(info.value)
    assert isinstance(info.value.__cause__, Exception)
    unchanged(engine, "f-1", 1)
    assert engine.get("f-1").status == "active"


def test_callers_cannot_forge_runtime_events(engine: Engine) -> None:
    engine.start("order", input={"amount": 5}, instance_id="o")
    engine.send("o", {"type": "APPROVE", "by": "ann"})
    with pytest.raises(EventError, match="reserved"):
        engine.send("o", {"type": "xstate.done.actor.charge", "output": {}})
    unchanged(engine, "o", 2)


def test_a_stale_expected_version_is_a_conflict_naming_both_versions(engine: Engine) -> None:
    engine.start("order", input={"amount": 5}, instance_id="order-42")
    engine.send("order-42", {"type": "NOTE", "text": "x"})

    with pytest.raises(VersionConflict) as info:
        engine.send("order-42", "REJECT", expected_version=1)

    assert str(info.value) == (
        "order-42 changed under you (expected version 1, found 2); reload and resend"
    )
    assert (info.value.expected, info.value.found) == (1, 2)
    unchanged(engine, "order-42", 2)
    engine.send("order-42", "REJECT", expected_version=2)


def test_the_same_idempotency_key_and_event_returns_the_first_result(engine: Engine) -> None:
    engine.start("order", input={"amount": 5}, instance_id="o")
    first = engine.send("o", {"type": "NOTE", "text": "x"}, idempotency_key="k-1")
    again = engine.send("o", {"type": "NOTE", "text": "x"}, idempotency_key="k-1")

    assert again == first
    unchanged(engine, "o", 2)


def test_an_idempotency_key_reused_for_another_event_is_refused(engine: Engine) -> None:
    engine.start("order", input={"amount": 5}, instance_id="o")
    engine.send("o", {"type": "NOTE", "text": "x"}, idempotency_key="k-1")
    with pytest.raises(IdempotencyConflict, match="k-1"):
        engine.send("o", {"type": "NOTE", "text": "y"}, idempotency_key="k-1")
    unchanged(engine, "o", 2)


def test_unknown_instances_and_definitions_are_not_found(engine: Engine) -> None:
    with pytest.raises(NotFound, match="no instance 'nope' in tenant 'default'"):
        engine.send("nope", "GO")
    with pytest.raises(NotFound) as unknown:
        engine.start("invoice")
    assert str(unknown.value) == (
        "no definition 'invoice' (registered: order); register it first (statewright serve "
        "registers the project's definitions folder; Python: engine.register(machine))"
    )
    with pytest.raises(NotFound) as misspelt:
        engine.start("ordr")
    assert "(registered: order); did you mean 'order'? If not, register it first (" in str(
        misspelt.value
    )
