"""`Engine.start_many` (`engine/batch_starting.py`): many starts decided in one go and
committed in one transaction, each request answered with its own outcome, as `start` would
answer it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from statewright import Machine
from statewright.engine import Engine, Instance, StartRequest
from statewright.errors import (
    InstanceExists,
    NotFound,
    PayloadError,
    PayloadInvalid,
    StoreUnavailable,
    TransitionFailed,
)
from statewright.store import sql_store

ORDER = {
    "id": "order",
    "initial": "new",
    "context": {"amount": 0},
    "statewright": {
        "input": {
            "type": "object",
            "properties": {"amount": {"type": "integer", "minimum": 1}},
            "required": ["amount"],
        }
    },
    "states": {
        "new": {
            "entry": [{"type": "assign", "params": {"amount": {"$expr": "event.input.amount"}}}],
            "after": {"1h": "late"},
            "on": {"PAY": "paid"},
        },
        "paid": {"type": "final"},
        "late": {},
    },
}


def failing_entry() -> Machine:
    """A machine whose initial state's entry action raises."""

    def explode(context: object, event: object) -> None:
        raise RuntimeError("boom")

    return Machine.from_config(
        {"id": "broken", "initial": "a", "states": {"a": {"entry": ["explode"]}}},
        actions={"explode": explode},
    )


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    with Engine.open(store_url) as opened:
        opened.register(ORDER)
        opened.register(failing_entry())
        yield opened


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


def test_each_request_gets_its_own_outcome_and_the_starts_commit_together(
    engine: Engine,
) -> None:
    engine.start("order", instance_id="taken", input={"amount": 1})
    commits = CountedCommits(engine)
    outcomes = engine.start_many(
        [
            StartRequest("order", input={"amount": 5}, instance_id="a", actor="ann"),
            StartRequest("order", input={"amount": 1}, instance_id="taken"),
            StartRequest("nope", instance_id="b"),
            StartRequest("order", input={"amount": 0}, instance_id="c"),  # fails the schema
            StartRequest("broken", instance_id="d"),  # its entry action raises
            StartRequest("order", input={"amount": 1}, instance_id="bad id/"),
            StartRequest("order", input={"amount": 1}, instance_id="e", version=9),
            StartRequest("order", input={"amount": 7}),  # a generated id
            StartRequest("order", input={"amount": 2}, instance_id="f", tenant="acme"),
        ]
    )
    kinds = [type(outcome) for outcome in outcomes]
    assert kinds == [
        Instance,
        InstanceExists,
        NotFound,
        PayloadInvalid,
        TransitionFailed,
        PayloadError,
        NotFound,
        Instance,
        Instance,
    ]
    assert commits.sizes == [4]  # a, taken, the generated one and f: one transaction
    assert "taken" in str(outcomes[1]) and "amount" in str(outcomes[3])
    assert "version 9" in str(outcomes[6]) or "no version 9" in str(outcomes[6])
    a, generated, f = outcomes[0], outcomes[7], outcomes[8]
    assert isinstance(a, Instance) and isinstance(generated, Instance)
    assert isinstance(f, Instance)
    assert (a.id, a.version, a.value, a.context, a.runtime_status) == (
        "a",
        1,
        "new",
        {"amount": 5},
        "waiting",
    )
    assert engine.get("a").context == {"amount": 5} and engine.get("a").version == 1
    assert engine.history("a")[0].actor == "ann"
    assert engine.get(generated.id).context == {"amount": 7}
    assert engine.get("f", tenant="acme").context == {"amount": 2}
    assert engine.get("taken").version == 1
    for missing in ("b", "c", "d", "e"):
        with pytest.raises(NotFound):
            engine.get(missing)
    for instance_id in ("a", generated.id):
        assert engine.verify(instance_id).ok
    assert len(engine.timers("a")) == 1  # the effects of the start are written


def test_two_starts_of_one_id_the_second_finds_it_taken_as_if_sequential(
    engine: Engine,
) -> None:
    commits = CountedCommits(engine)
    outcomes = engine.start_many(
        [
            StartRequest("order", input={"amount": 1}, instance_id="x"),
            StartRequest("order", input={"amount": 2}, instance_id="y"),
            StartRequest("order", input={"amount": 3}, instance_id="x"),
        ]
    )
    assert [type(outcome) for outcome in outcomes] == [Instance, Instance, InstanceExists]
    assert commits.sizes == [2, 1]  # x and y, then the second x
    assert engine.get("x").context == {"amount": 1}


