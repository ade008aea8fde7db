"""`statewright.testing.paths`: shortest and simple event paths, replayed on an Actor."""

from __future__ import annotations

from typing import Any

import pytest

from statewright import Machine
from statewright.errors import PathError
from statewright.testing import Actor, Path, path_from_events, paths

LIGHT: dict[str, Any] = {
    "id": "light",
    "initial": "green",
    "states": {
        "green": {"on": {"TIMER": "yellow"}},
        "yellow": {"on": {"TIMER": "red", "BACK": "green"}},
        "red": {"on": {"TIMER": "green"}},
    },
}


def by_value(found: list[Path]) -> dict[str, list[str]]:
    return {str(p.snapshot.value): [str(e["type"]) for e in p.events] for p in found}


def test_shortest_path_to_every_state_of_a_definition_dict() -> None:
    found = paths(LIGHT)
    assert by_value(found) == {
        "green": [],
        "yellow": ["TIMER"],
        "red": ["TIMER", "TIMER"],
    }
    assert [len(p) for p in found] == [0, 1, 2]
    assert found[2].describe() == "reaches red: TIMER → TIMER"
    assert found[2].to_json() == {
        "state": "red",
        "context": {},
        "status": "active",
        "events": [{"type": "TIMER"}, {"type": "TIMER"}],
    }


def test_simple_paths_visit_no_state_twice() -> None:
    found = paths(LIGHT, simple=True)
    assert sorted(tuple(str(e["type"]) for e in p.events) for p in found) == [
        (),
        ("TIMER",),
        ("TIMER", "TIMER"),
    ]
    to_green = paths(LIGHT, simple=True, from_state="yellow", to_state="green")
    assert sorted(tuple(str(e["type"]) for e in p.events) for p in to_green) == [
        ("TIMER", "BACK"),
        ("TIMER", "TIMER", "TIMER"),
    ]


def test_guards_see_the_sample_events() -> None:
    config = {
        "id": "m",
        "initial": "idle",
        "states": {
            "idle": {
                "on": {
                    "ORDER": [
                        {"guard": {"$expr": "event.amount >= 1000"}, "target": "review"},
                        {"target": "auto"},
                    ]
                }
            },
            "review": {},
            "auto": {},
        },
    }
    assert set(by_value(paths(config, events={"ORDER": [{"amount": 5}]}))) == {"idle", "auto"}
    found = paths(config, events={"ORDER": [{"amount": 5}, {"type": "ORDER", "amount": 5000}]})
    assert found[2].events == [{"type": "ORDER", "amount": 5000}]
    assert found[2].snapshot.value == "review"
    # No sample: the event is sent as {"type": T}, and the guard fails on it; [] never
    # sends it.
    bare = paths(config)
    assert [(p.snapshot.value, p.snapshot.status) for p in bare] == [
        ("idle", "active"),
        ("idle", "error"),
    ]
    assert set(by_value(paths(config, events={"ORDER": []}))) == {"idle"}


def test_events_may_be_a_function_of_the_state() -> None:
    config = {
        "id": "m",
        "initial": "a",
        "context": {"n": 0},
        "states": {
            "a": {
                "on": {
                    "ADD": {"actions": {"type": "assign", "params": {"n": {"$expr": "event.by"}}}},
                    "GO": {"guard": {"$expr": "context.n == 2"}, "target": "b"},
                }
            },
            "b": {},
        },
    }

    def events(snapshot: Any) -> list[Any]:
        return ["GO", {"type": "ADD", "by": min(snapshot.context["n"] + 1, 2)}]

    found = paths(config, events=events)
    assert [(p.snapshot.value, p.snapshot.context["n"]) for p in found] == [
        ("a", 0),
        ("a", 1),
        ("a", 2),
        ("b", 2),
    ]


def test_parallel_regions_and_final_states() -> None:
    config = {
        "id": "m",
        "initial": "p",
        "states": {
            "p": {
                "type": "parallel",
                "states": {
                    "x": {
                        "initial": "x1",
                        "states": {"x1": {"on": {"X": "x2"}}, "x2": {"type": "final"}},
                    },
                    "y": {
                        "initial": "y1",
                        "states": {"y1": {"on": {"Y": "y2"}}, "y2": {"type": "final"}},
                    },
                },
                "onDone": "done",
            },
            "done": {"type": "final"},
        },
    }
    found = paths(config)
    values = [p.snapshot.value for p in found]
    assert values == [
        {"p": {"x": "x1", "y": "y1"}},
        {"p": {"x": "x2", "y": "y1"}},
        {"p": {"x": "x1", "y": "y2"}},
        "done",
    ]
    assert [str(e["type"]) for e in found[-1].events] == ["X", "Y"]
    assert found[-1].snapshot.status == "done"
    # The completion event is raised by the chart; sent from outside only when asked for.
    shortcut = paths(config, events={"xstate.done.state.m.p": [{}]})
    (done,) = [p for p in shortcut if p.snapshot.value == "done"]
    assert [str(e["type"]) for e in done.events] == ["xstate.done.state.m.p"]


