"""A definition with many faults reports all of them at once, each with path, message and fix."""

from __future__ import annotations

import pytest

from statewright import DefinitionError, Machine

BROKEN: dict[str, object] = {
    "id": "order",
    "context": ["not", "an", "object"],
    "initial": "opne",
    "states": {
        "open": {
            "entyr": "notify",
            "on": {
                "SUBMIT": {"target": "reviw", "cond": "isValid"},
                "": "open",
                "order*": "open",
            },
            "after": {"-1": "open"},
        },
        "review": {
            "id": "dup",
            "type": "compund",
            # A raised event no state handles is a warning (as XState accepts it), not a fault.
            "entry": {"type": "raise", "params": {"event": "APROVE"}},
            "on": {"APPROVE": {"target": "done", "guard": {"$expr": "context.total <"}}},
        },
        "shipping": {"id": "dup", "initial": "x", "states": {"y": {}}},
        "done": {"type": "final", "on": {"REOPEN": "open"}},
        "h": {"type": "history", "history": "deeper"},
        "paying": {"invoke": {"src": "charge", "statewright": {"retry": {"attempts": 0}}}},
    },
}

EXPECTED = {
    "context": "the context must be an object",
    "initial": 'did you mean "open"?',
    "states.open.entyr": 'did you mean "entry"?',
    "states.open.on.SUBMIT.cond": 'write "guard"',
    "states.open.on.SUBMIT.target": 'did you mean "review"?',
    'states.open.on[""]': 'use "always"',
    'states.open.on["order*"]': 'write "order.*"',
    "states.open.after.-1": "a delay cannot be negative",
    "states.review.type": 'did you mean "compound"?',
    'states.review.on.APPROVE.guard["$expr"]': "invalid syntax",
    "states.shipping.id": 'duplicate state id "dup"',
    "states.shipping.initial": "its states are y",
    "states.done.on": 'a final state cannot have "on"',
    "states.h.history": "unknown history mode 'deeper'",
    "states.paying.invoke.statewright.retry.attempts": "attempts must be a whole number",
    "states.paying.invoke.src": "actor 'charge' is not provided",
}


def test_every_fault_is_reported_at_once() -> None:
    with pytest.raises(DefinitionError) as info:
        Machine.from_config(BROKEN)
    error = info.value
    by_path = {fault.path: fault for fault in error.faults}
    assert sorted(by_path) == sorted(EXPECTED)
    assert len(error.faults) == len(EXPECTED)
    for path, words in EXPECTED.items():
        fault = by_path[path]
        assert words in f"{fault.message}; {fault.fix}", fault
        assert fault.fix, fault
    message = str(error)
    assert message.startswith(f"machine 'order' has {len(EXPECTED)} faults:\n")
    for fault in error.faults:
        assert f"  {fault.path}: {fault.message}; {fault.fix}" in message


def test_structural_faults_come_before_missing_implementations() -> None:
    with pytest.raises(DefinitionError) as info:
        Machine.from_config(BROKEN)
    assert info.value.faults[-1].path == "states.paying.invoke.src"
    assert info.value.machine_id == "order"


def test_one_fault_is_singular() -> None:
    with pytest.raises(DefinitionError, match=r"^machine 'm' has 1 fault:\n  initial: "):
        Machine.from_config({"id": "m", "initial": "b", "states": {"a": {}}})
