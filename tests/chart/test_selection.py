"""Transition selection: document order, guarded candidate arrays, ancestors, regions."""

from __future__ import annotations

from typing import Any

import pytest

from statewright import EventError


def node(name: str, **extra: Any) -> dict[str, Any]:
    """A state that records its entry and exit as `in_<name>` / `out_<name>`."""
    return {"entry": [f"in_{name}"], "exit": [f"out_{name}"], **extra}


def expr(source: str) -> dict[str, str]:
    return {"$expr": source}


def test_the_first_candidate_whose_guard_passes_is_taken(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": node(
                    "a",
                    on={
                        "GO": [
                            {
                                "target": "small",
                                "guard": expr("event.n < 10"),
                                "actions": ["t_small"],
                            },
                            {
                                "target": "medium",
                                "guard": expr("event.n < 100"),
                                "actions": ["t_medium"],
                            },
                            {"target": "large", "actions": ["t_large"]},
                            {"target": "never", "actions": ["t_never"]},
                        ]
                    },
                ),
                "small": node("small"),
                "medium": node("medium"),
                "large": node("large"),
                "never": node("never"),
            },
        }
    )
    start, _ = machine.initial_transition()
    rec.take()

    results = {}
    for n in (5, 50, 500):
        snapshot, _ = machine.transition(start, {"type": "GO", "n": n})
        assert snapshot.status == "active"
        assert snapshot.context == {}
        results[n] = (snapshot.value, rec.take())

    assert results == {
        5: ("small", ["out_a", "t_small", "in_small"]),
        50: ("medium", ["out_a", "t_medium", "in_medium"]),
        500: ("large", ["out_a", "t_large", "in_large"]),
    }


def test_guards_are_evaluated_in_order_and_stop_at_the_first_that_passes(rec: Any) -> None:
    evaluated: list[str] = []

    def guard(name: str, result: bool) -> Any:
        def check(context: Any, event: Any) -> bool:
            evaluated.append(name)
            return result

        return check

    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {
                "a": {
                    "on": {
                        "GO": [
                            {"target": "b", "guard": "g1"},
                            {"target": "c", "guard": "g2", "actions": ["t_c"]},
                            {"target": "d", "guard": "g3"},
                        ]
                    }
                },
                "b": {},
                "c": {},
                "d": {},
            },
        },
        guards={"g1": guard("g1", False), "g2": guard("g2", True), "g3": guard("g3", True)},
    )
    snapshot, _ = machine.initial_transition()

    snapshot, _ = machine.transition(snapshot, "GO")

    assert snapshot.value == "c"
    assert evaluated == ["g1", "g2"]
    assert rec.take() == ["t_c"]


def test_when_every_guard_of_the_state_fails_its_ancestors_are_tried(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "p",
            "states": {
                "p": node(
                    "p",
                    initial="a",
                    states={
                        "a": node(
                            "a",
                            on={
                                "GO": [
                                    {
                                        "target": "b",
                                        "guard": expr("event.to == 'b'"),
                                        "actions": ["t_b"],
                                    },
                                ]
                            },
                        ),
                        "b": node("b"),
                    },
                    on={
                        "GO": [
                            {"target": "q", "guard": expr("event.to == 'q'"), "actions": ["t_q"]},
                            {"target": "r", "actions": ["t_r"]},
                        ]
                    },
                ),
                "q": node("q"),
                "r": node("r"),
            },
        }
    )
    start, _ = machine.initial_transition()
    rec.take()

    snapshot, _ = machine.transition(start, {"type": "GO", "to": "b"})
    assert (snapshot.value, rec.take()) == ({"p": "b"}, ["out_a", "t_b", "in_b"])

    snapshot, _ = machine.transition(start, {"type": "GO", "to": "q"})
    assert (snapshot.value, rec.take()) == ("q", ["out_a", "out_p", "t_q", "in_q"])

    snapshot, _ = machine.transition(start, {"type": "GO", "to": "x"})
    assert (snapshot.value, rec.take()) == ("r", ["out_a", "out_p", "t_r", "in_r"])


