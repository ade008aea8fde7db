"""Wildcard descriptors: `*` for every event, `order.*` for a family of events."""

from __future__ import annotations

from typing import Any

import pytest

from statewright import DefinitionError, EventError, Machine


def node(name: str, **extra: Any) -> dict[str, Any]:
    """A state that records its entry and exit as `in_<name>` / `out_<name>`."""
    return {"entry": [f"in_{name}"], "exit": [f"out_{name}"], **extra}


def test_a_catch_all_takes_any_event_without_an_exact_handler(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": node(
                    "a",
                    on={
                        "KNOWN": {"target": "b", "actions": ["t_known"]},
                        "*": {"target": "c", "actions": ["t_any"]},
                    },
                ),
                "b": node("b"),
                "c": node("c"),
            },
        }
    )
    start, _ = machine.initial_transition()
    rec.take()

    snapshot, _ = machine.transition(start, "KNOWN")
    assert (snapshot.value, rec.take()) == ("b", ["out_a", "t_known", "in_b"])

    snapshot, _ = machine.transition(start, {"type": "whatever", "x": 1})
    assert snapshot.value == "c"
    assert snapshot.status == "active"
    assert rec.take() == ["out_a", "t_any", "in_c"]


def test_wildcards_are_tried_after_the_exact_candidates_of_the_same_state(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": node(
                    "a",
                    on={
                        "GO": {"target": "b", "guard": {"$expr": "false"}, "actions": ["t_go"]},
                        "*": {"target": "c", "actions": ["t_any"]},
                    },
                ),
                "b": node("b"),
                "c": node("c"),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, _ = machine.transition(snapshot, "GO")

    assert snapshot.value == "c"
    assert rec.take() == ["out_a", "t_any", "in_c"]


def family_machine(rec: Any) -> Any:
    return rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"last": None},
            "states": {
                "a": node(
                    "a",
                    on={
                        "*": {"actions": ["t_star"]},
                        "order.*": {"actions": ["t_order"]},
                        "order.paid.*": [
                            {
                                "guard": {"$expr": "event.amount > 100"},
                                "actions": ["t_big_payment"],
                            },
                        ],
                        "order.cancelled": {"target": "cancelled", "actions": ["t_cancelled"]},
                    },
                ),
                "cancelled": node("cancelled"),
            },
        }
    )


@pytest.mark.parametrize(
    ("event", "calls"),
    [
        ({"type": "order.created"}, ["t_order"]),
        ({"type": "order"}, ["t_order"]),
        ({"type": "order.created.late"}, ["t_order"]),
        # The longest matching descriptor first; when its guard fails, the next one.
        ({"type": "order.paid.card", "amount": 500}, ["t_big_payment"]),
        ({"type": "order.paid.card", "amount": 5}, ["t_order"]),
        ({"type": "orders"}, ["t_star"]),
        ({"type": "ord"}, ["t_star"]),
        ({"type": "order.cancelled"}, ["out_a", "t_cancelled", "in_cancelled"]),
    ],
)
def test_partial_wildcards_match_a_prefix_of_dotted_tokens(
    rec: Any, event: dict[str, Any], calls: list[str]
) -> None:
    machine = family_machine(rec)
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, _ = machine.transition(snapshot, event)

    assert snapshot.status == "active"
    assert snapshot.context == {"last": None}
    assert rec.take() == calls


def test_a_childs_wildcard_wins_over_its_parents_exact_handler(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "p",
            "states": {
                "p": node(
                    "p",
                    initial="a",
                    on={"GO": {"target": "q", "actions": ["t_parent"]}},
                    states={"a": node("a", on={"*": {"actions": ["t_child_any"]}})},
                ),
                "q": node("q"),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    snapshot, _ = machine.transition(snapshot, "GO")

    assert snapshot.value == {"p": "a"}
    assert rec.take() == ["t_child_any"]


def test_the_catch_all_also_matches_statewrights_own_events(rec: Any) -> None:
    seen: list[str] = []
    machine = rec.machine(
        {
            "id": "m",
            "initial": "p",
            "on": {"*": {"actions": ["see"]}},
            "states": {
                "p": {
                    "initial": "a",
                    "states": {"a": {"on": {"FINISH": "f"}}, "f": {"type": "final"}},
                },
            },
        },
        actions={"see": lambda context, event: seen.append(event["type"])},
    )
    snapshot, _ = machine.initial_transition()

    snapshot, _ = machine.transition(snapshot, "FINISH")
    snapshot, _ = machine.transition(snapshot, "OTHER")

    assert snapshot.value == {"p": "f"}
    assert snapshot.status == "active"
    assert seen == ["xstate.done.state.m.p", "OTHER"]


def test_wildcards_in_parallel_regions_each_match(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "type": "parallel",
            "states": {
                "r1": {"on": {"*": {"actions": ["t_r1"]}}},
                "r2": {"on": {"job.*": {"actions": ["t_r2"]}}},
            },
        }
    )
    snapshot, _ = machine.initial_transition()

    machine.transition(snapshot, "job.done")
    assert rec.take() == ["t_r1", "t_r2"]
    machine.transition(snapshot, "other")
    assert rec.take() == ["t_r1"]


def test_wildcards_are_not_listed_as_accepted_events_but_can_is_true(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": {
                    "on": {
                        "*": {"actions": ["t"]},
                        "order.*": {"actions": ["t"]},
                        "KNOWN": {"actions": ["t"]},
                    }
                }
            },
        },
    )
    snapshot, _ = machine.initial_transition()

    assert snapshot.accepted_events == ("KNOWN",)
    assert snapshot.can("anything") is True
    assert snapshot.can("order.x") is True


def test_sending_the_wildcard_itself_is_refused(rec: Any) -> None:
    machine = rec.machine({"id": "m", "initial": "a", "states": {"a": {"on": {"*": "b"}}, "b": {}}})
    snapshot, _ = machine.initial_transition()

    with pytest.raises(EventError, match="wildcard"):
        machine.transition(snapshot, "*")
    with pytest.raises(EventError):
        machine.transition(snapshot, {"type": "*"})


@pytest.mark.parametrize("descriptor", ["order.*.paid", "ord*", "*.paid"])
def test_a_wildcard_anywhere_but_after_the_last_dot_is_a_fault(descriptor: str) -> None:
    with pytest.raises(DefinitionError, match="never matches"):
        Machine.from_config(
            {"id": "m", "initial": "a", "states": {"a": {"on": {descriptor: "b"}}, "b": {}}}
        )
