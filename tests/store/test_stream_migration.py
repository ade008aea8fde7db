"""Migration 0008 numbers the audit rows a database already holds, in the order they were
written, and the rows committed after it continue the numbers."""

from __future__ import annotations

import pytest

from statewright.store import open_store
from statewright.testing.store_contract import save_definition, step

_ROWS = [("acme", "a", 1), ("other", "x", 1), ("acme", "a", 2), ("acme", "b", 1)]


def test_migration_0008_numbers_existing_audit_rows_in_written_order(
    empty_store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(empty_store_url)
    try:
        every = type(store).migrations
        monkeypatch.setattr(type(store), "migrations", every[:7])
        assert store.migrate() == list(range(1, 8))
        save_definition(store)
        style = ":{}" if empty_store_url.startswith("sqlite") else "%({})s"
        t, i, v, value, at = (style.format(n) for n in ("tenant", "id", "version", "value", "at"))
        with store._transaction(write=True, what="writing schema 7 rows") as tx:  # type: ignore[attr-defined]
            for tenant, instance_id, version in _ROWS:
                params = {"tenant": tenant, "id": instance_id, "version": version,
                          "value": '"v"', "at": version}  # fmt: skip
                if version == 1:
                    tx.run(
                        "INSERT INTO instances (tenant, id, definition_id, definition_version,"
                        " version, snapshot, value, status, runtime_status, created_at,"
                        f" updated_at) VALUES ({t}, {i}, 'order', 1, 1, '{{}}', {value},"
                        f" 'active', 'active', {at}, {at})",
                        params,
                    )
                tx.run(
                    "INSERT INTO audit (tenant, instance_id, seq, event, to_value, status,"
                    f" runtime_status, at, microsteps, effects) VALUES ({t}, {i}, {v},"
                    f" '{{\"type\": \"E\"}}', {value}, 'active', 'active', {at}, '[]', '[]')",
                    params,
                )
        monkeypatch.setattr(type(store), "migrations", every[:8])
        assert store.migrate() == [8]
        monkeypatch.setattr(type(store), "migrations", every)
        store.migrate()  # the later ones, over these rows
        marker = store.stream_marker()
        assert marker.seq == 4 and (marker.pending is None or store.stream_settled(marker.pending))
        acme = store.stream_rows("acme", after=0, through=4)
        assert [(r.instance_id, r.seq, r.stream_seq) for r in acme] == [
            ("a", 1, 1), ("a", 2, 3), ("b", 1, 4),
        ]  # fmt: skip
        store.commit_transition(step("b", 2))
        (after,) = store.stream_rows("acme", after=4, through=store.stream_marker().seq)
        assert (after.instance_id, after.seq, after.stream_seq) == ("b", 2, 5)
    finally:
        store.close()
