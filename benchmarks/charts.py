"""The benchmark's machines as XState v5 configs, and the events each scenario sends.

statewright and xstate-statemachine load these dicts as they are;
`benchmarks/xstate/bench.mjs` spells the same machines in JavaScript, and the other peers
mirror them in their own dialects (see their modules). Configs are built by functions so
that no caller can mutate another's copy.
"""

from __future__ import annotations

from typing import Any

Config = dict[str, Any]

#: The orders the order scenario alternates: the first is auto-approved by the eventless
#: guard (amount < 1000), the second waits for APPROVE.
AMOUNTS = (500, 5000)

TOGGLE = {"type": "TOGGLE"}
APPROVE = {"type": "APPROVE"}
RESERVED = {"type": "RESERVED"}
SHIPPED = {"type": "SHIPPED"}
#: The invoked payment step's done event, one per amount, as the runtime would deliver it.
PAYMENT_DONE = tuple(
    {"type": "xstate.done.actor.payment", "output": {"receipt": f"r-{amount}"}}
    for amount in AMOUNTS
)
#: One cycle of the deep scenario: leaf to leaf across the root and back, then an event
#: handled by a depth-2 ancestor that re-enters the starting leaf.
DEEP_CYCLE = ({"type": "CROSS"}, {"type": "BACK"}, {"type": "NEXT"})


def toggle() -> Config:
    """Two states; TOGGLE flips them."""
    return {
        "id": "toggle",
        "initial": "off",
        "states": {"off": {"on": {"TOGGLE": "on"}}, "on": {"on": {"TOGGLE": "off"}}},
    }


def counter() -> Config:
    """The toggle with a context counter that an assign increments on every flip."""
    flip = {"actions": "flip"}
    return {
        "id": "counter",
        "initial": "off",
        "context": {"flips": 0},
        "states": {
            "off": {"on": {"TOGGLE": {"target": "on", **flip}}},
            "on": {"on": {"TOGGLE": {"target": "off", **flip}}},
        },
    }


def order(*, expressions: bool = False) -> Config:
    """The order workflow; guard and assign by name, or as JSON expressions.

    Args:
        expressions: write the guard as `{"$expr": ...}` and the receipt assign as the
            built-in `assign` action with an expression, so the definition needs no Python.
    """
    if expressions:
        guard: Any = {"$expr": "context.amount < 1000"}
        store: Any = {
            "type": "assign",
            "params": {"receipt": {"$expr": "event.output.receipt"}},
        }
    else:
        guard, store = "isSmall", "storeReceipt"
    return {
        "id": "order",
        "initial": "submitted",
        "context": {"amount": {"$expr": "input.amount"}, "receipt": None},
        "states": {
            "submitted": {
                "always": [{"guard": guard, "target": "payment"}, {"target": "pending_approval"}]
            },
            "pending_approval": {"on": {"APPROVE": "payment"}},
            "payment": {
                "invoke": {
                    "id": "payment",
                    "src": "charge",
                    "input": {"amount": {"$expr": "context.amount"}},
                    "onDone": {"target": "fulfilment", "actions": store},
                }
            },
            "fulfilment": {
                "type": "parallel",
                "states": {
                    "inventory": _region("reserving", "RESERVED", "reserved"),
                    "shipping": _region("preparing", "SHIPPED", "shipped"),
                },
                "onDone": "shipped",
            },
            "shipped": {"type": "final"},
        },
    }


def _region(working: str, event: str, final: str) -> Config:
    return {
        "initial": working,
        "states": {working: {"on": {event: final}}, final: {"type": "final"}},
    }


def deep() -> Config:
    """Two 5-level branches; CROSS and BACK jump leaf to leaf, NEXT is handled by `l2`.

    Leaves sit at depth 5 (root > left > l2 > l3 > l4 > l5a). From l5a, CROSS goes to r5
    (exits 4 levels, enters 4); BACK returns to l5b; NEXT, which no leaf handles, bubbles
    up to `l2` and targets l5a, exiting and re-entering l3, l4.
    """
    left_leaves = {"l5a": {"id": "l5a", "on": {"CROSS": "#r5"}}, "l5b": {"id": "l5b"}}
    right_leaf = {"r5": {"id": "r5", "on": {"BACK": "#l5b"}}}
    return {
        "id": "deep",
        "initial": "left",
        "states": {
            "left": _chain(["l2", "l3", "l4"], left_leaves, on_top={"NEXT": "#l5a"}),
            "right": _chain(["r2", "r3", "r4"], right_leaf),
        },
    }


def _chain(names: list[str], leaves: Config, on_top: Config | None = None) -> Config:
    """A compound state holding `names` nested one inside the other, `leaves` at the bottom."""
    node: Config = {"initial": next(iter(leaves)), "states": leaves}
    for name in reversed(names):
        node = {"initial": name, "states": {name: node}}
    if on_top:
        node["states"][names[0]]["on"] = on_top
    return node
