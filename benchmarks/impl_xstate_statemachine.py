"""xstate-statemachine (import name `xstate_statemachine`): XState JSON on a SyncInterpreter.

It loads the same configs as statewright. Its interpreter is an actor (it mutates its own
state and runs invoked services itself), so the payment step is a synchronous service
that returns the receipt, and the library delivers its done event.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from xstate_statemachine import (
    Event,
    MachineLogic,
    PureSnapshot,
    SyncInterpreter,
    assign,
    create_machine,
    initial_transition,
    pure_transition,
)

from benchmarks import charts
from benchmarks._harness import Bench


def _events(*events: dict[str, Any]) -> list[Event]:
    """Prebuilt `Event` objects: the cheapest shape its `send` accepts."""
    return [Event(e["type"]) for e in events]


def toggle() -> Bench:
    """Transitions/s of a two-state machine flipped by TOGGLE on a started interpreter."""
    interpreter = SyncInterpreter(create_machine(charts.toggle())).start()
    (event,) = _events(charts.TOGGLE)

    def loop(n: int) -> None:
        send = interpreter.send
        for _ in range(n):
            send(event)

    loop(2)
    assert interpreter.value == "off", interpreter.value
    return Bench(loop)


def _order_machine() -> Any:
    config = copy.deepcopy(charts.order())
    config["context"] = lambda args: {"amount": args["input"]["amount"], "receipt": None}
    del config["states"]["payment"]["invoke"]["input"]

    def store_receipt(interpreter: Any, context: Any, event: Any, action: Any) -> None:
        context["receipt"] = event.data["receipt"]

    def charge(interpreter: Any, context: Any, event: Any) -> dict[str, str]:
        return {"receipt": f"r-{context['amount']}"}

    logic: Any = MachineLogic(
        actions={"storeReceipt": store_receipt},
        guards={"isSmall": lambda context, event: context["amount"] < 1000},
        services={"charge": charge},
    )
    return create_machine(config, logic=logic)


def order() -> Bench:
    """Orders/s, each a new interpreter run to its final state, alternating both paths."""
    machine = _order_machine()
    inputs = tuple({"amount": amount} for amount in charts.AMOUNTS)
    approve, reserved, shipped = _events(charts.APPROVE, charts.RESERVED, charts.SHIPPED)

    def run(i: int) -> SyncInterpreter[Any]:
        k = i & 1
        interpreter = SyncInterpreter(machine, input=inputs[k]).start()
        if k:
            interpreter.send(approve)
        interpreter.send(reserved)
        interpreter.send(shipped)
        return interpreter

    for i in range(2):
        last = run(i)
        assert last.status == "done", (last.value, last.status)
        assert last.context["receipt"] == f"r-{charts.AMOUNTS[i]}", last.context

    def loop(n: int) -> None:
        for i in range(n):
            run(i)

    return Bench(loop, note="invoke runs a sync service that returns the receipt")


def deep() -> Bench:
    """Transitions/s across a 5-level hierarchy: leaf to leaf and back, and via an ancestor."""
    interpreter = SyncInterpreter(create_machine(charts.deep())).start()
    cross, back, nxt = _events(*charts.DEEP_CYCLE)

    def loop(n: int) -> None:
        send = interpreter.send
        for _ in range(n):
            send(cross)
            send(back)
            send(nxt)

    loop(1)
    assert interpreter.value == {"left": {"l2": {"l3": {"l4": "l5a"}}}}, interpreter.value
    return Bench(loop)


def _flip_machine() -> Any:
    def flip(interpreter: Any, context: Any, event: Any, action: Any) -> None:
        context["flips"] += 1

    return create_machine(charts.counter(), logic=MachineLogic(actions={"flip": flip}))


def snapshot_round_trip() -> Bench:
    """Transitions/s when each event restores the interpreter from `get_snapshot()` text:
    the library's documented persistence path (indented JSON carrying a machine hash that
    `from_snapshot` checks)."""
    machine = _flip_machine()
    text = SyncInterpreter(machine).start().get_snapshot()
    (event,) = _events(charts.TOGGLE)

    def loop(n: int) -> None:
        nonlocal text
        for _ in range(n):
            interpreter: Any = SyncInterpreter.from_snapshot(text, machine).start()
            interpreter.send(event)
            text = interpreter.get_snapshot()

    loop(3)
    assert json.loads(text)["context"]["flips"] == 3, text
    return Bench(loop, note="from_snapshot() + start() + send() + get_snapshot(): indented, hashed")


def snapshot_plain_json() -> Bench:
    """The same round trip on the interpreter with compact JSON of
    `get_persisted_snapshot()` and no machine-hash check on restore."""
    machine = _flip_machine()
    text = json.dumps(SyncInterpreter(machine).start().get_persisted_snapshot())
    (event,) = _events(charts.TOGGLE)
    restore = SyncInterpreter.from_snapshot

    def loop(n: int) -> None:
        nonlocal text
        dumps = json.dumps
        for _ in range(n):
            interpreter: Any = restore(text, machine, verify_machine_hash=False).start()
            interpreter.send(event)
            text = dumps(interpreter.get_persisted_snapshot())

    loop(3)
    assert json.loads(text)["context"]["flips"] == 3, text
    return Bench(loop, note="get_persisted_snapshot() as compact JSON, no hash check")


def _count_flip(args: dict[str, Any]) -> dict[str, int]:
    return {"flips": args["context"]["flips"] + 1}


def snapshot_pure() -> Bench:
    """Its fastest path: the pure `transition(machine, snapshot, event)` (no interpreter to
    start), the `PureSnapshot` written as compact JSON of its fields and rebuilt from them
    (a rebuilt snapshot resolves its states by id, as one read from storage must)."""
    config = copy.deepcopy(charts.counter())
    for state in config["states"].values():
        state["on"]["TOGGLE"]["actions"] = [assign(_count_flip)]
    machine = create_machine(config)
    (event,) = _events(charts.TOGGLE)

    def dump(snapshot: PureSnapshot) -> str:
        return json.dumps(
            {
                "state_ids": list(snapshot.state_ids),
                "configuration": list(snapshot.configuration),
                "context": snapshot.context,
                "status": snapshot.status,
            }
        )

    text = dump(initial_transition(machine)[0])

    def loop(n: int) -> None:
        nonlocal text
        loads = json.loads
        for _ in range(n):
            data = loads(text)
            snapshot = PureSnapshot(
                set(data["state_ids"]), set(data["configuration"]), data["context"], data["status"]
            )
            text = dump(pure_transition(machine, snapshot, event)[0])

    loop(3)
    assert json.loads(text)["context"]["flips"] == 3, text
    assert json.loads(text)["state_ids"] == ["counter.on"], text
    return Bench(loop, note="pure transition(); PureSnapshot fields as compact JSON")


ROWS = (
    ("toggle", "xstate-statemachine", toggle),
    ("order", "xstate-statemachine", order),
    ("deep", "xstate-statemachine", deep),
    ("snapshot", "xstate-statemachine (get_snapshot)", snapshot_round_trip),
    ("snapshot", "xstate-statemachine (plain JSON)", snapshot_plain_json),
    ("snapshot", "xstate-statemachine (pure transition)", snapshot_pure),
)