def test_after_timers_are_events_and_replay_on_an_actor() -> None:
    config = {
        "id": "m",
        "initial": "wait",
        "states": {
            "wait": {"after": {"48h": "late"}, "on": {"ANSWER": "answered"}},
            "late": {"after": {"1000": "later"}},
            "answered": {},
            "later": {},
        },
    }
    machine = Machine.from_config(config)
    found = paths(machine)
    assert by_value(found) == {
        "wait": [],
        "late": ["xstate.after.48h.m.wait"],
        "answered": ["ANSWER"],
        "later": ["xstate.after.48h.m.wait", "xstate.after.1000.m.late"],
    }
    for path in found:
        snapshot = path.run(Actor(machine))
        assert snapshot.value == path.snapshot.value


def test_invoked_steps_are_explored_with_sample_outputs_and_replayed() -> None:
    config = {
        "id": "m",
        "initial": "charging",
        "context": {"paid": None},
        "states": {
            "charging": {
                "invoke": {
                    "id": "pay",
                    "src": "charge",
                    "onDone": {
                        "target": "paid",
                        "actions": {
                            "type": "assign",
                            "params": {"paid": {"$expr": "event.output.id"}},
                        },
                    },
                    "onError": "failed",
                }
            },
            "paid": {"type": "final"},
            "failed": {"on": {"RETRY": "charging"}},
        },
    }
    machine = Machine.from_config(config, actors={"charge": lambda input: {"id": "real"}})
    found = paths(machine, events={"xstate.done.actor.pay": [{"output": {"id": "p-1"}}]})
    assert [(p.snapshot.value, p.snapshot.context["paid"]) for p in found] == [
        ("charging", None),
        ("paid", "p-1"),
        ("failed", None),
    ]
    assert found[1].events == [
        {"type": "xstate.done.actor.pay", "output": {"id": "p-1"}, "actorId": "pay"}
    ]
    for path in found:
        path.run(Actor(machine, run_steps=False))
    # An actor that runs its steps itself is not where the path expects.
    with pytest.raises(AssertionError, match="run_steps=False"):
        found[0].run(Actor(machine))


def test_always_transitions_leave_transient_states_unreached() -> None:
    config = {
        "id": "m",
        "initial": "check",
        "context": {"ok": True},
        "states": {
            "check": {"always": [{"guard": {"$expr": "context.ok"}, "target": "fine"}, "bad"]},
            "fine": {"on": {"AGAIN": "check"}},
            "bad": {},
        },
    }
    assert by_value(paths(config)) == {"fine": []}


def test_history_counts_toward_a_state_unless_keyed_like_xstate() -> None:
    config = {
        "id": "m",
        "initial": "work",
        "states": {
            "work": {
                "initial": "a",
                "states": {"a": {"on": {"NEXT": "b"}}, "b": {}, "h": {"type": "history"}},
                "on": {"PAUSE": "paused"},
            },
            "paused": {"on": {"RESUME": "work.h"}},
        },
    }
    full = paths(config)
    xstate = paths(config, serialize="xstate")
    # "paused" remembering a and "paused" remembering b are two states unless history is
    # left out of the key: resuming from the second reaches work.b a second way.
    assert [p.snapshot.value for p in full].count("paused") == 2
    assert [p.snapshot.value for p in xstate].count("paused") == 1
    assert len(paths(config, serialize="value")) == 3


def test_a_throwing_guard_reaches_an_error_state() -> None:
    def explode(context: object, event: object) -> bool:
        raise RuntimeError("boom")

    machine = Machine.from_config(
        {
            "id": "m",
            "initial": "a",
            "states": {"a": {"on": {"GO": {"guard": "explode", "target": "b"}}}, "b": {}},
        },
        guards={"explode": explode},
    )
    found = paths(machine)
    assert [(p.snapshot.value, p.snapshot.status) for p in found] == [
        ("a", "active"),
        ("a", "error"),
    ]


