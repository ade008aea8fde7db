"""`Engine.send_many` (`engine/batch_sending.py`): many sends decided in one go and committed
in one transaction, each request answered with its own outcome, as `send` would answer it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from statewright.engine import Engine
from statewright.engine.batch_sending import SendRequest
from statewright.engine.views import AuditEntry
from statewright.errors import (
    EventError,
    EventNotAccepted,
    NotFound,
    NotPermitted,
    PayloadInvalid,
    StoreUnavailable,
    VersionConflict,
)

GATE = {
    "id": "gate",
    "initial": "open",
    "context": {"n": 0, "paid": 0},
    "statewright": {
        "events": {
            "PAY": {
                "type": "object",
                "properties": {"amount": {"type": "integer", "minimum": 1}},
                "required": ["amount"],
            }
        }
    },
    "states": {
        "open": {
            "on": {
                "INC": {
                    "actions": [{"type": "assign", "params": {"n": {"$expr": "context.n + 1"}}}]
                },
                "PAY": {
                    "actions": [{"type": "assign", "params": {"paid": {"$expr": "event.amount"}}}]
                },
                "LOCK": {"target": "locked", "statewright": {"roles": ["keeper"]}},
            }
        },
        "locked": {"on": {"UNLOCK": "open"}},
    },
}
INC = {"type": "INC"}


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    with Engine.open(store_url) as opened:
        opened.register(GATE)
        yield opened


def started(engine: Engine, *ids: str) -> None:
    for instance_id in ids:
        engine.start("gate", instance_id=instance_id)


class CountedCommits:
    """Records the size of every commit the store makes (1 for `commit_transition`)."""

    def __init__(self, engine: Engine) -> None:
        self.sizes: list[int] = []
        store = engine.store
        one, many = store.commit_transition, store.commit_transitions

        def commit_one(write: Any) -> None:
            self.sizes.append(1)
            one(write)

        def commit_many(writes: Any) -> Any:
            self.sizes.append(len(writes))
            return many(writes)

        store.commit_transition = commit_one  # type: ignore[method-assign]
        store.commit_transitions = commit_many  # type: ignore[method-assign]


def test_each_request_gets_its_own_outcome_and_the_sends_commit_together(engine: Engine) -> None:
    started(engine, "a", "b", "c", "d", "e", "f", "g", "h")
    commits = CountedCommits(engine)
    outcomes = engine.send_many(
        [
            SendRequest("a", INC, actor="ann"),
            SendRequest("b", {"type": "UNLOCK"}),  # not accepted in `open`
            SendRequest("c", {"type": "LOCK"}, roles=["operator"]),  # a role it lacks
            SendRequest("nope", INC),
            SendRequest("d", {"type": "PAY", "amount": 0}),  # fails the event's schema
            SendRequest("e", {"type": "xstate.init"}),
            SendRequest("f", INC, expected_version=7),  # stale
            SendRequest("g", {"type": "PAY", "amount": 5}),
            SendRequest("h", {"type": "LOCK"}, roles=["keeper"]),
        ]
    )
    kinds = [type(outcome) for outcome in outcomes]
    assert kinds == [
        AuditEntry,
        EventNotAccepted,
        NotPermitted,
        NotFound,
        PayloadInvalid,
        EventError,
        VersionConflict,
        AuditEntry,
        AuditEntry,
    ]
    assert commits.sizes == [3]  # a, g and h: one transaction
    first = outcomes[0]
    assert isinstance(first, AuditEntry)
    assert (first.instance_id, first.seq, first.actor, first.to_value) == ("a", 2, "ann", "open")
    assert "amount" in str(outcomes[4])  # the schema's error names the field
    assert engine.get("a").context["n"] == 1
    assert (engine.get("g").version, engine.get("g").context["paid"]) == (2, 5)
    assert (engine.get("h").version, engine.get("h").value) == (2, "locked")
    for refused in "bcdef":  # nothing written for a refusal
        assert engine.get(refused).version == 1
    for instance_id in "abcdefgh":
        assert engine.verify(instance_id).ok


def test_requests_for_one_instance_are_decided_in_order_one_per_transaction(
    engine: Engine,
) -> None:
    started(engine, "a", "b")
    commits = CountedCommits(engine)
    outcomes = engine.send_many(
        [
            SendRequest("a", INC),
            SendRequest("a", {"type": "LOCK"}, roles=["keeper"]),
            SendRequest("b", INC),
            SendRequest("a", INC),  # locked by then: not accepted
            SendRequest("a", {"type": "UNLOCK"}),
        ]
    )
    assert [getattr(outcome, "seq", type(outcome)) for outcome in outcomes] == [
        2,
        3,
        2,
        EventNotAccepted,
        4,
    ]
    assert commits.sizes == [2, 1, 1]  # a and b, then a, then a again
    assert (engine.get("a").value, engine.get("a").context["n"]) == ("open", 1)


def test_without_group_commit_each_write_commits_alone(store_url: str) -> None:
    with Engine.open(store_url, group_commit=False) as engine:
        engine.register(GATE)
        started(engine, "a", "b", "c")
        commits = CountedCommits(engine)
        outcomes = engine.send_many([SendRequest(name, INC) for name in "abc"])
        assert [getattr(outcome, "seq", None) for outcome in outcomes] == [2, 2, 2]
        assert commits.sizes == [1, 1, 1]


def test_the_same_sends_leave_the_same_rows_as_sequential_sends(engine: Engine) -> None:
    events = [INC, {"type": "PAY", "amount": 3}, INC, {"type": "LOCK"}, {"type": "UNLOCK"}]
    started(engine, "x1", "x2", "y1", "y2")
    batch = engine.send_many(
        [SendRequest(f"x{n}", event, roles=["keeper"]) for event in events for n in (1, 2)]
    )
    sequential = [engine.send(f"y{n}", event, roles=["keeper"]) for event in events for n in (1, 2)]
    for got, expected in zip(batch, sequential, strict=True):
        assert isinstance(got, AuditEntry)
        assert (got.seq, got.event, got.from_value, got.to_value, got.status) == (
            expected.seq,
            expected.event,
            expected.from_value,
            expected.to_value,
            expected.status,
        )
    for n in (1, 2):
        x, y = engine.get(f"x{n}"), engine.get(f"y{n}")
        assert (x.version, x.value, x.context, x.runtime_status) == (
            y.version,
            y.value,
            y.context,
            y.runtime_status,
        )
        shown = [(e.seq, e.event, e.to_value) for e in engine.history(f"x{n}")]
        assert shown == [(e.seq, e.event, e.to_value) for e in engine.history(f"y{n}")]
        assert engine.verify(f"x{n}").ok


def test_a_write_that_lost_a_race_goes_the_ordinary_way_alone(store_url: str) -> None:
    """Another engine (another process) moved `a` behind this engine's cached head: `a` is
    decided again on the stored instance and committed; `b` beside it is not disturbed. With
    `expected_version`, the stale version is the answer."""
    with Engine.open(store_url) as engine, Engine.open(store_url) as other:
        engine.register(GATE)
        started(engine, "a", "b", "c")
        other.send("a", INC)
        other.send("c", INC)
        outcomes = engine.send_many(
            [
                SendRequest("a", INC),
                SendRequest("b", INC),
                SendRequest("c", INC, expected_version=1),
            ]
        )
        assert [getattr(outcome, "seq", type(outcome)) for outcome in outcomes] == [
            3,
            2,
            VersionConflict,
        ]
        assert engine.get("a").context["n"] == 2
        assert engine.get("c").version == 2
        assert engine.send_many([SendRequest("c", INC, expected_version=2)])[0].seq == 3  # type: ignore[union-attr]


def test_a_request_with_an_idempotency_key_is_answered_once(engine: Engine) -> None:
    started(engine, "a", "b")
    requests = [SendRequest("a", INC, idempotency_key="k1"), SendRequest("b", INC)]
    first = engine.send_many(requests)
    again = engine.send_many(requests[:1])
    assert [getattr(outcome, "seq", None) for outcome in first] == [2, 2]
    assert getattr(again[0], "seq", None) == 2  # replayed, not sent twice
    assert engine.get("a").version == 2


def test_a_database_error_fails_every_request_of_the_transaction(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'busy.db'}?busy_timeout=50"
    with Engine.open(url) as engine:
        engine.register(GATE)
        started(engine, "a", "b")
        blocker = sqlite3.connect(tmp_path / "busy.db", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            outcomes = engine.send_many([SendRequest("a", INC), SendRequest("b", INC)])
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert [type(outcome) for outcome in outcomes] == [StoreUnavailable, StoreUnavailable]
        assert [engine.get(name).version for name in "ab"] == [1, 1]
        after = engine.send_many([SendRequest("a", INC), SendRequest("b", INC)])
        assert [getattr(outcome, "seq", None) for outcome in after] == [2, 2]
