"""What a durable send cannot be cheaper than: the database's own raw transition, its single-row
INSERT, the chart's pure transition, and the two in one loop (the chart decides, the raw
transition writes what it decided), each a loop `durable_throughput` times beside the engine.

The raw transition writes what a send of the counter writes, the cheapest way the database
offers: a versioned UPDATE of an instance row (the columns, keys and indexes of the store's
`instances` table, the counter's snapshot JSON text, only the unindexed columns set, as the
store's quiet update does) and an INSERT of its audit row (the columns, keys and indexes of
`audit`, the counter's event, microsteps and effects texts), in one transaction. The tables
are the benchmark's own (`raw_instances`, `raw_audit`): no triggers, no foreign key to a
definitions table; the audit row's foreign key to its instance only where the store has one
(SQLite). The texts are built before the loop: their encoding is the chart's part.

"chart then raw" runs both for each write, as any send must: the chart's transition of the
instance's snapshot (kept parsed, as the engine's head cache keeps it) and its JSON text,
then the raw transition writing that text. It is not the sum of the two loops timed apart:
on a disk whose flush is quicker when it follows the last one closely (measured by
`flush_gap.py`), the CPU spent between two commits makes each flush slower.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from statewright import Machine, Snapshot
from statewright.store.sqlite.connection import connect
from statewright.store.url import SqliteOptions

Loop = Callable[[int], None]
#: The snapshot text the instance at this index (of `INSTANCES`) moves to next.
Decide = Callable[[int], str]

#: Instances the raw transitions go to in turn (the engine's run uses as many).
INSTANCES = 1000
#: The counter of tests/acceptance/workload.py: one assign per event, no timers, no steps.
COUNTER: dict[str, object] = {
    "id": "counter",
    "initial": "counting",
    "context": {"n": 0},
    "states": {
        "counting": {
            "on": {
                "INC": {
                    "actions": [{"type": "assign", "params": {"n": {"$expr": "context.n + 1"}}}]
                }
            }
        }
    },
}
INC: dict[str, object] = {"type": "INC"}
TENANT = "default"
EVENT = '{"type":"INC"}'
VALUE = '"counting"'
MICROSTEPS = (
    '[{"event":"INC","transitions":[{"source":"counter.counting","targets":null,'
    '"path":"states.counting.on.INC"}]}]'
)
AT = 1_796_457_103_763


def snapshot_text(n: int) -> str:
    """The counter's stored snapshot text at count `n` (as the engine writes it)."""
    return (
        '{"machine":"counter","status":"active","value":"counting",'
        '"configuration":["counter","counter.counting"],"context":{"n":' + str(n) + "},"
        '"historyValue":{},"children":{}}'
    )


#: Snapshot texts the raw transitions write in turn: the sizes a counter's rows have.
TEXTS = tuple(snapshot_text(n) for n in range(1000, 2000))
#: The name of the baseline that decides with the chart, then writes raw, in one loop.
FLOOR = "chart then raw"


@dataclass(frozen=True, slots=True)
class Baseline:
    """A named loop of one database: what it does, one line."""

    name: str
    loop: Loop
    note: str


class _Versions:
    """The instances' ids and current versions, round-robin."""

    def __init__(self, prefix: str) -> None:
        self.ids = [f"{prefix}-{index:04d}" for index in range(INSTANCES)]
        self.versions = [1] * INSTANCES
        self.turn = 0


# -- SQLite --------------------------------------------------------------------------------

