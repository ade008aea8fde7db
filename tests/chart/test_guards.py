"""Guards (`and`/`or`/`not`, `$expr`, parameterised) and parameterised actions."""

from __future__ import annotations

from typing import Any

import pytest

from statewright import DefinitionError, Machine


def guarded_machine(rec: Any, guard: Any, **implementations: Any) -> Machine:
    machine: Machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"total": 500, "vip": False, "blocked": False},
            "states": {
                "a": {
                    "on": {
                        "GO": [
                            {"target": "yes", "guard": guard, "actions": ["t_yes"]},
                            {"target": "no", "actions": ["t_no"]},
                        ]
                    }
                },
                "yes": {},
                "no": {},
            },
        },
        **implementations,
    )
    return machine


def outcome(machine: Machine, event: dict[str, Any], rec: Any) -> tuple[object, list[object]]:
    snapshot, _ = machine.initial_transition()
    snapshot, _ = machine.transition(snapshot, {"type": "GO", **event})
    assert snapshot.status == "active"
    return snapshot.value, rec.take()


def tracking(evaluated: list[str], **results: bool) -> dict[str, Any]:
    def make(name: str, result: bool) -> Any:
        def guard(context: Any, event: Any) -> bool:
            evaluated.append(name)
            return result

        return guard

    return {name: make(name, result) for name, result in results.items()}


def test_and_passes_only_when_every_guard_passes_and_stops_at_the_first_failure(
    rec: Any,
) -> None:
    evaluated: list[str] = []
    guards = tracking(evaluated, t1=True, f1=False, t2=True)

    machine = guarded_machine(rec, {"and": ["t1", "t2"]}, guards=guards)
    assert outcome(machine, {}, rec) == ("yes", ["t_yes"])
    assert evaluated == ["t1", "t2"]

    evaluated.clear()
    machine = guarded_machine(rec, {"and": ["t1", "f1", "t2"]}, guards=guards)
    assert outcome(machine, {}, rec) == ("no", ["t_no"])
    assert evaluated == ["t1", "f1"]


def test_or_passes_when_any_guard_passes_and_stops_at_the_first_success(rec: Any) -> None:
    evaluated: list[str] = []
    guards = tracking(evaluated, f1=False, t1=True, f2=False)

    machine = guarded_machine(rec, {"or": ["f1", "t1", "f2"]}, guards=guards)
    assert outcome(machine, {}, rec) == ("yes", ["t_yes"])
    assert evaluated == ["f1", "t1"]

    evaluated.clear()
    machine = guarded_machine(rec, {"or": ["f1", "f2"]}, guards=guards)
    assert outcome(machine, {}, rec) == ("no", ["t_no"])
    assert evaluated == ["f1", "f2"]


def test_not_inverts_a_guard(rec: Any) -> None:
    machine = guarded_machine(rec, {"not": {"$expr": "context.blocked"}})

    assert outcome(machine, {}, rec) == ("yes", ["t_yes"])


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"amount": 10, "country": "DE"}, "yes"),
        ({"amount": 10, "country": "US"}, "no"),
        ({"amount": 10_000, "country": "DE", "override": True}, "yes"),
        ({"amount": 10_000, "country": "DE"}, "no"),
    ],
)
def test_combinators_nest_and_mix_with_expressions(
    rec: Any, event: dict[str, Any], expected: str
) -> None:
    guard = {
        "or": [
            {
                "and": [
                    {"$expr": "context.total + event.amount < 1000"},
                    {"not": {"$expr": "event.country == 'US'"}},
                ]
            },
            {"type": "flag", "params": {"name": "override"}},
        ]
    }
    machine = guarded_machine(
        rec, guard, guards={"flag": lambda context, event, params: bool(event.get(params["name"]))}
    )

    assert outcome(machine, event, rec) == (expected, [f"t_{expected}"])


def test_a_parameterised_guard_receives_its_params_with_expressions_evaluated(
    rec: Any,
) -> None:
    received: list[object] = []

    def over(context: Any, event: Any, params: Any) -> bool:
        received.append(params)
        return bool(context["total"] > params["limit"])

    guard = {"type": "over", "params": {"limit": {"$expr": "event.limit * 10"}, "unit": "eur"}}
    machine = guarded_machine(rec, guard, guards={"over": over})

    assert outcome(machine, {"limit": 40}, rec) == ("yes", ["t_yes"])
    assert outcome(machine, {"limit": 60}, rec) == ("no", ["t_no"])
    assert received == [{"limit": 400, "unit": "eur"}, {"limit": 600, "unit": "eur"}]


