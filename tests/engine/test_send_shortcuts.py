"""The shortcuts of the send's hot path give what the long way gives: ids checked once
still refuse what they refused, and the audit entry's microsteps are a fresh copy of the
stored text's data, key order included."""

from __future__ import annotations

import json

import pytest

from statewright import Machine
from statewright.engine import payload
from statewright.engine.payload import check_id
from statewright.engine.stored_texts import microsteps_data, microsteps_parts, microsteps_text
from statewright.errors import PayloadError

RING = {"type": "raise", "params": {"event": "RING"}}
FLOW = Machine.from_config(
    {
        "id": "flow",
        "initial": "a",
        "states": {
            "a": {"on": {"GO": {"target": "b", "actions": [RING]}}},
            "b": {"on": {"RING": "c"}},
            "c": {"on": {"BACK": {"target": "a"}, "STAY": {}}},
        },
    }
)


def test_the_entry_microsteps_are_the_stored_text_decoded_and_fresh_each_time() -> None:
    snapshot = FLOW.initial_transition().snapshot
    steps = FLOW.transition(snapshot, {"type": "GO"})._steps
    text, shape = microsteps_parts(steps)
    assert text.encode() == microsteps_text(steps)
    decoded = json.loads(text)
    first, second = microsteps_data(shape), microsteps_data(shape)
    assert first == decoded == second and len(first) == 2  # GO, then the raised RING
    assert json.dumps(first) == json.dumps(decoded)  # the same keys in the same order
    first[0]["transitions"][0]["targets"].append("x")  # type: ignore[index]
    assert microsteps_data(shape) == decoded  # nothing shared with what was handed out
    targetless = FLOW.transition(
        FLOW.transition(snapshot, {"type": "GO"}).snapshot, {"type": "STAY"}
    )._steps
    text, shape = microsteps_parts(targetless)
    assert microsteps_data(shape) == json.loads(text)
    assert json.loads(text)[0]["transitions"][0]["targets"] is None


def test_an_id_checked_once_is_let_through_and_a_bad_one_is_still_refused() -> None:
    assert check_id("order-1", "instance id") == "order-1"
    assert "order-1" in payload._good_ids
    assert check_id("order-1", "instance id") == "order-1"
    for bad in ("", "a\nb", "x" * 201, "\ud800", 5, None):
        with pytest.raises(PayloadError, match="must be 1 to 200 characters"):
            check_id(bad, "instance id")

    class Sly(str):
        pass

    assert check_id(Sly("sly-1"), "instance id") == "sly-1"
    assert "sly-1" not in payload._good_ids  # only plain str is remembered


def test_the_remembered_ids_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(payload, "_good_ids", set())
    monkeypatch.setattr(payload, "_MAX_GOOD_IDS", 3)
    for index in range(7):
        check_id(f"id-{index}", "instance id")
    assert len(payload._good_ids) <= 3 and "id-6" in payload._good_ids
