"""The testing actor refuses what the engine refuses: an event or start input that fails the
schema its definition declares, before anything changes."""

from __future__ import annotations

import pytest

from statewright import Machine, PayloadInvalid
from statewright.testing import Actor

TYPED = {
    "id": "claim",
    "initial": "review",
    "statewright": {
        "input": {"type": "object", "required": ["customer"]},
        "events": {
            "PAY": {
                "type": "object",
                "properties": {"amount": {"type": "integer", "minimum": 1}},
                "required": ["amount"],
            }
        },
    },
    "states": {"review": {"on": {"PAY": "paid", "NOTE": "review"}}, "paid": {"type": "final"}},
}


def test_a_failing_event_is_refused_and_changes_nothing() -> None:
    actor = Actor(Machine.from_config(TYPED), input={"customer": "c-1"}).start()
    before = actor.snapshot
    with pytest.raises(PayloadInvalid) as info:
        actor.send({"type": "PAY", "amount": 0})
    assert info.value.errors == ({"path": "amount", "message": "0 is less than the minimum of 1"},)
    assert actor.snapshot is before
    assert len(actor.macrosteps) == 1  # only the start


def test_a_fitting_event_and_an_undeclared_one_go_through() -> None:
    actor = Actor(Machine.from_config(TYPED), input={"customer": "c-1"}).start()
    actor.send("NOTE")
    assert actor.send({"type": "PAY", "amount": 2}).value == "paid"


def test_a_failing_input_does_not_start_the_actor() -> None:
    actor = Actor(Machine.from_config(TYPED), input={})
    with pytest.raises(PayloadInvalid, match="customer: 'customer' is a required property"):
        actor.start()
    assert actor.macrosteps == []
