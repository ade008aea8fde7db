"""The outbox claim's event-type filter agrees with the listener patterns it stands for: for
each pattern, the store claims exactly the messages `matches_descriptor` would deliver."""

from __future__ import annotations

import json

from statewright.chart.events import matches_descriptor
from statewright.store import Store
from statewright.store.records import OutboxWrite
from statewright.testing.store_contract import T0, save_definition, start

TYPES = [
    "order", "order.", "order.shipped", "order.shipped.late", "orders", "order_shipped",
    "Order.shipped", "ORDER", "a.b", "a.*", "a.*.*", "*", "%", "_", "pa%d", "ünï.✓", "ünï",
]  # fmt: skip
PATTERNS = [
    "order", "order.*", "order.shipped.*", "orders", "Order.*", "order_*", "order%", "a.*",
    "a.*.*", "*.*", ".*", "%", "_", "pa_d", "ünï.*", "nothing", "nothing.*",
]  # fmt: skip


def test_the_claim_takes_what_each_pattern_matches(store: Store) -> None:
    save_definition(store)
    messages = tuple(
        OutboxWrite(message_id=f"m-{index}", event=json.dumps({"type": event_type}))
        for index, event_type in enumerate(TYPES)
    )
    store.commit_transition(start(outbox=messages))

    for pattern in PATTERNS:
        # A lease of 0 leaves every message due again for the next pattern's claim.
        claimed = store.due_outbox(T0 + 2000, 100, lease_ms=0, types=[pattern])
        expected = [event_type for event_type in TYPES if matches_descriptor(pattern, event_type)]
        assert sorted(json.loads(m.event)["type"] for m in claimed) == sorted(expected), pattern
