"""A quiet transition (no timers, steps or messages written) commits through each backend's
short path: positional statements on SQLite, one statement on PostgreSQL, and, when the state
value stays the same, an update that checks the value instead of setting it (so the state
index's triggers do not start). Each writes exactly the rows the general path writes, and the
state index stays exact."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from statewright.engine import Engine
from statewright.engine.batch_sending import SendRequest
from statewright.engine.quiet_write import quiet_write
from statewright.engine.views import AuditEntry
from statewright.errors import VersionConflict
from statewright.store.protocol import Store
from statewright.store.records import AuditRecord, InstanceWrite, TransitionWrite
from statewright.store.sqlite.quiet import numbered
from statewright.testing import VirtualClock

ADD = {"actions": [{"type": "assign", "params": {"n": {"$expr": "context.n + 1"}}}]}
TALLY: dict[str, object] = {
    "id": "tally",
    "initial": "open",
    "context": {"n": 0},
    "states": {
        "open": {
            "on": {
                "ADD": ADD,
                "CLOSE": "closed",
                "WAIT": "waiting",
            }
        },
        "waiting": {
            "after": {"1h": "open"},
            "on": {
                "ADD": ADD,
                "GO": "open",
            },
        },
        "closed": {"on": {"REOPEN": "open"}},
    },
}  # fmt: skip

#: Sends that keep the value (ADD), move it (CLOSE, REOPEN, GO), schedule a timer (WAIT),
#: keep the value while a timer is pending (ADD in waiting) and cancel it (GO).
EVENTS = ["ADD", "ADD", "CLOSE", "REOPEN", "ADD", "WAIT", "ADD", "ADD", "GO", "ADD"]


@pytest.fixture
def engines(store_url: str) -> Iterator[tuple[Engine, Engine]]:
    """Two engines on one database and one virtual clock: the second never takes a short
    path (every commit goes the general way)."""
    clock = VirtualClock(1_800_000_000_000)
    with (
        Engine.open(store_url, clock=clock) as short,
        Engine.open(store_url, clock=clock) as general,
    ):
        short.register(TALLY)
        general.register(TALLY)
        general.store._commit_alone = lambda *_: False  # type: ignore[attr-defined]
        yield short, general


def _rows(store: Store, sql: str, params: dict[str, object]) -> list[dict[str, Any]]:
    with store._transaction(write=False, what="reading") as tx:  # type: ignore[attr-defined]
        return [dict(row) for row in tx.all(sql, params)]


def _instance(store: Store, instance_id: str) -> dict[str, Any]:
    (row,) = _rows(
        store,
        _sql(store, "SELECT * FROM instances WHERE id = :id"),
        {"id": instance_id},
    )
    del row["id"]
    return row


def _audit(store: Store, instance_id: str) -> list[dict[str, Any]]:
    rows = _rows(
        store,
        _sql(store, "SELECT * FROM audit WHERE instance_id = :id ORDER BY seq"),
        {"id": instance_id},
    )
    for row in rows:
        del row["instance_id"], row["stream_seq"]
    return rows


def _states(store: Store, instance_id: str) -> list[tuple[object, ...]]:
    rows = _rows(
        store,
        _sql(store, "SELECT state, definition_version FROM instance_states WHERE id = :id"),
        {"id": instance_id},
    )
    return sorted(tuple(row.values()) for row in rows)


def _counts(store: Store) -> dict[tuple[object, ...], int]:
    tables = ["state_counts"]
    if not store.url.startswith("sqlite"):
        tables.append("state_count_changes")
    counts: dict[tuple[object, ...], int] = {}
    for table in tables:
        for row in _rows(store, f"SELECT value, status, runtime_status, count FROM {table}", {}):
            key = (row["value"], row["status"], row["runtime_status"])
            counts[key] = counts.get(key, 0) + int(row["count"])
    return {key: count for key, count in counts.items() if count}


def _sql(store: Store, sql: str) -> str:
    return sql if store.url.startswith("sqlite") else sql.replace(":id", "%(id)s")


def _expected_counts(store: Store, ids: Sequence[str]) -> dict[tuple[object, ...], int]:
    counts: dict[tuple[object, ...], int] = {}
    for instance_id in ids:
        row = _instance(store, instance_id)
        key = (row["value"], row["status"], row["runtime_status"])
        counts[key] = counts.get(key, 0) + 1
    return counts


def test_short_paths_write_the_rows_the_general_path_writes(
    engines: tuple[Engine, Engine],
) -> None:
    short, general = engines
    short.start("tally", instance_id="a")
    general.start("tally", instance_id="b")
    store = short.store
    for event in EVENTS:
        short.send("a", event)
        general.send("b", event)
        assert _instance(store, "a") == _instance(store, "b"), event
        assert _states(store, "a") == _states(store, "b"), event

    assert _audit(store, "a") == _audit(store, "b")
    assert json.loads(_instance(store, "a")["snapshot"])["context"] == {"n": 6}
    assert _counts(store) == _expected_counts(store, ["a", "b"])
    assert short.verify("a").ok


#: Rounds of one event per instance, sent as one `send_many` each: values kept and moved in
#: the same group, then a group with a timer scheduled (not quiet: the general way).
ROUNDS = [
    ["ADD", "CLOSE", "ADD"],
    ["CLOSE", "REOPEN", "ADD"],
    ["REOPEN", "ADD", "WAIT"],
    ["ADD", "ADD", "ADD"],
]


def test_a_group_of_quiet_writes_commits_in_one_go_with_the_rows_the_general_path_writes(
    engines: tuple[Engine, Engine],
) -> None:
    short, general = engines
    store = short.store
    tried: list[tuple[int, bool]] = []
    alone = store._commit_alone  # type: ignore[attr-defined]

    def spied(writes: Sequence[TransitionWrite], *rest: object) -> bool:
        written: bool = alone(writes, *rest)
        tried.append((len(writes), written))
        return written

    store._commit_alone = spied  # type: ignore[attr-defined]
    for n in range(3):
        short.start("tally", instance_id=f"a{n}")
        general.start("tally", instance_id=f"b{n}")
    tried.clear()
    for events in ROUNDS:
        for engine, prefix in ((short, "a"), (general, "b")):
            requests = [SendRequest(f"{prefix}{n}", e) for n, e in enumerate(events)]
            outcomes = engine.send_many(requests)
            assert all(isinstance(outcome, AuditEntry) for outcome in outcomes), outcomes

    assert (3, True) in tried  # the quiet groups went the short way, whole
    streamed = _rows(store, "SELECT instance_id, stream_seq FROM audit ORDER BY stream_seq", {})
    assert [row["stream_seq"] for row in streamed] == list(range(1, len(streamed) + 1))
    last_round = [row["instance_id"] for row in streamed if row["instance_id"][0] == "a"][-3:]
    assert last_round == ["a0", "a1", "a2"]  # in the group's order
    for n in range(3):
        assert _instance(store, f"a{n}") == _instance(store, f"b{n}")
        assert _states(store, f"a{n}") == _states(store, f"b{n}")
        assert _audit(store, f"a{n}") == _audit(store, f"b{n}")
        assert short.verify(f"a{n}").ok
    assert _counts(store) == _expected_counts(store, [f"{p}{n}" for p in "ab" for n in range(3)])


def _quiet_write(store: Store, instance_id: str, expected_version: int) -> TransitionWrite:
    """A hand-made quiet write of `instance_id` (an ADD that keeps the value "open")."""
    row = _instance(store, instance_id)
    return TransitionWrite(
        tenant="default",
        instance_id=instance_id,
        definition_id="tally",
        definition_version=1,
        expected_version=expected_version,
        instance=InstanceWrite(snapshot=row["snapshot"], value='"open"', status="active"),
        audit=AuditRecord(
            tenant="default",
            instance_id=instance_id,
            seq=expected_version + 1,
            event='{"type":"ADD"}',
            actor=None,
            from_value='"open"',
            to_value='"open"',
            status="active",
            runtime_status="active",
            at=1_800_000_000_000,
            idempotency_key=None,
            microsteps="[]",
            effects="[]",
        ),
    )


def test_a_stale_write_in_a_quiet_group_fails_alone_and_the_others_commit(
    engines: tuple[Engine, Engine],
) -> None:
    short, _ = engines
    store = short.store
    for instance_id in ("a", "b", "c"):
        short.start("tally", instance_id=instance_id)
    before = _instance(store, "b")

    outcomes = store.commit_transitions(
        [_quiet_write(store, "a", 1), _quiet_write(store, "b", 4), _quiet_write(store, "c", 1)]
    )

    assert [type(outcome) for outcome in outcomes] == [type(None), VersionConflict, type(None)]
    assert (_instance(store, "a")["version"], _instance(store, "c")["version"]) == (2, 2)
    assert _instance(store, "b") == before
    assert [row["seq"] for row in _audit(store, "b")] == [1]
    assert [row["seq"] for row in _audit(store, "a")] == [1, 2]


def test_a_write_whose_value_is_not_the_stored_one_still_files_the_stored_value(
    engines: tuple[Engine, Engine],
) -> None:
    """A write that says it keeps the value ("open") of an instance now in "closed" at the
    same version: the short update, which checks the value, matches nothing; the general path
    writes the row, and the state index follows the value written."""
    short, _ = engines
    short.start("tally", instance_id="a")
    short.send("a", "CLOSE")
    write = _quiet_write(short.store, "a", 2)  # says it keeps "open"

    short.store.commit_transition(write)

    assert _instance(short.store, "a")["value"] == '"open"'
    assert _states(short.store, "a") == [("open", 1)]
    assert _counts(short.store) == _expected_counts(short.store, ["a"])


def test_numbered_parameters_follow_the_given_order() -> None:
    assert numbered("UPDATE t SET a = :b WHERE k = :a AND j = :b", ["a", "b"]) == (
        "UPDATE t SET a = ?2 WHERE k = ?1 AND j = ?2"
    )
    with pytest.raises(ValueError, match=r"parameter :c is not one of a, b"):
        numbered("SELECT :a, :b, :c", ["a", "b"])
    with pytest.raises(ValueError, match=r"does not use b"):
        numbered("SELECT :a", ["a", "b"])


#: Every shape the one-go quiet build (`engine/quiet_write.py`, `stored_texts.py`) writes,
#: and the ones it leaves to the general build: parallel regions, a history state (a
#: non-empty history value), guards, assigns from the event, an eventless transition and a
#: raised event (several microsteps), text that JSON escapes, a float (left to the general
#: build), a step (effects, then a running invocation: left to it) and a timer (effects).
FUSED: dict[str, object] = {
    "id": "fused",
    "type": "parallel",
    "context": {"n": 0, "note": "", "items": []},
    "states": {
        "flow": {
            "initial": "idle",
            "states": {
                "idle": {
                    "on": {
                        "GO": {"guard": {"$expr": "context.n < 3"}, "target": "busy"},
                        "JOB": "working",
                        "NAP": "napping",
                    }
                },
                "busy": {
                    "initial": "one",
                    "states": {"one": {"on": {"STEP": "two"}}, "two": {},
                               "hist": {"type": "history"}},
                    "on": {"AWAY": "#fused.flow.away"},
                    "always": {"guard": {"$expr": "context.n >= 5"}, "target": "idle"},
                },
                "away": {"on": {"BACK": "#fused.flow.busy.hist", "RING": {"actions": [
                    {"type": "raise", "params": {"event": {"type": "ADD"}}}]}}},
                "working": {"invoke": {"id": "job", "src": "job"}, "on": {"STOP": "idle"}},
                "napping": {"after": {"1h": "idle"}, "on": {"WAKE": "idle"}},
            },
        },
        "light": {"initial": "off", "states": {"off": {"on": {"FLIP": "on"}},
                                                "on": {"on": {"FLIP": "off"}}}},
    },
    "on": {
        "ADD": {"actions": [{"type": "assign", "params": {"n": {"$expr": "context.n + 1"}}}]},
        "NOTE": {"actions": [{"type": "assign", "params": {"note": {"$expr": "event.text"}}}]},
        "ITEMS": {"actions": [{"type": "assign", "params": {"items": {"$expr": "event.items"}}}]},
    },
}  # fmt: skip

FUSED_EVENTS: list[dict[str, object]] = [
    {"type": "ADD"},  # keeps the value
    {"type": "FLIP"},  # moves it
    {"type": "GO"},  # a guard lets it through: moves into a compound state
    {"type": "NOTE", "text": 'é "quoted" \\ back\nslash \u2028 \U0001f600 \x7f'},
    {"type": "STEP"},
    {"type": "AWAY"},  # records the history: the history value is no longer empty
    {"type": "RING"},  # a raised event: two microsteps
    {"type": "BACK"},  # back through the history state
    {"type": "ITEMS", "items": [1, {"a": [None, True, "x"]}, -(2**63)]},
    {"type": "ITEMS", "items": [{"price": 2.5}]},  # a float: the general build writes it
    {"type": "ITEMS", "items": [2**64]},  # past orjson's integers: the general build too
    {"type": "ITEMS", "items": []},
    {"type": "ADD"},
    {"type": "ADD"},
    {"type": "ADD"},  # n == 5: the eventless transition leaves busy
    {"type": "JOB"},  # starts a step: effects
    {"type": "ADD"},  # a running invocation: the general build
    {"type": "STOP"},  # stops it: effects
    {"type": "NAP"},  # schedules a timer: effects
    {"type": "ADD"},  # keeps the value with a timer pending
    {"type": "WAKE"},  # cancels it
    {"type": "FLIP"},
]


@pytest.fixture
def general_build(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A context in which the engine builds every write the general way: `to_json()`,
    the data walked and encoded, microsteps encoded from their data each time."""
    from contextlib import contextmanager

    from statewright.chart.macrostep import Microstep
    from statewright.engine import deciding, writes
    from statewright.engine.payload import dump_plain

    def encoded(steps: Sequence[Any]) -> bytes:
        data = [Microstep(event, transitions).to_json() for event, transitions in steps]
        return dump_plain(data, "microsteps").encode()

    @contextmanager
    def general() -> Iterator[None]:
        with monkeypatch.context() as patch:
            patch.setattr(deciding, "quiet_write", lambda *args: None)
            patch.setattr(writes, "snapshot_texts", lambda snapshot: None)
            patch.setattr(writes, "microsteps_text", encoded)
            yield

    yield general