SQLITE_TABLES = """
CREATE TABLE IF NOT EXISTS raw_instances (
    tenant TEXT NOT NULL, id TEXT NOT NULL, definition_id TEXT NOT NULL,
    definition_version INTEGER NOT NULL, version INTEGER NOT NULL, snapshot TEXT NOT NULL,
    value TEXT NOT NULL, status TEXT NOT NULL, runtime_status TEXT NOT NULL,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (tenant, id));
CREATE INDEX IF NOT EXISTS raw_by_runtime_status ON raw_instances (tenant, runtime_status, id);
CREATE INDEX IF NOT EXISTS raw_by_definition ON raw_instances (tenant, definition_id, id);
CREATE INDEX IF NOT EXISTS raw_by_status ON raw_instances (tenant, status, id);
CREATE TABLE IF NOT EXISTS raw_audit (
    tenant TEXT NOT NULL, instance_id TEXT NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL,
    actor TEXT, from_value TEXT, to_value TEXT NOT NULL, status TEXT NOT NULL,
    runtime_status TEXT NOT NULL, at INTEGER NOT NULL, idempotency_key TEXT,
    microsteps TEXT NOT NULL, effects TEXT NOT NULL, stream_seq INTEGER,
    PRIMARY KEY (tenant, instance_id, seq),
    FOREIGN KEY (tenant, instance_id) REFERENCES raw_instances (tenant, id));
CREATE UNIQUE INDEX IF NOT EXISTS raw_audit_by_stream_seq ON raw_audit (stream_seq);
CREATE INDEX IF NOT EXISTS raw_audit_stream ON raw_audit (tenant, stream_seq);
CREATE TABLE IF NOT EXISTS ceiling (id INTEGER PRIMARY KEY, payload TEXT NOT NULL);
"""
SQLITE_UPDATE = (
    "UPDATE raw_instances SET version = ?, snapshot = ?, value = ?, updated_at = ? "
    "WHERE tenant = ? AND id = ? AND version = ?"
)
# The stream number drawn as the store draws it: the largest plus one, under the write lock.
SQLITE_AUDIT = (
    "INSERT INTO raw_audit (tenant, instance_id, seq, event, actor, from_value, to_value, "
    "status, runtime_status, at, idempotency_key, microsteps, effects, stream_seq) "
    "VALUES (?, ?, ?, ?, NULL, ?, ?, 'active', 'active', ?, NULL, ?, '[]', "
    "(SELECT coalesce(max(stream_seq), 0) + 1 FROM raw_audit))"
)


def sqlite_connection(path: str, synchronous: str) -> sqlite3.Connection:
    """A connection set up as the store sets up its own: WAL, the same `synchronous`, busy
    timeout, foreign keys, autocommit (transactions explicit)."""
    options = SqliteOptions(path=path, synchronous="FULL" if synchronous == "FULL" else "NORMAL")
    connection = connect(options, url=f"sqlite:///{path}")
    connection.row_factory = None
    connection.executescript(SQLITE_TABLES)
    return connection


def sqlite_raw_transition(
    connection: sqlite3.Connection, prefix: str, decide: Decide | None = None
) -> Loop:
    """Raw transitions on `connection` (set up by `sqlite_connection`), round-robin over
    instances of their own (ids starting with `prefix`), inserted here; each writes the
    snapshot text `decide` gives for its instance (with none, one of `TEXTS`)."""
    rows = _Versions(prefix)
    connection.execute("BEGIN IMMEDIATE")
    for instance_id in rows.ids:
        connection.execute(
            "INSERT INTO raw_instances VALUES (?, ?, 'counter', 1, 1, ?, ?, 'active', "
            "'active', ?, ?)",
            (TENANT, instance_id, TEXTS[0], VALUE, AT, AT),
        )
    connection.execute("COMMIT")

    def transition(n: int) -> None:
        execute = connection.execute
        ids, versions, texts = rows.ids, rows.versions, TEXTS
        for _ in range(n):
            index = rows.turn % INSTANCES
            rows.turn += 1
            version = versions[index]
            instance_id = ids[index]
            text = texts[version % 1000] if decide is None else decide(index)
            execute("BEGIN IMMEDIATE")
            updated = execute(
                SQLITE_UPDATE, (version + 1, text, VALUE, AT, TENANT, instance_id, version)
            )
            if updated.rowcount != 1:
                execute("ROLLBACK")
                raise RuntimeError(f"raw transition of {instance_id} matched no row")
            execute(
                SQLITE_AUDIT,
                (TENANT, instance_id, version + 1, EVENT, VALUE, VALUE, AT, MICROSTEPS),
            )
            execute("COMMIT")
            versions[index] = version + 1

    return transition