def test_when_no_guard_passes_anywhere_nothing_happens(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"n": 0},
            "states": {
                "a": node("a", on={"GO": [{"target": "b", "guard": expr("context.n > 0")}]}),
                "b": node("b"),
            },
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    step = machine.transition(snapshot, "GO")

    assert step.snapshot.value == "a"
    assert step.snapshot.context == {"n": 0}
    assert step.snapshot.status == "active"
    assert step.selected is False
    assert rec.take() == []


def test_an_empty_transition_is_selected_and_blocks_the_ancestors(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "p",
            "states": {
                "p": node(
                    "p",
                    initial="a",
                    states={
                        "a": node("a", on={"GO": {}, "OTHER": []}),
                    },
                    on={
                        "GO": {"target": "q", "actions": ["t_parent"]},
                        "OTHER": {"target": "q", "actions": ["t_other"]},
                    },
                ),
                "q": node("q"),
            },
        }
    )
    start, _ = machine.initial_transition()
    rec.take()

    step = machine.transition(start, "GO")
    assert step.snapshot.value == {"p": "a"}
    assert step.snapshot.status == "active"
    assert rec.take() == []
    assert start.can("GO") is False

    # An empty array offers no candidate at all, so the parent's transition is taken.
    snapshot, _ = machine.transition(start, "OTHER")
    assert snapshot.value == "q"
    assert rec.take() == ["out_a", "out_p", "t_other", "in_q"]


def test_guards_see_the_event_and_the_current_context(rec: Any) -> None:
    seen: list[tuple[object, object]] = []

    def check(context: Any, event: Any) -> bool:
        seen.append((dict(context), dict(event)))
        return bool(event["ok"])

    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"k": "v"},
            "states": {"a": {"on": {"GO": {"target": "b", "guard": "check"}}}, "b": {}},
        },
        guards={"check": check},
    )
    snapshot, _ = machine.initial_transition()

    snapshot, _ = machine.transition(snapshot, {"type": "GO", "ok": True, "extra": [1]})

    assert snapshot.value == "b"
    assert seen == [({"k": "v"}, {"type": "GO", "ok": True, "extra": [1]})]


def test_each_region_selects_on_its_own_and_falls_back_to_its_region_node(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "type": "parallel",
            "states": {
                "r1": node(
                    "r1",
                    initial="a",
                    on={"GO": {"actions": ["t_r1_region"]}},
                    states={
                        "a": node(
                            "a",
                            on={
                                "GO": {
                                    "target": "b",
                                    "guard": expr("false"),
                                    "actions": ["t_never"],
                                }
                            },
                        ),
                        "b": node("b"),
                    },
                ),
                "r2": node(
                    "r2",
                    initial="c",
                    states={
                        "c": node("c", on={"GO": {"target": "d", "actions": ["t_r2"]}}),
                        "d": node("d"),
                    },
                ),
            },
            "on": {"GO": {"actions": ["t_root"]}},
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    step = machine.transition(snapshot, "GO")

    assert step.snapshot.value == {"r1": "a", "r2": "d"}
    assert step.snapshot.status == "active"
    # r1's atomic state fails its guard, so r1 itself handles GO; the root is not tried.
    assert rec.take() == ["out_c", "t_r1_region", "t_r2", "in_d"]
    assert [t["source"] for t in step.microsteps[0].to_json()["transitions"]] == [
        "m.r1",
        "m.r2.c",
    ]


def test_the_parent_of_regions_is_tried_only_if_no_region_selected_anything(
    rec: Any,
) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "type": "parallel",
            "states": {
                "r1": node("r1", initial="a", states={"a": node("a")}),
                "r2": node(
                    "r2",
                    initial="c",
                    states={
                        "c": node(
                            "c", on={"GO": {"guard": expr("event.here"), "actions": ["t_r2"]}}
                        ),
                    },
                ),
            },
            "on": {"GO": {"actions": ["t_root"]}},
        }
    )
    snapshot, _ = machine.initial_transition()
    rec.take()

    machine.transition(snapshot, {"type": "GO", "here": True})
    assert rec.take() == ["t_r2"]

    after, _ = machine.transition(snapshot, {"type": "GO", "here": False})
    assert rec.take() == ["t_root"]
    assert after.value == {"r1": "a", "r2": "c"}


