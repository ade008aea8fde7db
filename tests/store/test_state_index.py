"""The state index and the counts per state (migration 0010), kept by triggers on `instances`,
agree with the instances after every kind of write, on both backends: starts, sends that move
a nested or parallel state, a runtime status that changes with a timer, a cancel, a deleted
instance, concurrent sends; and a store migrated with instances in it files them."""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import Any

import pytest

from statewright import Machine
from statewright.engine import Engine
from statewright.store import open_store
from statewright.store.protocol import Store
from statewright.store.records import StateMatch, WorkerRecord

FLOW = {
    "id": "flow",
    "initial": "draft",
    "states": {
        "draft": {"on": {"SUBMIT": "review", "WAIT": "paused"}},
        "paused": {"after": {"48h": "draft"}, "on": {"GO": "draft"}},
        "review": {
            "tags": ["busy"],
            "initial": "legal",
            "states": {
                "legal": {"on": {"OK": "finance"}},
                "finance": {"tags": ["money"], "on": {"OK": "#flow.ship"}},
            },
            "on": {"BACK": "draft"},
        },
        "ship": {
            "type": "parallel",
            "states": {
                "pack": {"initial": "open", "states": {"open": {"on": {"PACKED": "done"}},
                                                      "done": {"type": "final"}}},
                "label": {"initial": "printing", "states": {"printing": {}}},
            },
        },
    },
}  # fmt: skip


def _paths(value: object) -> set[str]:
    """The states a value is in: every key path, and every leaf under its parent's."""
    if isinstance(value, str):
        return {value}
    found: set[str] = set()
    assert isinstance(value, dict)
    for key, inner in value.items():
        found.add(key)
        if inner not in ({}, None):
            found.update(f"{key}.{path}" for path in _paths(inner))
    return found


def _rows(store: Store, sql: str) -> list[dict[str, Any]]:
    with store._transaction(write=False, what="reading") as tx:  # type: ignore[attr-defined]
        return [dict(row) for row in tx.all(sql, {})]


def _check(url: str) -> None:
    """The kept index and counts are exactly what the instances give."""
    store = open_store(url)
    try:
        instances = _rows(
            store,
            "SELECT tenant, id, definition_id, definition_version, value, status,"
            " runtime_status FROM instances",
        )
        counts: Counter[tuple[object, ...]] = Counter()
        states = set()
        for row in instances:
            key = ("tenant", "definition_id", "definition_version", "value", "status",
                   "runtime_status")  # fmt: skip
            counts[tuple(row[k] for k in key)] += 1
            for path in _paths(json.loads(row["value"])):
                states.add((row["tenant"], row["definition_id"], path, row["id"],
                            row["definition_version"]))  # fmt: skip
        kept: Counter[tuple[object, ...]] = Counter()
        tables = ["state_counts"]
        if not url.startswith("sqlite"):
            tables.append("state_count_changes")
        for table in tables:
            for row in _rows(
                store,
                "SELECT tenant, definition_id, definition_version, value, status,"
                f" runtime_status, count FROM {table}",
            ):
                count = int(row.pop("count"))
                kept[tuple(row.values())] += count
        assert +kept == counts
        found = _rows(
            store,
            "SELECT tenant, definition_id, state, id, definition_version FROM instance_states",
        )
        assert {tuple(row.values()) for row in found} == states
        assert len(found) == len(states)
    finally:
        store.close()


def _brute(engine: Engine, **filters: str) -> list[str]:
    """The ids the filters give, by reading every instance."""
    every = []
    cursor = None
    while True:
        page = engine.list(tenant="acme", cursor=cursor, limit=1000)
        every.extend(page)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    machine = Machine.from_config(FLOW)
    tagged = {".".join(n.state_path) for n in machine.states if filters.get("tag") in n.tags}
    wanted = {filters["state"]} if "state" in filters else tagged
    return sorted(i.id for i in every if _paths(i.value) & wanted)


def _paged(engine: Engine, **filters: str) -> list[str]:
    """The ids the filters give, two per page."""
    seen: list[str] = []
    cursor = None
    while True:
        page = engine.list(tenant="acme", cursor=cursor, limit=2, **filters)
        seen.extend(i.id for i in page)
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


@pytest.mark.slow
def test_index_and_counts_follow_every_write(store_url: str) -> None:
    with Engine.open(store_url) as engine:
        engine.register(FLOW)
        for number in range(9):
            engine.start("flow", instance_id=f"f-{number}", tenant="acme")
        engine.start("flow", instance_id="f-0", tenant="other")
        _check(store_url)
        moves = {1: ["SUBMIT"], 2: ["SUBMIT", "OK"], 3: ["SUBMIT", "OK", "OK"],
                 4: ["SUBMIT", "OK", "OK", "PACKED"], 5: ["WAIT"], 6: ["SUBMIT", "BACK"],
                 7: ["WAIT", "GO", "SUBMIT"]}  # fmt: skip
        for number, events in moves.items():
            for event in events:
                engine.send(f"f-{number}", event, tenant="acme")
            _check(store_url)
        engine.cancel("f-8", tenant="acme")
        _check(store_url)
        for filters in ({"state": "review"}, {"state": "review.finance"}, {"state": "draft"},
                        {"state": "ship.pack.done"}, {"state": "ship.label"},
                        {"tag": "busy"}, {"tag": "money"}):  # fmt: skip
            assert _paged(engine, **filters) == _brute(engine, **filters), filters
            assert _paged(engine, definition_id="flow", **filters) == _brute(engine, **filters)
        assert [i.id for i in engine.list(tenant="acme", state="paused",
                                          runtime_status="waiting")] == ["f-5"]  # fmt: skip
        assert [i.id for i in engine.list(tenant="acme", state="draft",
                                          status="stopped")] == ["f-8"]  # fmt: skip
        counts = {(c.state, c.count) for c in engine.count_by_state(tenant="acme")}
        assert counts == {("draft", 3), ("paused", 1), ("review.legal", 2),
                          ("review.finance", 1), ("(ship.pack.open, ship.label.printing)", 1),
                          ("(ship.pack.done, ship.label.printing)", 1)}  # fmt: skip
        waiting = engine.count_by_state(tenant="acme", runtime_status="waiting")
        assert [(c.state, c.count) for c in waiting] == [("paused", 1)]
        busy = engine.count_by_state(tenant="acme", tag="busy")
        assert {(c.state, c.count) for c in busy} == {("review.legal", 2), ("review.finance", 1)}
        _check(store_url)  # PostgreSQL: after the counts folded the changes in
    store = open_store(store_url)
    try:
        with store._transaction(write=True, what="deleting") as tx:  # type: ignore[attr-defined]
            tx.run("DELETE FROM instances WHERE id = 'f-2'", {})
    finally:
        store.close()
    _check(store_url)


