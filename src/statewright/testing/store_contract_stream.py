"""The store contract's part for the live stream: audit rows by their stream cursor, one
increasing number over every tenant's rows in commit order, read per tenant, instance or
definition up to a marker. Checks as in `store_contract`; `STREAM_CONTRACT` lists them.
"""

from __future__ import annotations

import contextlib

from statewright.errors import InstanceExists
from statewright.store.protocol import Store
from statewright.testing.store_contract import Check, save_definition, start, step

__all__ = ["STREAM_CONTRACT"]


def _settled(store: Store) -> int:
    """The marker's number once it is settled (nothing else writes during the checks)."""
    marker = store.stream_marker()
    assert marker.pending is None or store.stream_settled(marker.pending)
    return marker.seq


def check_stream_rows_follow_commit_order_per_tenant(store: Store) -> None:
    """Every audit row gets a larger cursor than the rows committed before it, across
    instances and tenants; a tenant's read gives its rows only, in cursor order, between
    `after` and `through`, at most `limit`."""
    save_definition(store)
    save_definition(store, "invoice")
    assert _settled(store) == 0
    store.commit_transition(start("a"))
    store.commit_transition(start("x", tenant="other"))
    store.commit_transition(start("b", definition_id="invoice"))
    store.commit_transition(step("a", 2, value='"approved"'))
    end = _settled(store)
    rows = store.stream_rows("acme", after=0, through=end)
    assert [(r.instance_id, r.seq) for r in rows] == [("a", 1), ("b", 1), ("a", 2)]
    cursors = [r.stream_seq for r in rows]
    assert cursors == sorted(set(cursors)) and cursors[-1] == end
    assert rows[2].to_value == '"approved"' and rows[2].from_value == '"before"'
    assert rows[1].definition_id == "invoice" and rows[0].event == '{"type": "xstate.init"}'
    assert rows[2].actor == "ann" and rows[2].status == "active" and rows[2].at > 0
    (other,) = store.stream_rows("other", after=0, through=end)
    assert other.instance_id == "x" and rows[0].stream_seq < other.stream_seq < rows[1].stream_seq
    after_first = store.stream_rows("acme", after=cursors[0], through=cursors[1])
    assert [r.stream_seq for r in after_first] == [cursors[1]]
    assert [r.stream_seq for r in store.stream_rows("acme", after=0, through=end, limit=1)] == [
        cursors[0]
    ]
    assert store.stream_rows("acme", after=end, through=end) == []


def check_stream_rows_of_one_instance_or_one_definition(store: Store) -> None:
    """The reads filtered by instance or by definition give only those rows; another
    tenant's instance of the same id is not read."""
    save_definition(store)
    save_definition(store, "invoice")
    store.commit_transition(start("a"))
    store.commit_transition(start("a", tenant="other"))
    store.commit_transition(start("b", definition_id="invoice"))
    store.commit_transition(step("a", 2))
    store.commit_transition(step("b", 2, definition_id="invoice"))
    end = _settled(store)
    one = store.stream_rows("acme", after=0, through=end, instance_id="a")
    assert [(r.tenant, r.instance_id, r.seq) for r in one] == [("acme", "a", 1), ("acme", "a", 2)]
    invoices = store.stream_rows("acme", after=0, through=end, definition_id="invoice")
    assert [(r.instance_id, r.seq) for r in invoices] == [("b", 1), ("b", 2)]
    assert store.stream_rows("acme", after=0, through=end, instance_id="zz") == []


def check_the_stream_marker_grows_with_each_commit(store: Store) -> None:
    """The marker is the last cursor drawn; it grows with commits, refused ones aside."""
    save_definition(store)
    before = _settled(store)
    store.commit_transition(start("a"))
    first = _settled(store)
    assert first > before
    with contextlib.suppress(InstanceExists):
        store.commit_transition(start("a"))  # refused: the id is taken
    store.commit_transition(step("a", 2))
    last = _settled(store)
    assert last > first
    (row,) = store.stream_rows("acme", after=first, through=last)
    assert row.seq == 2 and row.stream_seq == last


STREAM_CONTRACT: tuple[Check, ...] = (
    check_stream_rows_follow_commit_order_per_tenant,
    check_stream_rows_of_one_instance_or_one_definition,
    check_the_stream_marker_grows_with_each_commit,
)