def sqlite_baselines(path: str, synchronous: str) -> list[Baseline]:
    """The raw transition and the single-row INSERT on one SQLite file of their own.

    Statements go through `sqlite3`'s statement cache, so each is prepared once.
    """
    connection = sqlite_connection(path, synchronous)
    transition = sqlite_raw_transition(connection, "raw")
    decided = sqlite_raw_transition(connection, "decided", ChartDecisions(COUNTER, INC))

    payload = "x" * 64

    def insert(n: int) -> None:
        execute = connection.execute
        for _ in range(n):
            execute("BEGIN IMMEDIATE")
            execute("INSERT INTO ceiling (payload) VALUES (?)", (payload,))
            execute("COMMIT")

    return [
        Baseline(
            "raw", transition, "BEGIN IMMEDIATE; UPDATE ... WHERE version = ?; INSERT; COMMIT"
        ),
        Baseline(FLOOR, decided, "the chart's transition and its JSON text, then raw"),
        Baseline("insert", insert, "BEGIN IMMEDIATE; INSERT; COMMIT"),
    ]


# -- PostgreSQL ----------------------------------------------------------------------------

POSTGRES_TABLES = """
CREATE TABLE IF NOT EXISTS raw_instances (
    tenant TEXT COLLATE "C" NOT NULL, id TEXT COLLATE "C" NOT NULL,
    definition_id TEXT COLLATE "C" NOT NULL, definition_version INTEGER NOT NULL,
    version INTEGER NOT NULL, snapshot JSON NOT NULL, value TEXT NOT NULL,
    status TEXT NOT NULL, runtime_status TEXT NOT NULL, created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL, PRIMARY KEY (tenant, id));
CREATE INDEX IF NOT EXISTS raw_by_runtime_status ON raw_instances (tenant, runtime_status, id);
CREATE INDEX IF NOT EXISTS raw_by_definition ON raw_instances (tenant, definition_id, id);
CREATE INDEX IF NOT EXISTS raw_by_status ON raw_instances (tenant, status, id);
CREATE TABLE IF NOT EXISTS raw_audit (
    tenant TEXT COLLATE "C" NOT NULL, instance_id TEXT COLLATE "C" NOT NULL,
    seq INTEGER NOT NULL, event JSON NOT NULL, actor TEXT, from_value TEXT,
    to_value TEXT NOT NULL, status TEXT NOT NULL, runtime_status TEXT NOT NULL,
    at BIGINT NOT NULL, idempotency_key TEXT, microsteps JSON NOT NULL, effects JSON NOT NULL,
    stream_seq BIGINT GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (tenant, instance_id, seq));
CREATE INDEX IF NOT EXISTS raw_audit_stream ON raw_audit (tenant, stream_seq);
CREATE TABLE IF NOT EXISTS ceiling (id bigserial PRIMARY KEY, payload text NOT NULL);
"""
POSTGRES_UPDATE = (
    "UPDATE raw_instances SET version = %(next)s, snapshot = %(snapshot)s, value = %(value)s, "
    "updated_at = %(at)s WHERE tenant = %(tenant)s AND id = %(id)s AND version = %(version)s"
)
POSTGRES_AUDIT_COLUMNS = (
    "INSERT INTO raw_audit (tenant, instance_id, seq, event, actor, from_value, to_value, "
    "status, runtime_status, at, idempotency_key, microsteps, effects) "
)
POSTGRES_AUDIT = (
    POSTGRES_AUDIT_COLUMNS + "VALUES (%(tenant)s, %(id)s, %(next)s, %(event)s, NULL, "
    "%(value)s, %(value)s, 'active', 'active', %(at)s, NULL, %(microsteps)s, '[]')"
)
POSTGRES_ONE_STATEMENT = (
    "WITH updated AS ("
    + POSTGRES_UPDATE
    + " RETURNING tenant, id) "
    + POSTGRES_AUDIT_COLUMNS
    + "SELECT tenant, id, %(next)s, %(event)s, NULL, %(value)s, %(value)s, 'active', "
    "'active', %(at)s, NULL, %(microsteps)s, '[]' FROM updated"
)