@pytest.mark.slow
def test_concurrent_sends_moving_instances_both_ways_keep_the_counts(store_url: str) -> None:
    with Engine.open(store_url) as engine:
        engine.register(FLOW)
        for number in range(8):
            engine.start("flow", instance_id=f"c-{number}", tenant="acme")
        for number in range(0, 8, 2):
            engine.send(f"c-{number}", "SUBMIT", tenant="acme")
        failures: list[BaseException] = []

        def flip(first: int) -> None:
            try:
                for _ in range(6):
                    for number in range(first, 8, 2):
                        state = engine.get(f"c-{number}", tenant="acme").value
                        event = "SUBMIT" if state == "draft" else "BACK"
                        engine.send(f"c-{number}", event, tenant="acme")
            except BaseException as error:
                failures.append(error)

        threads = [threading.Thread(target=flip, args=(n,)) for n in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        counts = {(c.state, c.count) for c in engine.count_by_state(tenant="acme")}
        assert counts == {("draft", 4), ("review.legal", 4)}
    _check(store_url)


def test_migration_0010_files_the_instances_a_store_holds(
    empty_store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(empty_store_url)
    try:
        every = type(store).migrations
        monkeypatch.setattr(type(store), "migrations", every[:9])
        assert store.migrate() == list(range(1, 10))
        machine = Machine.from_config(FLOW)
        style = ":{}" if empty_store_url.startswith("sqlite") else "%({})s"
        t, i, value, status = (style.format(n) for n in ("tenant", "id", "value", "status"))
        with store._transaction(write=True, what="writing schema 9 rows") as tx:  # type: ignore[attr-defined]
            tx.run(
                "INSERT INTO definitions (id, version, hash, config, created_at)"
                f" VALUES ('flow', 1, 'h', {style.format('config')}, 1)",
                {"config": json.dumps(machine.config)},
            )
            for tenant, instance_id, state, done in [
                ("acme", "a", "draft", "active"), ("acme", "b", {"review": "legal"}, "active"),
                ("acme", "c", {"ship": {"pack": "done", "label": "printing"}}, "active"),
                ("other", "a", "draft", "stopped"),
            ]:  # fmt: skip
                tx.run(
                    "INSERT INTO instances (tenant, id, definition_id, definition_version,"
                    " version, snapshot, value, status, runtime_status, created_at,"
                    f" updated_at) VALUES ({t}, {i}, 'flow', 1, 1, '{{}}', {value}, {status},"
                    f" {status}, 1, 1)",
                    {
                        "tenant": tenant,
                        "id": instance_id,
                        "value": json.dumps(state),
                        "status": done,
                    },
                )
        monkeypatch.setattr(type(store), "migrations", every)
        assert store.migrate() == list(range(10, len(every) + 1))
    finally:
        store.close()
    _check(empty_store_url)
    store = open_store(empty_store_url)
    try:
        pack = [StateMatch(path=("ship", "pack"))]
        assert [r.id for r in store.find_instances("acme", states=pack)] == ["c"]
        busy = [StateMatch(path=("review",), definition_id="flow", definition_version=1)]
        assert [r.id for r in store.find_instances("acme", states=busy)] == ["b"]
        counts = store.count_by_state("other")
        assert [(c.definition_id, c.value, c.count) for c in counts] == [("flow", '"draft"', 1)]
        with store._transaction(write=True, what="moving") as tx:  # type: ignore[attr-defined]
            tx.run("UPDATE instances SET value = '{\"review\":\"finance\"}' WHERE id = 'a'", {})
        assert [r.id for r in store.find_instances("acme", states=busy)] == ["a", "b"]
    finally:
        store.close()
    _check(empty_store_url)


def test_a_worker_heartbeat_folds_the_count_changes(store_url: str) -> None:
    with Engine.open(store_url) as engine:
        engine.register(FLOW)
        for number in range(3):
            engine.start("flow", instance_id=f"h-{number}", tenant="acme")
        engine.send("h-1", "SUBMIT", tenant="acme")
    store = open_store(store_url)
    try:
        worker = WorkerRecord(id="w", host="h", pid=1, steps="[]", listeners="[]",
                              started_at=1, heartbeat_at=1)  # fmt: skip
        store.register_worker(worker)
        if not store_url.startswith("sqlite"):
            assert _rows(store, "SELECT count(*) AS n FROM state_count_changes") == [{"n": 0}]
    finally:
        store.close()
    _check(store_url)
