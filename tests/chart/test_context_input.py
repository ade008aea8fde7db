"""The machine's `context`: literal, or computed from the `input` it is started with."""

from __future__ import annotations

from typing import Any

from statewright import ExpressionError
from statewright.testing import Actor


def test_without_context_the_context_is_empty(rec: Any) -> None:
    machine = rec.machine({"id": "m", "initial": "a", "states": {"a": {"entry": ["in_a"]}}})

    snapshot, effects = machine.initial_transition()

    assert snapshot.value == "a"
    assert snapshot.context == {}
    assert snapshot.status == "active"
    assert effects == ()
    assert rec.take() == ["in_a"]


def test_a_literal_context_is_copied_for_every_instance(rec: Any) -> None:
    machine = rec.machine(
        {"id": "m", "initial": "a", "context": {"items": [], "meta": {"n": 0}}, "states": {"a": {}}}
    )

    first, _ = machine.initial_transition()
    first.context["items"].append("leak")
    second, _ = machine.initial_transition()

    assert second.context == {"items": [], "meta": {"n": 0}}


def test_context_keys_are_computed_from_the_input(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": {
                "customer": {"$expr": "input.customer"},
                "total": {"$expr": "input.price * input.quantity"},
                "status": "new",
                "lines": [{"$expr": "input.quantity"}],
            },
            "states": {"a": {"entry": ["in_a"]}},
        }
    )

    snapshot, _ = machine.initial_transition({"customer": "ann", "price": 5, "quantity": 3})

    assert snapshot.value == "a"
    assert snapshot.context == {"customer": "ann", "total": 15, "status": "new", "lines": [3]}
    assert snapshot.status == "active"
    assert rec.take() == ["in_a"]


def test_the_whole_input_may_become_the_context(rec: Any) -> None:
    machine = rec.machine(
        {"id": "m", "initial": "a", "context": {"$expr": "input"}, "states": {"a": {}}}
    )

    snapshot, _ = machine.initial_transition({"a": 1, "b": [2]})

    assert snapshot.context == {"a": 1, "b": [2]}


def test_a_missing_input_key_reads_as_null(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"customer": {"$expr": "input.customer"}},
            "states": {"a": {}},
        }
    )

    snapshot, _ = machine.initial_transition({})

    assert snapshot.context == {"customer": None}
    assert snapshot.status == "active"


def test_reading_from_no_input_at_all_is_an_error_snapshot(rec: Any) -> None:
    # As in XState, where `({ input }) => input.customer` throws on an undefined input.
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"customer": {"$expr": "input.customer"}},
            "states": {"a": {"entry": ["in_a"]}},
        }
    )

    snapshot, effects = machine.initial_transition()

    assert snapshot.status == "error"
    assert isinstance(snapshot.error, ExpressionError)
    assert "input.customer" in str(snapshot.error)
    assert effects == ()
    assert rec.take() == []


def test_a_python_context_function_receives_the_input(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": lambda input: {"seen": input, "doubled": input["n"] * 2},
            "states": {"a": {}},
        }
    )

    snapshot, _ = machine.initial_transition({"n": 4})

    assert snapshot.context == {"seen": {"n": 4}, "doubled": 8}


def test_the_context_from_input_feeds_the_first_guards(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "check",
            "context": {"amount": {"$expr": "input.amount"}},
            "states": {
                "check": {
                    "always": [
                        {
                            "target": "auto",
                            "guard": {"$expr": "context.amount < 100"},
                            "actions": ["t_auto"],
                        },
                        {"target": "review", "actions": ["t_review"]},
                    ]
                },
                "auto": {"entry": ["in_auto"]},
                "review": {"entry": ["in_review"]},
            },
        }
    )

    small, _ = machine.initial_transition({"amount": 10})
    assert (small.value, rec.take()) == ("auto", ["t_auto", "in_auto"])

    large, _ = machine.initial_transition({"amount": 1000})
    assert (large.value, rec.take()) == ("review", ["t_review", "in_review"])


def test_entry_actions_of_the_initial_state_see_the_init_event_with_the_input(
    rec: Any,
) -> None:
    events: list[object] = []
    machine = rec.machine(
        {"id": "m", "initial": "a", "states": {"a": {"entry": ["see"]}}},
        actions={"see": lambda context, event: events.append(dict(event))},
    )

    machine.initial_transition({"k": "v"})

    assert events == [{"type": "xstate.init", "input": {"k": "v"}}]


def test_the_testing_actor_passes_its_input(rec: Any) -> None:
    machine = rec.machine(
        {"id": "m", "initial": "a", "context": {"who": {"$expr": "input.who"}}, "states": {"a": {}}}
    )

    actor = Actor(machine, input={"who": "bob"}).start()

    assert actor.snapshot.context == {"who": "bob"}


def test_a_context_that_is_not_an_object_is_an_error_snapshot(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"$expr": "input"},
            "states": {"a": {"entry": ["in_a"]}},
        }
    )

    snapshot, effects = machine.initial_transition([1, 2])

    assert snapshot.status == "error"
    assert effects == ()
    assert rec.take() == []
    assert "context" in str(snapshot.error)