def test_the_one_go_build_writes_the_rows_and_entries_the_general_build_writes(
    engines: tuple[Engine, Engine], general_build: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from statewright.engine import deciding

    built: list[object] = []  # the events the one-go build wrote

    def spied(*args: Any) -> Any:
        result = quiet_write(*args)
        if result is not None:
            built.append(args[3]["type"])
        return result

    monkeypatch.setattr(deciding, "quiet_write", spied)
    short, general = engines
    short.register(FUSED)
    general.register(FUSED)
    short.start("fused", instance_id="a")
    with general_build():
        general.start("fused", instance_id="b")
    store = short.store
    for event in FUSED_EVENTS:
        sent = short.send("a", dict(event))
        with general_build():
            expected = general.send("b", dict(event))
        assert {**vars_of(sent), "instance_id": "b"} == vars_of(expected), event
        assert _instance(store, "a") == _instance(store, "b"), event
        assert _states(store, "a") == _states(store, "b"), event

    assert _audit(store, "a") == _audit(store, "b")
    context = json.loads(_instance(store, "a")["snapshot"])["context"]
    assert context["n"] == 7 and context["note"] == FUSED_EVENTS[3]["text"]
    assert short.get("a").snapshot.value == general.get("b").snapshot.value
    # The quiet sends; not the float, the send while the step runs, nor those with effects:
    assert built == ["ADD", "FLIP", "GO", "NOTE", "STEP", "AWAY", "RING", "BACK", "ITEMS",
                     "ITEMS", "ADD", "ADD", "ADD", "ADD", "FLIP"]  # fmt: skip
    assert short.verify("a").ok and general.verify("b").ok


def test_a_cached_head_built_in_one_go_runs_as_a_reload_would(
    engines: tuple[Engine, Engine],
) -> None:
    """The next send runs on the parsed snapshot the one-go build kept: it decides exactly
    what an engine that reloads every head decides, and the caller's objects (the event,
    the entry) changed afterwards change nothing stored."""
    short, _ = engines
    short.register(FUSED)
    with Engine.open(short.store.url, clock=short.clock, head_cache=0) as reloading:
        reloading.register(FUSED)
        short.start("fused", instance_id="a")
        reloading.start("fused", instance_id="b")
        for event in FUSED_EVENTS[:9]:
            mine = dict(event)
            sent = short.send("a", mine)
            reloading.send("b", dict(event))
            if "items" in mine:  # the caller keeps the list it sent, and the entry's copy
                mine["items"].append("changed")  # type: ignore[attr-defined]
                sent.event["items"].append("changed")  # type: ignore[index]
                sent.microsteps.append("changed")
        short.send("a", "ADD")
        reloading.send("b", "ADD")
        assert _instance(short.store, "a")["snapshot"] == _instance(short.store, "b")["snapshot"]
        assert _audit(short.store, "a") == _audit(short.store, "b")


def vars_of(entry: object) -> dict[str, object]:
    return {name: getattr(entry, name) for name in entry.__slots__}  # type: ignore[attr-defined]


def test_a_group_with_a_write_whose_kept_value_is_not_the_stored_one_commits_whole(
    engines: tuple[Engine, Engine],
) -> None:
    """In a group, the write that says it keeps a value the instance no longer has makes the
    group's short statement write nothing; the general path then writes every write, and the
    state index follows the values written."""
    short, _ = engines
    for instance_id in ("a", "b"):
        short.start("tally", instance_id=instance_id)
    short.send("b", "CLOSE")
    store = short.store

    outcomes = store.commit_transitions([_quiet_write(store, "a", 1), _quiet_write(store, "b", 2)])

    assert outcomes == [None, None]
    assert [_instance(store, i)["value"] for i in ("a", "b")] == ['"open"', '"open"']
    assert _states(store, "b") == [("open", 1)]
    assert [row["seq"] for row in _audit(store, "b")] == [1, 2, 3]
    assert _counts(store) == _expected_counts(store, ["a", "b"])


def test_before_commit_runs_once_before_the_writes_can_be_seen(
    engines: tuple[Engine, Engine], store_url: str
) -> None:
    """`commit_transitions`' `before_commit` is called exactly once, while another
    connection still reads the old rows, on the short path, on the general path (a stale
    write sends the group there), and the group is committed as usual."""
    short, _ = engines
    store = short.store
    for instance_id in ("a", "b", "c"):
        short.start("tally", instance_id=instance_id)
    with Engine.open(store_url) as reader:
        seen: list[list[int]] = []

        def look() -> None:
            seen.append([reader.store.load_instance("default", i).version for i in "abc"])  # type: ignore[union-attr]

        quiet = [_quiet_write(store, "a", 1), _quiet_write(store, "b", 1)]
        assert store.commit_transitions(quiet, before_commit=look) == [None, None]
        assert seen == [[1, 1, 1]]

        mixed = [_quiet_write(store, "a", 2), _quiet_write(store, "c", 7)]  # c is stale
        outcomes = store.commit_transitions(mixed, before_commit=look)
        assert outcomes[0] is None and isinstance(outcomes[1], VersionConflict)
        assert seen == [[1, 1, 1], [2, 2, 1]]
        assert [reader.store.load_instance("default", i).version for i in "abc"] == [3, 2, 1]  # type: ignore[union-attr]
