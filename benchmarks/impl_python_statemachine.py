"""python-statemachine (import name `statemachine`) 3.x: class-defined `StateChart`s.

It has compound and parallel states, eventless transitions and `done.state` events, so the
machines mirror closely. Its `invoke` runs the work itself on a thread pool; to keep the
step outside the measurement, as statewright's chart does, the payment's completion is a
plain event carrying the output.
"""

from __future__ import annotations

from typing import Any

from statemachine import State, StateChart

from benchmarks import charts
from benchmarks._harness import Bench, Skip


class Toggle(StateChart):
    off = State(initial=True)
    on = State()
    TOGGLE = off.to(on) | on.to(off)


class Order(StateChart):
    submitted = State(initial=True)
    pending_approval = State()
    payment = State()

    class fulfilment(State.Parallel):
        class inventory(State.Compound):
            reserving = State(initial=True)
            reserved = State(final=True)
            RESERVED = reserving.to(reserved)

        class shipping(State.Compound):
            preparing = State(initial=True)
            sent = State(final=True)  # "shipped" would clash with the top-level state's id
            SHIPPED = preparing.to(sent)

    shipped = State(final=True)

    submitted.to(payment, cond="is_small")
    submitted.to(pending_approval, unless="is_small")
    APPROVE = pending_approval.to(payment)
    PAYMENT_DONE = payment.to(fulfilment, on="store_receipt")
    done_state_fulfilment = fulfilment.to(shipped)

    def __init__(self, amount: int) -> None:
        # Set before the chart starts: the eventless guard reads it on the initial macrostep.
        self.amount = amount
        self.receipt: str | None = None
        super().__init__()

    def is_small(self) -> bool:
        return self.amount < 1000

    def store_receipt(self, output: dict[str, Any]) -> None:
        self.receipt = output["receipt"]


class Deep(StateChart):
    class left(State.Compound):
        class l2(State.Compound):
            class l3(State.Compound):
                class l4(State.Compound):
                    l5a = State(initial=True)
                    l5b = State()

    class right(State.Compound):
        class r2(State.Compound):
            class r3(State.Compound):
                class r4(State.Compound):
                    r5 = State(initial=True)

    CROSS = left.l2.l3.l4.l5a.to(right.r2.r3.r4.r5)
    BACK = right.r2.r3.r4.r5.to(left.l2.l3.l4.l5b)
    # internal=True: XState v5's default (reenter: false) does not exit the source itself.
    NEXT = left.l2.to(left.l2.l3.l4.l5a, internal=True)


def toggle() -> Bench:
    """Transitions/s of a two-state chart flipped by `send("TOGGLE")`."""
    chart = Toggle()
    event = charts.TOGGLE["type"]

    def loop(n: int) -> None:
        send = chart.send
        for _ in range(n):
            send(event)

    loop(2)
    assert set(chart.configuration_values) == {"off"}, chart.configuration_values
    return Bench(loop)


def order() -> Bench:
    """Orders/s, each a new chart run to its final state, alternating both paths."""
    outputs = tuple(done["output"] for done in charts.PAYMENT_DONE)

    def run(i: int) -> Order:
        k = i & 1
        chart = Order(charts.AMOUNTS[k])
        if k:
            chart.send("APPROVE")
        chart.send("PAYMENT_DONE", output=outputs[k])
        chart.send("RESERVED")
        chart.send("SHIPPED")
        return chart

    for i in range(2):
        last = run(i)
        assert last.is_terminated and last.receipt == f"r-{charts.AMOUNTS[i]}", last.receipt

    def loop(n: int) -> None:
        for i in range(n):
            run(i)

    return Bench(loop, note="payment done is a plain event with the output")


def deep() -> Bench:
    """Transitions/s across a 5-level hierarchy: leaf to leaf and back, and via an ancestor."""
    chart = Deep()
    cross, back, nxt = (event["type"] for event in charts.DEEP_CYCLE)

    def loop(n: int) -> None:
        send = chart.send
        for _ in range(n):
            send(cross)
            send(back)
            send(nxt)

    loop(1)
    assert "l5a" in chart.configuration_values, chart.configuration_values
    return Bench(loop)


def snapshot_round_trip() -> Bench:
    """Not measured: python-statemachine has no snapshot API to restore a chart from."""
    raise Skip(
        "no snapshot API: it persists only a state value on a domain model, "
        "restoring means building a new chart around it"
    )


ROWS = (
    ("toggle", "python-statemachine", toggle),
    ("order", "python-statemachine", order),
    ("deep", "python-statemachine", deep),
    ("snapshot", "python-statemachine", snapshot_round_trip),
)