def test_targetless_transitions_in_two_regions_never_conflict(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "type": "parallel",
            "states": {
                "r1": {"on": {"GO": {"actions": ["t_r1"]}}},
                "r2": {"on": {"GO": {"actions": ["t_r2"]}}},
                "r3": {
                    "initial": "x",
                    "states": {"x": {"on": {"GO": {"target": "y", "actions": ["t_r3"]}}}, "y": {}},
                },
            },
        }
    )
    snapshot, _ = machine.initial_transition()

    snapshot, _ = machine.transition(snapshot, "GO")

    assert snapshot.value == {"r1": {}, "r2": {}, "r3": "y"}
    assert rec.take() == ["t_r1", "t_r2", "t_r3"]


@pytest.mark.parametrize("event", [{"type": ""}, {"kind": "GO"}, {"type": 5}, 5, None, ["GO"], ""])
def test_a_malformed_event_is_refused_with_an_event_error(rec: Any, event: Any) -> None:
    machine = rec.machine(
        {"id": "m", "initial": "a", "states": {"a": {"on": {"GO": "b"}}, "b": {}}}
    )
    snapshot, _ = machine.initial_transition()

    with pytest.raises(EventError):
        machine.transition(snapshot, event)


def test_an_event_may_be_given_as_its_type_string(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {"a": {"on": {"GO": {"target": "b", "actions": ["see"]}}}, "b": {}},
        },
        actions={"see": lambda context, event: rec.calls.append(dict(event))},
    )
    snapshot, _ = machine.initial_transition()

    snapshot, _ = machine.transition(snapshot, "GO")

    assert snapshot.value == "b"
    assert rec.take() == [{"type": "GO"}]


def _incomplete_machine(rec: Any, guard: object = None) -> Any:
    """Leaving parallel `p` for its own history state exits `p` without re-entering it."""
    p_handler: dict[str, Any] = {"actions": ["t_p"]}
    if guard is not None:
        p_handler["guard"] = guard
    return rec.machine(
        {
            "id": "m",
            "initial": "s",
            "on": {"R": {"actions": ["t_root"]}},
            "states": {
                "s": {"on": {"GO": "p"}},
                "p": {
                    "type": "parallel",
                    "on": {"R": p_handler},
                    "states": {
                        "a": {"initial": "a1", "states": {"a1": {"on": {"H": "#m.p.h"}}}},
                        "b": {"initial": "b1", "states": {"b1": {}}},
                        "h": {"type": "history"},
                    },
                },
            },
        }
    )


@pytest.mark.parametrize("guard", [None, {"$expr": "true"}], ids=["cached", "guarded"])
def test_an_incomplete_configuration_selects_along_the_state_value(rec: Any, guard: object) -> None:
    machine = _incomplete_machine(rec, guard)
    snapshot, _ = machine.initial_transition()
    snapshot, _ = machine.transition(snapshot, "GO")
    snapshot, _ = machine.transition(snapshot, "H")
    # The regions are still active states, but the value names only the root's initial child.
    assert snapshot.value == "s"
    assert "m.p.a.a1" in snapshot.configuration
    assert "m.p" not in snapshot.configuration
    assert snapshot.matches("s")
    assert not snapshot.matches("p")
    assert not snapshot.matches("p.a.a1")
    rec.take()
    for _ in range(2):  # the second time from the selection cached on the configuration
        after, _ = machine.transition(snapshot, "R")
        assert rec.take() == ["t_root"]
    assert after.value == "s"
    assert snapshot.can("R")
    # The regions' own events are not selected from this value, so they are not offered.
    assert not snapshot.can("H")
    assert snapshot.accepted_events == ("R", "GO")
    restored = type(snapshot).from_json(machine, snapshot.to_json())
    machine.transition(restored, "R")
    assert rec.take() == ["t_root"]
