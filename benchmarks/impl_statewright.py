"""statewright's pure chart API: `initial_transition` and `transition` on immutable snapshots.

No actor, no runtime: each call returns a Macrostep and the loop keeps its snapshot,
which is exactly what the engine does around its store.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from benchmarks import charts
from benchmarks._harness import Bench
from statewright import Machine, Snapshot, assign


def _is_small(context: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    return bool(context["amount"] < 1000)


def _receipt(context: Mapping[str, Any], event: Mapping[str, Any]) -> dict[str, Any]:
    return {"receipt": event["output"]["receipt"]}


def _flips(context: Mapping[str, Any], event: Mapping[str, Any]) -> dict[str, Any]:
    return {"flips": context["flips"] + 1}


def toggle() -> Bench:
    """Transitions/s of a two-state machine flipped by TOGGLE, snapshot to snapshot."""
    machine = Machine.from_config(charts.toggle())
    snapshot = machine.initial_transition().snapshot
    event = charts.TOGGLE

    def loop(n: int) -> None:
        nonlocal snapshot
        transition = machine.transition
        for _ in range(n):
            snapshot = transition(snapshot, event).snapshot

    loop(2)
    assert snapshot.value == "off", snapshot.value
    return Bench(loop)


def _order_bench(machine: Machine) -> Bench:
    """Orders/s, each created and run to its final state, alternating both paths."""
    inputs = tuple({"amount": amount} for amount in charts.AMOUNTS)
    done, approve = charts.PAYMENT_DONE, charts.APPROVE
    reserved, shipped = charts.RESERVED, charts.SHIPPED

    def run(i: int) -> Any:
        k = i & 1
        transition = machine.transition
        snapshot = machine.initial_transition(input=inputs[k]).snapshot
        if k:
            snapshot = transition(snapshot, approve).snapshot
        snapshot = transition(snapshot, done[k]).snapshot
        snapshot = transition(snapshot, reserved).snapshot
        return transition(snapshot, shipped).snapshot

    for i in range(2):
        last = run(i)
        assert last.status == "done", (last.value, last.status)
        assert last.context["receipt"] == f"r-{charts.AMOUNTS[i]}", last.context

    def loop(n: int) -> None:
        for i in range(n):
            run(i)

    return Bench(loop)


def order() -> Bench:
    """Orders/s with the guard and the receipt assign as Python callables (`provide`)."""
    machine = Machine.from_config(charts.order()).provide(
        guards={"isSmall": _is_small}, actions={"storeReceipt": assign(_receipt)}
    )
    return _order_bench(machine)


def order_expressions() -> Bench:
    """Orders/s with the guard and the assign as JSON `$expr` expressions (no Python)."""
    bench = _order_bench(Machine.from_config(charts.order(expressions=True)))
    return Bench(bench.loop, note="guard {$expr: context.amount < 1000}, built-in assign")


def deep() -> Bench:
    """Transitions/s across a 5-level hierarchy: leaf to leaf and back, and via an ancestor."""
    machine = Machine.from_config(charts.deep())
    snapshot = machine.initial_transition().snapshot
    cross, back, nxt = charts.DEEP_CYCLE

    def loop(n: int) -> None:
        nonlocal snapshot
        transition = machine.transition
        for _ in range(n):
            snapshot = transition(snapshot, cross).snapshot
            snapshot = transition(snapshot, back).snapshot
            snapshot = transition(snapshot, nxt).snapshot

    loop(1)
    assert snapshot.value == {"left": {"l2": {"l3": {"l4": "l5a"}}}}, snapshot.value
    return Bench(loop)


def snapshot_round_trip() -> Bench:
    """Transitions/s when each event restores the snapshot from JSON text and re-serialises it."""
    machine = Machine.from_config(charts.counter()).provide(actions={"flip": assign(_flips)})
    text = json.dumps(machine.initial_transition().snapshot.to_json())
    event = charts.TOGGLE

    def loop(n: int) -> None:
        nonlocal text
        for _ in range(n):
            snapshot = Snapshot.from_json(machine, json.loads(text))
            text = json.dumps(machine.transition(snapshot, event).snapshot.to_json())

    before = json.loads(text)["context"]["flips"]
    loop(3)
    assert json.loads(text)["context"]["flips"] == before + 3, text
    return Bench(loop)


ROWS = (
    ("toggle", "statewright", toggle),
    ("order", "statewright", order),
    ("order", "statewright ($expr)", order_expressions),
    ("deep", "statewright", deep),
    ("snapshot", "statewright", snapshot_round_trip),
)
