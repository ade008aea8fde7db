"""Shared definitions for the engine tests."""

from __future__ import annotations

from statewright import Machine

START_MS = 1_700_000_000_000

ORDER = {
    "id": "order",
    "initial": "pending",
    "context": {"amount": {"$expr": "input.amount"}, "approvedBy": None},
    "states": {
        "pending": {
            "after": {"48h": "escalated"},
            "on": {
                "APPROVE": {
                    "target": "paying",
                    "guard": {"$expr": "event.by != 'mallory'"},
                    "actions": [
                        {"type": "assign", "params": {"approvedBy": {"$expr": "event.by"}}}
                    ],
                },
                "REJECT": "rejected",
                "NOTE": {
                    "actions": [{"type": "assign", "params": {"note": {"$expr": "event.text"}}}]
                },
            },
        },
        "escalated": {"on": {"APPROVE": "paying", "REJECT": "rejected"}},
        "paying": {
            "invoke": {
                "id": "charge",
                "src": "chargeCard",
                "input": {"amount": {"$expr": "context.amount"}},
                "statewright": {"retry": {"attempts": 3}},
                "onDone": "shipped",
                "onError": "failed",
            }
        },
        "failed": {"on": {"RETRY": "paying"}},
        "shipped": {
            "type": "final",
            "entry": [{"type": "emit", "params": {"event": {"type": "order.shipped"}}}],
        },
        "rejected": {"type": "final"},
    },
}


def order_machine() -> Machine:
    return Machine.from_config(ORDER, actors={"chargeCard": lambda input: {"ok": True}})