def test_a_failed_first_start_of_an_id_leaves_it_to_the_second(engine: Engine) -> None:
    outcomes = engine.start_many(
        [
            StartRequest("order", input={"amount": 0}, instance_id="x"),  # fails the schema
            StartRequest("order", input={"amount": 3}, instance_id="x"),
        ]
    )
    assert [type(outcome) for outcome in outcomes] == [PayloadInvalid, Instance]
    assert engine.get("x").context == {"amount": 3}


def test_the_same_starts_leave_the_same_rows_as_sequential_starts(engine: Engine) -> None:
    inputs = [{"amount": n} for n in (1, 2, 3)]
    batch = engine.start_many(
        [StartRequest("order", input=i, instance_id=f"x{n}") for n, i in enumerate(inputs)]
    )
    sequential = [engine.start("order", input=i, instance_id=f"y{n}") for n, i in enumerate(inputs)]
    for got, expected in zip(batch, sequential, strict=True):
        assert isinstance(got, Instance)
        assert (got.version, got.value, got.context, got.runtime_status) == (
            expected.version,
            expected.value,
            expected.context,
            expected.runtime_status,
        )
        x, y = engine.get(got.id), engine.get(expected.id)
        assert (x.version, x.value, x.context, x.runtime_status, x.definition_version) == (
            y.version,
            y.value,
            y.context,
            y.runtime_status,
            y.definition_version,
        )
        shown = [(e.seq, e.event, e.to_value) for e in engine.history(got.id)]
        assert shown == [(e.seq, e.event, e.to_value) for e in engine.history(expected.id)]
        assert len(engine.timers(got.id)) == len(engine.timers(expected.id)) == 1


def test_a_start_on_a_replaced_version_is_made_again_on_the_newer(store_url: str) -> None:
    """Another engine (another process) registered a newer version after this engine last
    saw the definition: that start is made again on the newer version; its neighbour in the
    batch, pinned to version 1, is not disturbed."""
    with Engine.open(store_url) as engine, Engine.open(store_url) as other:
        engine.register(ORDER)
        engine.start("order", instance_id="seen", input={"amount": 1})  # version 1 cached
        other.register({**ORDER, "context": {"amount": 0, "extra": True}})
        outcomes = engine.start_many(
            [
                StartRequest("order", input={"amount": 1}, instance_id="a"),
                StartRequest("order", input={"amount": 1}, instance_id="b", version=1),
            ]
        )
        a, b = outcomes
        assert isinstance(a, Instance) and isinstance(b, Instance)
        assert (a.definition_version, b.definition_version) == (2, 1)
        assert engine.get("a").definition_version == 2


def test_without_group_commit_each_start_commits_alone(store_url: str) -> None:
    with Engine.open(store_url, group_commit=False) as engine:
        engine.register(ORDER)
        commits = CountedCommits(engine)
        outcomes = engine.start_many(
            [StartRequest("order", input={"amount": 1}, instance_id=i) for i in "abc"]
        )
        assert [type(outcome) for outcome in outcomes] == [Instance] * 3
        assert commits.sizes == [1, 1, 1]


def test_a_database_error_fails_every_start_of_the_transaction(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'busy.db'}?busy_timeout=50"
    with Engine.open(url) as engine:
        engine.register(ORDER)
        requests = [StartRequest("order", input={"amount": 1}, instance_id=i) for i in "ab"]
        blocker = sqlite3.connect(tmp_path / "busy.db", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            outcomes = engine.start_many(requests)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert [type(outcome) for outcome in outcomes] == [StoreUnavailable, StoreUnavailable]
        for name in "ab":
            with pytest.raises(NotFound):
                engine.get(name)
        after = engine.start_many(requests)
        assert [type(outcome) for outcome in after] == [Instance, Instance]


def test_a_batch_of_starts_is_written_query_by_query_for_all(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Starts pinned to the latest definition are written as one batch (`commit_batch.py`:
    each statement once for all, the newer-definition check once per version), not start
    by start."""
    one_by_one: list[str] = []
    write_transition = sql_store.write_transition

    def counted(tx: Any, queries: Any, write: Any, reserve: Any) -> None:
        one_by_one.append(write.instance_id)
        write_transition(tx, queries, write, reserve)

    monkeypatch.setattr(sql_store, "write_transition", counted)
    outcomes = engine.start_many(
        [StartRequest("order", input={"amount": n}, instance_id=f"s{n}") for n in (1, 2, 3)]
    )
    assert [type(outcome) for outcome in outcomes] == [Instance] * 3
    assert one_by_one == []
    assert [engine.get(f"s{n}").context["amount"] for n in (1, 2, 3)] == [1, 2, 3]
    taken = engine.start_many(  # a taken id: the batch is written one by one, naming it
        [StartRequest("order", input={"amount": 1}, instance_id=i) for i in ("s1", "s4")]
    )
    assert [type(outcome) for outcome in taken] == [InstanceExists, Instance]