def _postgres_rows(connection: psycopg.Connection[tuple[object, ...]], prefix: str) -> _Versions:
    rows = _Versions(prefix)
    with connection.transaction():
        connection.cursor().executemany(
            "INSERT INTO raw_instances VALUES (%s, %s, 'counter', 1, 1, %s, %s, 'active', "
            "'active', %s, %s)",
            [(TENANT, instance_id, TEXTS[0], VALUE, AT, AT) for instance_id in rows.ids],
        )
    return rows


def _postgres_transition(
    connection: psycopg.Connection[tuple[object, ...]],
    rows: _Versions,
    commit: Callable[[dict[str, object]], int],
    decide: Decide | None = None,
) -> Loop:
    """A loop of raw transitions; `commit` writes one and returns the rows it matched. Each
    writes the snapshot text `decide` gives for its instance (with none, one of `TEXTS`)."""

    def loop(n: int) -> None:
        ids, versions, texts = rows.ids, rows.versions, TEXTS
        for _ in range(n):
            index = rows.turn % INSTANCES
            rows.turn += 1
            version = versions[index]
            params: dict[str, object] = {
                "tenant": TENANT,
                "id": ids[index],
                "version": version,
                "next": version + 1,
                "snapshot": texts[version % 1000] if decide is None else decide(index),
                "value": VALUE,
                "at": AT,
                "event": EVENT,
                "microsteps": MICROSTEPS,
            }
            if commit(params) != 1:
                raise RuntimeError(f"raw transition of {ids[index]} matched no row")
            versions[index] = version + 1

    return loop


def postgres_tables(url: str) -> None:
    """Create the raw tables (`POSTGRES_TABLES`) in the database at `url`, if missing."""
    with psycopg.connect(url, autocommit=True) as setup:
        setup.execute(POSTGRES_TABLES)


def postgres_raw_transition(url: str, prefix: str, decide: Decide | None = None) -> Loop:
    """Raw transitions the fastest way (one statement), on a connection of their own to `url`
    (where `POSTGRES_TABLES` exist), round-robin over instances of their own (ids starting
    with `prefix`), inserted here; each writes the snapshot text `decide` gives (with none,
    one of `TEXTS`)."""
    connection = psycopg.connect(url, autocommit=True)
    cursor = connection.cursor()

    def one_statement(params: dict[str, object]) -> int:
        cursor.execute(POSTGRES_ONE_STATEMENT, params, prepare=True)
        return cursor.rowcount

    rows = _postgres_rows(connection, prefix)
    return _postgres_transition(connection, rows, one_statement, decide)


