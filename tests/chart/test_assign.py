"""`assign`: Python `statewright.assign` and the JSON built-in with `{"$expr": ...}`."""

from __future__ import annotations

from typing import Any

from statewright import ImplementationError, assign


def test_python_assign_merges_the_returned_mapping_into_a_new_context(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"count": 1, "name": "x"},
            "states": {"a": {"on": {"ADD": {"actions": ["add", "t_after"]}}}},
        },
        actions={"add": assign(lambda context, event: {"count": context["count"] + event["by"]})},
    )
    before, _ = machine.initial_transition()

    after, effects = machine.transition(before, {"type": "ADD", "by": 4})

    assert after.value == "a"
    assert after.context == {"count": 5, "name": "x"}
    assert after.status == "active"
    assert effects == ()
    assert rec.take() == ["t_after"]
    # Snapshots are immutable: the previous context is untouched.
    assert before.context == {"count": 1, "name": "x"}


def test_python_assign_per_key_sees_the_context_before_the_action(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"a": 1, "b": 2, "fixed": None},
            "states": {"a": {"on": {"SWAP": {"actions": ["swap"]}}}},
        },
        actions={
            "swap": assign(
                {
                    "a": lambda context, event: context["b"],
                    "b": lambda context, event: context["a"],
                    "fixed": "literal",
                }
            )
        },
    )
    snapshot, _ = machine.initial_transition()

    snapshot, _ = machine.transition(snapshot, "SWAP")

    assert snapshot.context == {"a": 2, "b": 1, "fixed": "literal"}


def test_python_assign_receives_the_references_params(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"total": 10},
            "states": {
                "a": {
                    "on": {
                        "CHARGE": {
                            "actions": [
                                {
                                    "type": "charge",
                                    "params": {"amount": {"$expr": "event.amount * 2"}, "fee": 1},
                                },
                            ]
                        }
                    }
                }
            },
        },
        actions={
            "charge": assign(
                lambda context, event, params: {
                    "total": context["total"] + params["amount"] + params["fee"],
                }
            )
        },
    )
    snapshot, _ = machine.initial_transition()

    snapshot, _ = machine.transition(snapshot, {"type": "CHARGE", "amount": 3})

    assert snapshot.context == {"total": 17}


def test_the_json_assign_built_in_evaluates_expressions(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"total": 100, "items": ["x"]},
            "states": {
                "a": {
                    "on": {
                        "ORDER": {
                            "target": "b",
                            "actions": [
                                {
                                    "type": "assign",
                                    "params": {
                                        "total": {"$expr": "context.total + event.amount"},
                                        "items": {"$expr": "context.items + [event.item]"},
                                        "customer": {"name": {"$expr": "event.who"}, "vip": False},
                                        "note": "literal",
                                    },
                                },
                                "t_order",
                            ],
                        }
                    }
                },
                "b": {},
            },
        }
    )
    snapshot, _ = machine.initial_transition()

    snapshot, _ = machine.transition(
        snapshot, {"type": "ORDER", "amount": 5, "item": "y", "who": "ann"}
    )

    assert snapshot.value == "b"
    assert snapshot.context == {
        "total": 105,
        "items": ["x", "y"],
        "customer": {"name": "ann", "vip": False},
        "note": "literal",
    }
    assert snapshot.status == "active"
    assert rec.take() == ["t_order"]


def test_assignments_are_visible_to_later_actions_in_exit_transition_entry_order(
    rec: Any,
) -> None:
    seen: list[tuple[str, object]] = []

    def snap(name: str) -> Any:
        return lambda context, event: seen.append((name, context["trail"]))

    def add(step: str) -> dict[str, Any]:
        return {"type": "assign", "params": {"trail": {"$expr": f"context.trail + ['{step}']"}}}

    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"trail": []},
            "states": {
                "a": {
                    "exit": [add("exit"), "s_exit"],
                    "on": {"GO": {"target": "b", "actions": [add("transition"), "s_t"]}},
                },
                "b": {"entry": [add("entry"), "s_entry"]},
            },
        },
        actions={"s_exit": snap("exit"), "s_t": snap("transition"), "s_entry": snap("entry")},
    )
    snapshot, _ = machine.initial_transition()

    snapshot, _ = machine.transition(snapshot, "GO")

    assert snapshot.context == {"trail": ["exit", "transition", "entry"]}
    assert seen == [
        ("exit", ["exit"]),
        ("transition", ["exit", "transition"]),
        ("entry", ["exit", "transition", "entry"]),
    ]


def test_assignments_are_visible_to_guards_later_in_the_macrostep(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"n": 0},
            "states": {
                "a": {
                    "on": {
                        "GO": {
                            "target": "b",
                            "actions": [
                                {"type": "assign", "params": {"n": 5}},
                                {"type": "raise", "params": {"event": {"type": "CHECK"}}},
                            ],
                        }
                    }
                },
                "b": {
                    "on": {
                        "CHECK": [
                            {
                                "target": "big",
                                "guard": {"$expr": "context.n > 3"},
                                "actions": ["t_big"],
                            },
                            {"target": "small"},
                        ]
                    }
                },
                "big": {},
                "small": {},
            },
        }
    )
    snapshot, _ = machine.initial_transition()

    snapshot, _ = machine.transition(snapshot, "GO")

    assert snapshot.value == "big"
    assert snapshot.context == {"n": 5}
    assert rec.take() == ["t_big"]


def test_a_new_value_replaces_the_old_one_entirely(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"data": {"a": 1, "b": 2}, "list": [1, 2, 3]},
            "states": {
                "a": {
                    "on": {
                        "SET": {
                            "actions": [
                                {"type": "assign", "params": {"data": {"c": 3}, "list": []}},
                            ]
                        }
                    }
                }
            },
        }
    )
    snapshot, _ = machine.initial_transition()

    snapshot, _ = machine.transition(snapshot, "SET")

    assert snapshot.context == {"data": {"c": 3}, "list": []}


def test_an_inline_assign_in_a_python_config(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"n": 1},
            "states": {
                "a": {
                    "on": {
                        "INC": {
                            "actions": [
                                assign(lambda context, event: {"n": context["n"] + 1}),
                                "t_inc",
                            ]
                        }
                    }
                }
            },
        }
    )
    snapshot, _ = machine.initial_transition()

    snapshot, _ = machine.transition(snapshot, "INC")
    snapshot, _ = machine.transition(snapshot, "INC")

    assert snapshot.context == {"n": 3}
    assert rec.take() == ["t_inc", "t_inc"]


def test_an_assign_that_returns_no_mapping_puts_the_machine_in_error(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"n": 1},
            "states": {
                "a": {"on": {"BAD": {"target": "b", "actions": ["t_before", "bad"]}}},
                "b": {},
            },
        },
        actions={"bad": assign(lambda context, event: None)},
    )
    snapshot, _ = machine.initial_transition()

    snapshot, effects = machine.transition(snapshot, "BAD")

    assert snapshot.status == "error"
    assert snapshot.value == "a"
    assert snapshot.context == {"n": 1}
    assert effects == ()
    assert rec.take() == ["t_before"]
    assert isinstance(snapshot.error, ImplementationError)
    assert snapshot.error.name == "bad"
    assert "return a dict" in str(snapshot.error)