def test_a_guard_without_a_params_argument_is_called_with_context_and_event(
    rec: Any,
) -> None:
    machine = guarded_machine(
        rec,
        {"type": "isVip", "params": {"ignored": 1}},
        guards={"isVip": lambda context, event: event.get("vip", False)},
    )

    assert outcome(machine, {"vip": True}, rec) == ("yes", ["t_yes"])


def test_an_inline_python_guard(rec: Any) -> None:
    machine = guarded_machine(rec, lambda context, event: event["n"] == 3)

    assert outcome(machine, {"n": 3}, rec) == ("yes", ["t_yes"])
    assert outcome(machine, {"n": 4}, rec) == ("no", ["t_no"])


def test_parameterised_actions_receive_their_params_evaluated_at_run_time(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"user": "ann"},
            "states": {
                "a": {
                    "exit": [
                        {
                            "type": "notify",
                            "params": {"to": {"$expr": "context.user"}, "why": "exit"},
                        }
                    ],
                    "on": {
                        "GO": {
                            "target": "b",
                            "actions": [
                                {
                                    "type": "notify",
                                    "params": {
                                        "to": {"$expr": "event.to"},
                                        "items": [{"$expr": "event.n"}, 2],
                                    },
                                },
                                "plain",
                            ],
                        }
                    },
                },
                "b": {"entry": [{"type": "notify", "params": {"to": "ops", "why": "entry"}}]},
            },
        }
    )
    snapshot, _ = machine.initial_transition()

    snapshot, _ = machine.transition(snapshot, {"type": "GO", "to": "bob", "n": 1})

    assert snapshot.value == "b"
    assert snapshot.context == {"user": "ann"}
    assert rec.take() == [
        ("notify", {"to": "ann", "why": "exit"}),
        ("notify", {"to": "bob", "items": [1, 2]}),
        "plain",
        ("notify", {"to": "ops", "why": "entry"}),
    ]


def test_an_action_without_a_params_argument_is_called_with_context_and_event(
    rec: Any,
) -> None:
    calls: list[object] = []
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "states": {"a": {"on": {"GO": {"actions": [{"type": "two", "params": {"x": 1}}]}}}},
        },
        actions={"two": lambda context, event: calls.append(event["type"])},
    )
    snapshot, _ = machine.initial_transition()

    machine.transition(snapshot, "GO")

    assert calls == ["GO"]


def test_a_missing_guard_is_reported_when_the_machine_runs() -> None:
    machine = Machine.from_config(
        {
            "id": "m",
            "initial": "a",
            "states": {"a": {"on": {"GO": {"target": "b", "guard": "isVlid"}}}, "b": {}},
        }
    )
    assert [f.path for f in machine.missing_implementations] == ["states.a.on.GO.guard"]

    with pytest.raises(DefinitionError) as info:
        machine.initial_transition()

    assert "guard 'isVlid' is not provided" in str(info.value)
    ready = machine.provide(guards={"isValid": lambda c, e: True, "isVlid": lambda c, e: True})
    snapshot, _ = ready.initial_transition()
    assert snapshot.value == "a"


def test_the_combinator_names_are_not_guard_types() -> None:
    with pytest.raises(DefinitionError, match='"and" is written'):
        Machine.from_config(
            {
                "id": "m",
                "initial": "a",
                "states": {"a": {"on": {"GO": {"target": "b", "guard": "and"}}}, "b": {}},
            }
        )


def test_a_broken_expression_is_a_definition_error() -> None:
    with pytest.raises(DefinitionError) as info:
        Machine.from_config(
            {
                "id": "m",
                "initial": "a",
                "states": {
                    "a": {"on": {"GO": {"target": "b", "guard": {"$expr": "context.total <"}}}},
                    "b": {},
                },
            }
        )

    assert info.value.faults[0].path == 'states.a.on.GO.guard["$expr"]'