def postgres_baselines(url: str) -> list[Baseline]:
    """The raw transition three ways and the single-row INSERT two ways, each on a connection
    of its own (autocommit; statements prepared on the server from the first run)."""
    postgres_tables(url)
    found: list[Baseline] = [
        Baseline(
            "raw: one statement",
            postgres_raw_transition(url, "one"),
            "WITH u AS (UPDATE ... RETURNING) INSERT ... SELECT FROM u, autocommit, prepared",
        ),
        Baseline(
            FLOOR,
            postgres_raw_transition(url, "decided", ChartDecisions(COUNTER, INC)),
            "the chart's transition and its JSON text, then raw: one statement",
        ),
    ]

    piped = psycopg.connect(url, autocommit=True)
    piped_cursor, piped_update = piped.cursor(), piped.cursor()

    def pipeline(params: dict[str, object]) -> int:
        # Sent together, answered after the pipeline's one sync: the update's row count is
        # known only then (and the audit row is in the same transaction either way).
        with piped.pipeline():
            piped_cursor.execute("BEGIN")
            piped_update.execute(POSTGRES_UPDATE, params, prepare=True)
            piped_cursor.execute(POSTGRES_AUDIT, params, prepare=True)
            piped_cursor.execute("COMMIT")
        return piped_update.rowcount

    found.append(
        Baseline(
            "raw: pipeline",
            _postgres_transition(piped, _postgres_rows(piped, "piped"), pipeline),
            "BEGIN; UPDATE; INSERT; COMMIT in pipeline mode (one round trip), prepared",
        )
    )

    plain = psycopg.connect(url, autocommit=True)
    plain_cursor = plain.cursor()

    def transaction(params: dict[str, object]) -> int:
        with plain.transaction():
            plain_cursor.execute(POSTGRES_UPDATE, params, prepare=True)
            updated = plain_cursor.rowcount
            plain_cursor.execute(POSTGRES_AUDIT, params, prepare=True)
        return updated

    found.append(
        Baseline(
            "raw: transaction()",
            _postgres_transition(plain, _postgres_rows(plain, "plain"), transaction),
            "connection.transaction(): BEGIN, UPDATE, INSERT, COMMIT (four round trips)",
        )
    )

    payload = "x" * 64
    lone = psycopg.connect(url, autocommit=True)
    lone_cursor = lone.cursor()

    def insert(n: int) -> None:
        execute = lone_cursor.execute
        for _ in range(n):
            execute("INSERT INTO ceiling (payload) VALUES (%s)", (payload,), prepare=True)

    found.append(Baseline("insert", insert, "one INSERT in autocommit, prepared"))

    boxed = psycopg.connect(url, autocommit=True)
    boxed_cursor = boxed.cursor()

    def insert_in_transaction(n: int) -> None:
        for _ in range(n):
            with boxed.transaction():
                boxed_cursor.execute(
                    "INSERT INTO ceiling (payload) VALUES (%s)", (payload,), prepare=True
                )

    found.append(
        Baseline(
            "insert: transaction()",
            insert_in_transaction,
            "BEGIN; INSERT; COMMIT (three round trips), prepared",
        )
    )
    return found


# -- the chart -----------------------------------------------------------------------------


class ChartDecisions:
    """What a send decides before it writes: the chart's transition of each instance's
    snapshot (kept parsed, as the engine's head cache keeps it) on `event`, as JSON text.
    Counts start at 1000, so that the texts have `TEXTS`' sizes."""

    def __init__(self, config: dict[str, object], event: dict[str, object]) -> None:
        self._machine = Machine.from_config(config)
        self._event = event
        start = Snapshot.from_json(self._machine, json.loads(snapshot_text(1000)))
        self._snapshots = [start] * INSTANCES
        self._encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

    def __call__(self, index: int) -> str:
        snapshot = self._machine.transition(self._snapshots[index], self._event).snapshot
        self._snapshots[index] = snapshot
        return self._encode(snapshot.to_json())


def chart_transitions(config: dict[str, object], event: dict[str, object]) -> list[Baseline]:
    """The chart's pure transition of the counter, no store: `Machine.transition` on a
    snapshot restored from JSON once and then carried from one transition to the next, with
    and without writing the new snapshot as JSON text (which any durable write needs)."""
    machine = Machine.from_config(config)
    snapshot = Snapshot.from_json(machine, json.loads(snapshot_text(0)))
    encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    state = {"snapshot": snapshot}

    def transition_and_text(n: int) -> None:
        current = state["snapshot"]
        transition = machine.transition
        for _ in range(n):
            current = transition(current, event).snapshot
            encode(current.to_json())
        state["snapshot"] = current

    def transition_only(n: int) -> None:
        current = state["snapshot"]
        transition = machine.transition
        for _ in range(n):
            current = transition(current, event).snapshot
        state["snapshot"] = current

    transition_and_text(3)
    context = state["snapshot"].context
    if not isinstance(context, dict) or context.get("n") != 3:
        raise RuntimeError(f"the counter did not count: {context!r}")
    return [
        Baseline(
            "chart", transition_and_text, "Machine.transition + the new snapshot as JSON text"
        ),
        Baseline("chart: transition only", transition_only, "Machine.transition"),
    ]