def test_to_state_filters_and_stops_exploring() -> None:
    found = paths(LIGHT, to_state="yellow")
    assert by_value(found) == {"yellow": ["TIMER"]}
    assert by_value(paths(LIGHT, to_state="#light.red")) == {"red": ["TIMER", "TIMER"]}
    assert by_value(paths(LIGHT, to_state=lambda s: s.value != "green")) == {"yellow": ["TIMER"]}


def test_from_state_prefixes_the_shortest_path_there() -> None:
    found = paths(LIGHT, from_state="red")
    assert by_value(found) == {
        "red": ["TIMER", "TIMER"],
        "green": ["TIMER", "TIMER", "TIMER"],
        "yellow": ["TIMER", "TIMER", "TIMER", "TIMER"],
    }
    machine = Machine.from_config(LIGHT)
    red = machine.transition(
        machine.transition(machine.initial_transition().snapshot, "TIMER").snapshot, "TIMER"
    ).snapshot
    assert by_value(paths(machine, from_state=red))["yellow"] == ["TIMER", "TIMER"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"to_state": "yelow"},
            "to_state: machine 'light' has no state 'yelow'; did you mean \"yellow\"?",
        ),
        ({"from_state": "#light.gren"}, 'did you mean "#light.green"?'),
        (
            {"events": {"TIMR": [{}]}},
            "no state of machine 'light' handles 'TIMR'; did you mean \"TIMER\"?",
        ),
        ({"events": {"TIMER": {}}}, "must be a list of sample events"),
        ({"events": {"TIMER": [{"type": "BACK"}]}}, "has type 'BACK'"),
        ({"serialize": "everything"}, "not a state key"),
        ({"limit": 0}, "positive whole number"),
    ],
)
def test_bad_options_name_what_to_fix(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(PathError, match=message.replace("(", r"\(").replace("?", r"\?")):
        paths(LIGHT, **kwargs)


def test_an_unbounded_context_hits_the_limit_with_a_fix() -> None:
    counter = {
        "id": "counter",
        "initial": "on",
        "context": {"n": 0},
        "states": {
            "on": {
                "on": {
                    "INC": {
                        "actions": {"type": "assign", "params": {"n": {"$expr": "context.n + 1"}}}
                    }
                }
            }
        },
    }
    with pytest.raises(PathError, match=r"more than 50 states.*serialize='value'"):
        paths(counter, limit=50)
    assert len(paths(counter, serialize="value")) == 1


def test_replay_reports_where_the_actor_left_the_path() -> None:
    machine = Machine.from_config(LIGHT)
    path = paths(machine)[2]
    actor = Actor(machine).start()
    actor.send("TIMER")
    with pytest.raises(AssertionError, match="at the start the actor is in 'yellow'"):
        path.run(actor)


def test_a_raising_action_reaches_an_error_state() -> None:
    def boom(context: object, event: object) -> None:
        raise RuntimeError("boom")

    machine = Machine.from_config(
        {
            "id": "m",
            "initial": "a",
            "states": {"a": {"on": {"GO": {"target": "b", "actions": "boom"}}}, "b": {}},
        },
        actions={"boom": boom},
    )
    assert [(p.snapshot.value, p.snapshot.status) for p in paths(machine)] == [
        ("a", "active"),
        ("a", "error"),
    ]


def test_wildcards_send_only_matching_samples() -> None:
    config = {
        "id": "m",
        "initial": "a",
        "states": {"a": {"on": {"order.*": "b", "*": "c"}}, "b": {}, "c": {}},
    }
    assert by_value(paths(config)) == {"a": []}
    found = paths(config, events={"order.placed": [{}], "OTHER": [{}]})
    assert by_value(found) == {"a": [], "b": ["order.placed"], "c": ["OTHER"]}


def test_a_path_from_given_events_replays_and_checks_each_state() -> None:
    machine = Machine.from_config(LIGHT)
    path = path_from_events(machine, ["TIMER", {"type": "BACK"}, "NOPE"])
    assert [step.snapshot.value for step in path.steps] == ["yellow", "green", "green"]
    assert path.run(Actor(machine)).value == "green"
    assert path.describe() == "reaches green: TIMER → BACK → NOPE"


def test_simple_paths_follow_a_long_chain_of_states() -> None:
    counter = {
        "id": "counter",
        "initial": "on",
        "context": {"n": 0},
        "states": {
            "on": {
                "on": {
                    "INC": {
                        "guard": {"$expr": "context.n < 2000"},
                        "actions": {"type": "assign", "params": {"n": {"$expr": "context.n + 1"}}},
                    }
                }
            }
        },
    }
    found = paths(counter, simple=True)
    assert len(found) == 2001
    assert max(len(path) for path in found) == 2000
