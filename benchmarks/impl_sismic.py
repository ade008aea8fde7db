"""sismic: statecharts as data (its dict/YAML format) run by its `Interpreter`.

Guards and actions are Python code strings, sismic's own way. Differences from the
XState machines: sismic has no invoke (the payment completes with a plain event), no done
events (fulfilment leaves on an eventless transition guarded by `active(...)` on both
final states), state names are global (the shipping region's final is `sent`), and its
transitions are external (NEXT exits and re-enters `l2` too).
"""

from __future__ import annotations

from typing import Any

from sismic.interpreter import Interpreter
from sismic.io.datadict import import_from_dict
from sismic.model import Statechart

from benchmarks import charts
from benchmarks._harness import Bench, Skip


def _state(name: str, *transitions: dict[str, str], **extra: Any) -> dict[str, Any]:
    state: dict[str, Any] = {"name": name, **extra}
    if transitions:
        state["transitions"] = list(transitions)
    return state


def _on(event: str, target: str, **extra: str) -> dict[str, str]:
    return {"event": event, "target": target, **extra}


def _chart(name: str, initial: str, states: list[dict[str, Any]]) -> Statechart:
    root = {"name": "root", "initial": initial, "states": states}
    return import_from_dict({"statechart": {"name": name, "root state": root}})


def _region(name: str, working: str, event: str, final: str) -> dict[str, Any]:
    states = [_state(working, _on(event, final)), _state(final, type="final")]
    return _state(name, initial=working, states=states)


def _toggle_chart() -> Statechart:
    return _chart(
        "toggle", "off", [_state("off", _on("TOGGLE", "on")), _state("on", _on("TOGGLE", "off"))]
    )


def _order_chart() -> Statechart:
    fulfilment = {
        "parallel states": [
            _region("inventory", "reserving", "RESERVED", "reserved"),
            _region("shipping", "preparing", "SHIPPED", "sent"),
        ]
    }
    receipt = "receipt = event.output['receipt']"
    return _chart(
        "order",
        "submitted",
        [
            _state(
                "submitted",
                {"target": "payment", "guard": "amount < 1000"},
                {"target": "pending_approval", "guard": "amount >= 1000"},
            ),
            _state("pending_approval", _on("APPROVE", "payment")),
            _state("payment", _on("PAYMENT_DONE", "fulfilment", action=receipt)),
            _state(
                "fulfilment",
                {"target": "shipped", "guard": "active('reserved') and active('sent')"},
                **fulfilment,
            ),
            _state("shipped", type="final"),
        ],
    )


def _deep_chart() -> Statechart:
    def chain(names: list[str], leaves: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        node = _state(names[-1], initial=leaves[0]["name"], states=leaves)
        for index in range(len(names) - 2, -1, -1):
            more = extra if index == 1 else {}
            node = _state(names[index], initial=node["name"], states=[node], **more)
        return node

    next_from_l2 = {"transitions": [_on("NEXT", "l5a")]}
    left = chain(
        ["left", "l2", "l3", "l4"],
        [_state("l5a", _on("CROSS", "r5")), _state("l5b")],
        **next_from_l2,
    )
    right = chain(["right", "r2", "r3", "r4"], [_state("r5", _on("BACK", "l5b"))])
    return _chart("deep", "left", [left, right])


def toggle() -> Bench:
    """Transitions/s of a two-state chart: queue TOGGLE, execute one step."""
    interpreter = Interpreter(_toggle_chart())
    interpreter.execute_once()
    event = charts.TOGGLE["type"]

    def loop(n: int) -> None:
        queue, execute_once = interpreter.queue, interpreter.execute_once
        for _ in range(n):
            queue(event)
            execute_once()

    loop(2)
    assert interpreter.configuration == ["root", "off"], interpreter.configuration
    return Bench(loop)


def order() -> Bench:
    """Orders/s, each a new interpreter run to its final state, alternating both paths."""
    statechart = _order_chart()
    outputs = tuple(done["output"] for done in charts.PAYMENT_DONE)

    def run(i: int) -> Interpreter:
        k = i & 1
        interpreter = Interpreter(
            statechart, initial_context={"amount": charts.AMOUNTS[k], "receipt": None}
        )
        queue, execute = interpreter.queue, interpreter.execute
        execute()
        if k:
            queue("APPROVE")
            execute()
        queue("PAYMENT_DONE", output=outputs[k])
        execute()
        queue("RESERVED")
        execute()
        queue("SHIPPED")
        execute()
        return interpreter

    for i in range(2):
        last = run(i)
        assert last.final and last.context["receipt"] == f"r-{charts.AMOUNTS[i]}", last.context

    def loop(n: int) -> None:
        for i in range(n):
            run(i)

    return Bench(loop, note="payment done is a plain event; onDone is an eventless active() guard")


def deep() -> Bench:
    """Transitions/s across a 5-level hierarchy: leaf to leaf and back, and via an ancestor."""
    interpreter = Interpreter(_deep_chart())
    interpreter.execute_once()
    cross, back, nxt = (event["type"] for event in charts.DEEP_CYCLE)

    def loop(n: int) -> None:
        queue, execute_once = interpreter.queue, interpreter.execute_once
        for _ in range(n):
            queue(cross)
            execute_once()
            queue(back)
            execute_once()
            queue(nxt)
            execute_once()

    loop(1)
    assert interpreter.configuration[-1] == "l5a", interpreter.configuration
    return Bench(loop, note="NEXT is an external transition (sismic has no other kind)")


def snapshot_round_trip() -> Bench:
    """Not measured: sismic cannot save and restore an interpreter's state."""
    raise Skip("no snapshot API: only the statechart definition has YAML I/O, not the run")


ROWS = (
    ("toggle", "sismic", toggle),
    ("order", "sismic", order),
    ("deep", "sismic", deep),
    ("snapshot", "sismic", snapshot_round_trip),
)
