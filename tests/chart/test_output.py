"""The machine's `output`, computed once it is done."""

from __future__ import annotations

from typing import Any


def finishing(**extra: Any) -> dict[str, Any]:
    return {
        "id": "m",
        "initial": "a",
        "context": {"total": 3},
        "states": {
            "a": {"entry": ["in_a"], "on": {"FINISH": "f"}},
            "f": {"type": "final", "entry": ["in_f"], **extra.pop("final", {})},
        },
        **extra,
    }


def finish(machine: Any, event: dict[str, Any] | None = None) -> Any:
    snapshot, _ = machine.initial_transition()
    snapshot, _ = machine.transition(snapshot, {"type": "FINISH", **(event or {})})
    return snapshot


def test_without_output_a_done_machine_has_none(rec: Any) -> None:
    snapshot = finish(rec.machine(finishing()))

    assert snapshot.value == "f"
    assert snapshot.context == {"total": 3}
    assert snapshot.status == "done"
    assert snapshot.output is None
    assert "output" not in snapshot.to_json()
    assert rec.take() == ["in_a", "in_f"]


def test_the_machine_output_is_computed_from_the_context(rec: Any) -> None:
    snapshot = finish(
        rec.machine(finishing(output={"total": {"$expr": "context.total"}, "currency": "EUR"}))
    )

    assert snapshot.status == "done"
    assert snapshot.output == {"total": 3, "currency": "EUR"}
    assert snapshot.to_json()["output"] == {"total": 3, "currency": "EUR"}


def test_the_final_state_output_sees_the_event_that_entered_it(rec: Any) -> None:
    machine = rec.machine(
        finishing(
            final={"output": {"reason": {"$expr": "event.reason"}}},
            output={"$expr": "event.output"},
        )
    )

    snapshot = finish(machine, {"reason": "paid"})

    assert snapshot.output == {"reason": "paid"}


def test_the_final_state_output_alone_is_not_the_machine_output(rec: Any) -> None:
    snapshot = finish(rec.machine(finishing(final={"output": {"x": 1}})))

    assert snapshot.status == "done"
    assert snapshot.output is None


def test_output_is_taken_after_the_final_entry_and_before_the_exit_actions(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "a",
            "context": {"count": 0},
            "exit": [{"type": "assign", "params": {"count": 2}}],
            "output": {"count": {"$expr": "context.count"}},
            "states": {
                "a": {"on": {"GO": "f"}},
                "f": {"type": "final", "entry": [{"type": "assign", "params": {"count": 1}}]},
            },
        }
    )
    snapshot, _ = machine.initial_transition()

    snapshot, _ = machine.transition(snapshot, "GO")

    assert snapshot.status == "done"
    assert snapshot.output == {"count": 1}
    assert snapshot.context == {"count": 2}


def test_a_nested_final_state_does_not_produce_machine_output(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "initial": "job",
            "output": {"done": True},
            "states": {
                "job": {
                    "initial": "w",
                    "states": {
                        "w": {"on": {"GO": "ok"}},
                        "ok": {"type": "final", "output": {"x": 1}},
                    },
                }
            },
        }
    )
    snapshot, _ = machine.initial_transition()

    snapshot, _ = machine.transition(snapshot, "GO")

    assert snapshot.value == {"job": "ok"}
    assert snapshot.status == "active"
    assert snapshot.output is None


def test_a_parallel_root_output_sees_no_final_state_output(rec: Any) -> None:
    machine = rec.machine(
        {
            "id": "m",
            "type": "parallel",
            "output": {"event_output": {"$expr": "event.output"}, "event": {"$expr": "event.type"}},
            "states": {
                "r1": {
                    "initial": "a",
                    "states": {"a": {"on": {"GO": "f"}}, "f": {"type": "final", "output": 1}},
                },
                "r2": {
                    "initial": "b",
                    "states": {"b": {"on": {"GO": "f"}}, "f": {"type": "final", "output": 2}},
                },
            },
        }
    )
    snapshot, _ = machine.initial_transition()

    snapshot, _ = machine.transition(snapshot, "GO")

    assert snapshot.status == "done"
    assert snapshot.output == {"event_output": None, "event": "xstate.done.state.m"}


def test_a_python_output_function(rec: Any) -> None:
    machine = rec.machine(
        finishing(
            output=lambda context, event: {"total": context["total"] * 10, "via": event["type"]},
        )
    )

    snapshot = finish(machine)

    # As XState: the done event of a top-level final state is named after that state.
    assert snapshot.output == {"total": 30, "via": "xstate.done.state.m.f"}
