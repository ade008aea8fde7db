"""transitions: triggers as model methods; `Machine` (flat) and `HierarchicalMachine`.

The toggle uses the flat `Machine`, the library's fast path; the other scenarios need
`HierarchicalMachine` (nested states, parallel states, `on_final`). transitions has no
eventless transitions, so the order's routing guard runs as an explicit ROUTE trigger
right after creation (the row is marked approx), and no invoke, so the payment completes
with a plain event. Many orders share one machine, each order a model added and removed,
which is how transitions runs many instances.
"""

from __future__ import annotations

from typing import Any

from transitions import Machine
from transitions.extensions import HierarchicalMachine

from benchmarks import charts
from benchmarks._harness import Bench, Skip


class _Model:
    """A bare model object: transitions attaches the trigger methods and `state` to it."""

    state: Any


class _Order:
    def __init__(self, amount: int) -> None:
        self.amount = amount
        self.receipt: str | None = None

    def is_small(self) -> bool:
        return self.amount < 1000

    def store_receipt(self, output: dict[str, Any]) -> None:
        self.receipt = output["receipt"]

    def fulfilled(self) -> None:
        # on_final of the parallel state: queued, so it runs after the current transition,
        # as XState's done event does.
        self.FULFILLED()  # type: ignore[attr-defined]


def _region(name: str, working: str, final: str) -> dict[str, Any]:
    return {"name": name, "initial": working, "children": [working, {"name": final, "final": True}]}


def _order_machine() -> HierarchicalMachine:
    # "_" is transitions' path separator, so pending_approval is spelt pendingApproval.
    fulfilment = {
        "name": "fulfilment",
        "parallel": [
            _region("inventory", "reserving", "reserved"),
            _region("shipping", "preparing", "shipped"),
        ],
        "on_final": "fulfilled",
    }
    states = [
        "submitted",
        "pendingApproval",
        "payment",
        fulfilment,
        {"name": "shipped", "final": True},
    ]
    table = [
        ("ROUTE", "submitted", "payment", {"conditions": "is_small"}),
        ("ROUTE", "submitted", "pendingApproval", {}),
        ("APPROVE", "pendingApproval", "payment", {}),
        ("PAYMENT_DONE", "payment", "fulfilment", {"after": "store_receipt"}),
        ("RESERVED", "fulfilment_inventory_reserving", "fulfilment_inventory_reserved", {}),
        ("SHIPPED", "fulfilment_shipping_preparing", "fulfilment_shipping_shipped", {}),
        ("FULFILLED", "fulfilment", "shipped", {}),
    ]
    transitions = [
        {"trigger": trigger, "source": source, "dest": dest, **extra}
        for trigger, source, dest, extra in table
    ]
    return HierarchicalMachine(
        model=None,
        states=states,
        transitions=transitions,
        initial="submitted",
        auto_transitions=False,
        queued=True,
    )


def _chain(names: list[str], leaves: list[str]) -> dict[str, Any]:
    node: dict[str, Any] = {"name": names[-1], "initial": leaves[0], "children": leaves}
    for name in reversed(names[:-1]):
        node = {"name": name, "initial": node["name"], "children": [node]}
    return node


def toggle() -> Bench:
    """Transitions/s of a flat two-state machine flipped by the model's TOGGLE trigger."""
    model = _Model()
    Machine(
        model=model,
        states=["off", "on"],
        transitions=[["TOGGLE", "off", "on"], ["TOGGLE", "on", "off"]],
        initial="off",
        auto_transitions=False,
    )
    flip = model.TOGGLE  # type: ignore[attr-defined]

    def loop(n: int) -> None:
        for _ in range(n):
            flip()

    loop(2)
    assert model.state == "off", model.state
    return Bench(loop)


def order() -> Bench:
    """Orders/s, each a new model run to its final state, alternating both paths."""
    machine = _order_machine()
    outputs = tuple(done["output"] for done in charts.PAYMENT_DONE)

    def run(i: int) -> _Order:
        k = i & 1
        model = _Order(charts.AMOUNTS[k])
        machine.add_model(model)
        model.ROUTE()  # type: ignore[attr-defined]
        if k:
            model.APPROVE()  # type: ignore[attr-defined]
        model.PAYMENT_DONE(output=outputs[k])  # type: ignore[attr-defined]
        model.RESERVED()  # type: ignore[attr-defined]
        model.SHIPPED()  # type: ignore[attr-defined]
        machine.remove_model(model)
        return model

    for i in range(2):
        last = run(i)
        assert last.state == "shipped", last.state  # type: ignore[attr-defined]
        assert last.receipt == f"r-{charts.AMOUNTS[i]}", last.receipt

    def loop(n: int) -> None:
        for i in range(n):
            run(i)

    note = "eventless guard is an explicit ROUTE trigger; payment done is a plain event"
    return Bench(loop, note=note, approx=True)


def deep() -> Bench:
    """Transitions/s across a 5-level hierarchy: leaf to leaf and back, and via an ancestor."""
    model = _Model()
    HierarchicalMachine(
        model=model,
        states=[
            _chain(["left", "l2", "l3", "l4"], ["l5a", "l5b"]),
            _chain(["right", "r2", "r3", "r4"], ["r5"]),
        ],
        transitions=[
            {"trigger": "CROSS", "source": "left_l2_l3_l4_l5a", "dest": "right_r2_r3_r4_r5"},
            {"trigger": "BACK", "source": "right_r2_r3_r4_r5", "dest": "left_l2_l3_l4_l5b"},
            {"trigger": "NEXT", "source": "left_l2", "dest": "left_l2_l3_l4_l5a"},
        ],
        initial="left",
        auto_transitions=False,
    )
    cross, back, nxt = (getattr(model, event["type"]) for event in charts.DEEP_CYCLE)

    def loop(n: int) -> None:
        for _ in range(n):
            cross()
            back()
            nxt()

    loop(1)
    assert model.state == "left_l2_l3_l4_l5a", model.state
    return Bench(loop)


def snapshot_round_trip() -> Bench:
    """Not measured: transitions has no snapshot API."""
    raise Skip("no snapshot API: the state is a plain attribute of the model")


ROWS = (
    ("toggle", "transitions", toggle),
    ("order", "transitions", order),
    ("deep", "transitions", deep),
    ("snapshot", "transitions", snapshot_round_trip),
)
