"""`send` latency against the number of stored instances (part two of `benchmarks.durable`).

Every stored instance looks like one the engine made: a `ticker` that was started and sent
two events (version 3, three audit rows) and waits on a pending one-day timer, so the
instances, audit and timers tables all grow with the size. One real instance is made through
the engine; the rest are copies of its rows under other ids, bulk-inserted (SQLite: the
store's own `insert_instance`, `insert_audit` and `upsert_timer` queries through
`executemany`, 20k instances per transaction; PostgreSQL: `COPY`), since starting a million
instances one by one would take most of an hour. The sizes grow in place (1k, then 9k more,
...), and at each size `send` is timed one call at a time on instances picked at random.

A second database of each kind stays at the smallest size: at every size, sends to it and
to the growing one take turns, and each size is also reported against it. Measurements of
different sizes lie minutes apart, and on this shared machine the load moves latency by
more than the size does; the reference, timed in the same turns, cancels that out.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from statewright import Machine
from statewright.engine import Engine
from statewright.store.records import AuditRecord, InstanceRecord, TimerRecord
from statewright.store.sqlite import SqliteStore
from statewright.store.sqlite.connection import connect
from statewright.store.url import SqliteOptions

#: A counter that waits on a one-day timer; INC is handled without leaving the state, so
#: the timer stays pending and a send writes the instance row and one audit row.
TICKER: dict[str, object] = {
    "id": "ticker",
    "initial": "counting",
    "context": {"n": 0},
    "states": {
        "counting": {
            "after": {"86400000": "expired"},
            "on": {
                "INC": {
                    "actions": [{"type": "assign", "params": {"n": {"$expr": "context.n + 1"}}}]
                }
            },
        },
        "expired": {"type": "final"},
    },
}
INC: dict[str, object] = {"type": "INC"}
#: Instances bulk-inserted per transaction while seeding.
CHUNK = 20_000
_INSTANCE_COLUMNS = (
    "tenant", "id", "definition_id", "definition_version", "version", "snapshot", "value",
    "status", "runtime_status", "created_at", "updated_at",
)  # fmt: skip
_AUDIT_COLUMNS = (
    "tenant", "instance_id", "seq", "event", "actor", "from_value", "to_value", "status",
    "runtime_status", "at", "idempotency_key", "microsteps", "effects",
)  # fmt: skip
_TIMER_COLUMNS = ("tenant", "instance_id", "timer_id", "due_at", "event", "created_seq")


@dataclass(slots=True)
class Latency:
    """`send` latency on one database at one number of stored instances, in microseconds,
    and that of the reference database (the smallest size) timed in the same turns."""

    database: str
    size: int
    p50_us: float
    p99_us: float
    mean_us: float
    samples: int
    seed_seconds: float
    reference_p50_us: float
    reference_p99_us: float

    @property
    def p50_ratio(self) -> float:
        """p50 over the reference's p50."""
        return self.p50_us / self.reference_p50_us

    @property
    def p99_ratio(self) -> float:
        """p99 over the reference's p99."""
        return self.p99_us / self.reference_p99_us


def instance_id(index: int) -> str:
    """The id of the `index`-th stored instance."""
    return f"i{index:07d}"


@dataclass(frozen=True, slots=True)
class Template:
    """The rows of one instance the engine made, to copy under other ids."""

    instance: InstanceRecord
    audit: tuple[AuditRecord, ...]
    timer: TimerRecord

    @classmethod
    def make(cls, engine: Engine) -> Template:
        """Start instance 0 and send it two events; read its rows back."""
        first = instance_id(0)
        engine.start("ticker", instance_id=first)
        engine.send(first, INC)
        engine.send(first, INC)
        store = engine.store
        instance = store.load_instance("default", first)
        (timer,) = store.pending_timers("default", first)
        assert instance is not None
        return cls(instance, tuple(store.history("default", first)), timer)

    def rows(self, start: int, stop: int, rng: random.Random) -> Iterator[tuple[Any, ...]]:
        """(instance, audit rows, timer) column tuples for instances `start` .. `stop` - 1."""
        day = 86_400_000
        for index in range(start, stop):
            name = instance_id(index)
            instance = self.instance
            yield (
                (
                    instance.tenant, name, instance.definition_id, instance.definition_version,
                    instance.version, instance.snapshot, instance.value, instance.status,
                    instance.runtime_status, instance.created_at, instance.updated_at,
                ),
                [
                    (
                        a.tenant, name, a.seq, a.event, a.actor, a.from_value, a.to_value,
                        a.status, a.runtime_status, a.at, a.idempotency_key, a.microsteps,
                        a.effects,
                    )
                    for a in self.audit
                ],
                (
                    self.timer.tenant, name, self.timer.timer_id,
                    self.timer.due_at + rng.randrange(day), self.timer.event, index + 1,
                ),
            )  # fmt: skip


class SqliteSeeder:
    """Bulk copies through the SQLite store's own insert queries."""

    def __init__(self, path: str) -> None:
        self.connection = connect(SqliteOptions(path=path, synchronous="NORMAL"), url=path)
        self.connection.row_factory = None
        queries = SqliteStore.queries
        self.sql = [
            _positional(queries["insert_instance"], ("tenant", "id", "definition_id",
                        "definition_version", "version", "snapshot", "value", "status",
                        "runtime_status", "created_at", "updated_at")),
            _positional(queries["insert_audit"], _AUDIT_COLUMNS),
            _positional(queries["upsert_timer"], _TIMER_COLUMNS),
        ]  # fmt: skip

    def grow(self, template: Template, start: int, stop: int, rng: random.Random) -> None:
        """Add instances `start` .. `stop` - 1."""
        insert_instance, insert_audit, insert_timer = self.sql
        for low in range(start, stop, CHUNK):
            rows = list(template.rows(low, min(stop, low + CHUNK), rng))
            self.connection.execute("BEGIN IMMEDIATE")
            self.connection.executemany(insert_instance, [row[0] for row in rows])
            self.connection.executemany(insert_audit, [a for row in rows for a in row[1]])
            self.connection.executemany(insert_timer, [row[2] for row in rows])
            self.connection.execute(
                "UPDATE counters SET value = max(value, ?) WHERE name = 'work'", (stop,)
            )
            self.connection.execute("COMMIT")

    def close(self) -> None:
        self.connection.close()


class PostgresSeeder:
    """Bulk copies with COPY, one transaction per chunk."""

    def __init__(self, url: str) -> None:
        self.connection = psycopg.connect(url, autocommit=False)

    def grow(self, template: Template, start: int, stop: int, rng: random.Random) -> None:
        """Add instances `start` .. `stop` - 1."""
        for low in range(start, stop, CHUNK):
            rows = list(template.rows(low, min(stop, low + CHUNK), rng))
            with self.connection.transaction(), self.connection.cursor() as cursor:
                for table, columns, values in (
                    ("instances", _INSTANCE_COLUMNS, [row[0] for row in rows]),
                    ("audit", _AUDIT_COLUMNS, [a for row in rows for a in row[1]]),
                    ("timers", _TIMER_COLUMNS, [row[2] for row in rows]),
                ):
                    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                        for value in values:
                            copy.write_row(value)
                cursor.execute("SELECT setval('work_seq', greatest(%s, last_value)) FROM work_seq",
                               (stop,))  # fmt: skip
        with self.connection.transaction():
            self.connection.execute("ANALYZE")

    def close(self) -> None:
        self.connection.close()


def _positional(sql: str, names: Sequence[str]) -> str:
    """A named query with `:name` parameters as `?` in `names` order (faster to bind)."""
    # `at` is both created_at and updated_at in insert_instance.
    sql = sql.replace(":at, :at", ":created_at, :updated_at")
    for name in sorted(names, key=len, reverse=True):
        sql = sql.replace(f":{name}", f"?{names.index(name) + 1}")
    return sql


def time_sends(
    pairs: Sequence[tuple[Engine, int]], samples: int, rng: random.Random
) -> list[list[float]]:
    """Microseconds of `samples` sends per (engine, stored instances), each to an instance
    picked at random; the engines take turns send by send, so that load from other work on
    the machine falls on all of them alike."""
    rounds = samples + samples // 10
    picks = [[instance_id(rng.randrange(size)) for _ in range(rounds)] for _, size in pairs]
    found: list[list[float]] = [[] for _ in pairs]
    clock = time.perf_counter_ns
    for turn in range(rounds):
        for (engine, _), names, micros in zip(pairs, picks, found, strict=True):
            start = clock()
            engine.send(names[turn], INC)
            if turn >= samples // 10:  # the first tenth warms up
                micros.append((clock() - start) / 1000)
    return found


def _latency(
    database: str, size: int, micros: list[float], reference: list[float], seeded: float
) -> Latency:
    ordered, base = sorted(micros), sorted(reference)
    return Latency(
        database=database,
        size=size,
        p50_us=statistics.median(ordered),
        p99_us=_p99(ordered),
        mean_us=statistics.fmean(ordered),
        samples=len(ordered),
        seed_seconds=seeded,
        reference_p50_us=statistics.median(base),
        reference_p99_us=_p99(base),
    )


def _p99(ordered: list[float]) -> float:
    return ordered[min(len(ordered) - 1, round(len(ordered) * 0.99))]


@dataclass(slots=True)
class Database:
    """One backend's growing database and its reference, with their engines (one per
    setting: SQLite opens the same files with FULL and with NORMAL)."""

    names: list[str]
    urls: list[tuple[str, str]]
    engines: list[tuple[Engine, Engine]]
    grow: SqliteSeeder | PostgresSeeder
    template: Template
    reference: SqliteSeeder | PostgresSeeder
    reference_template: Template

    def close(self) -> None:
        """Close the seeders and the engines."""
        self.grow.close()
        self.reference.close()
        for big, small in self.engines:
            big.close()
            small.close()


def _engine(url: str) -> Engine:
    # No head cache: every send reads its instance, so that what is timed is how the
    # store's cost grows with size (a cache would hit at 1k instances and miss at 1M).
    engine = Engine.open(url, head_cache=0)
    engine.register(Machine.from_config(TICKER))
    return engine


def sqlite_database(
    folder: Path,
    levels: Sequence[str] = ("normal", "full"),
    names: tuple[str, str] = ("latency.db", "reference.db"),
) -> Database:
    """The growing SQLite file and its reference in `folder`, opened at each `synchronous`
    level of `levels`; each holds its template instance."""
    files = [folder / name for name in names]
    urls = [(f"sqlite:///{files[0]}?synchronous={level}",
             f"sqlite:///{files[1]}?synchronous={level}") for level in levels]  # fmt: skip
    engines = [(_engine(big), _engine(small)) for big, small in urls]
    return Database([f"SQLite {level.upper()}" for level in levels], urls, engines,
                    SqliteSeeder(str(files[0])), Template.make(engines[0][0]),
                    SqliteSeeder(str(files[1])), Template.make(engines[0][1]))  # fmt: skip


def postgres_database(urls: tuple[str, str]) -> Database:
    """The growing PostgreSQL database and its reference (two empty databases)."""
    big, small = _engine(urls[0]), _engine(urls[1])
    return Database(["PostgreSQL"], [urls], [(big, small)],
                    PostgresSeeder(urls[0]), Template.make(big),
                    PostgresSeeder(urls[1]), Template.make(small))  # fmt: skip


def measure(
    database: Database,
    size: int,
    reference_size: int,
    samples: int,
    seeded: float,
    rng: random.Random,
) -> list[Latency]:
    """Sends to the growing database (`size` instances) and to the reference, in turns,
    for each setting."""  # fmt: skip
    results = []
    for name, (big, small) in zip(database.names, database.engines, strict=True):
        micros, reference = time_sends([(big, size), (small, reference_size)], samples, rng)
        results.append(_latency(name, size, micros, reference, seeded))
    return results


def run(
    folder: Path, postgres_urls: tuple[str, str] | None, sizes: Sequence[int], samples: int
) -> list[Latency]:
    """Grow each database through `sizes` and time sends at each size, in turns with sends
    to a reference database that stays at the smallest size."""
    rng = random.Random(20261121)
    sizes = sorted(sizes)
    databases = [sqlite_database(folder)]
    if postgres_urls is not None:
        databases.append(postgres_database(postgres_urls))
    results: list[Latency] = []
    have = 1
    try:
        for database in databases:
            database.reference.grow(database.reference_template, 1, sizes[0], rng)
        for size in sizes:
            for database in databases:
                start = time.perf_counter()
                database.grow.grow(database.template, have, size, rng)
                seeded = time.perf_counter() - start
                results += measure(database, size, sizes[0], samples, seeded, rng)
            have = max(have, size)
            print(f"  latency at {size:,} instances measured", flush=True)
    finally:
        for database in databases:
            database.close()
    return results


def table(rows: Sequence[Latency]) -> str:
    """Markdown: p50 / p99 in microseconds per size, and the p50 over the reference's p50
    measured in the same turns, one column per database."""
    names = list(dict.fromkeys(row.database for row in rows))
    sizes = sorted({row.size for row in rows})
    by = {(row.database, row.size): row for row in rows}
    lines = [
        "| stored instances | "
        + " | ".join(f"{name}: p50 / p99 µs (p50 ÷ reference)" for name in names)
        + " |",
        "|---:|" + "---:|" * len(names),
    ]
    for size in sizes:
        cells = []
        for name in names:
            row = by[(name, size)]
            cells.append(f"{row.p50_us:.0f} / {row.p99_us:.0f} ({row.p50_ratio:.2f})")
        lines.append(f"| {size:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(rows: Sequence[Latency]) -> str:
    """Per database: largest over smallest size, p50 and p99, both as measured and each
    against the reference timed in the same turns (flat is 1)."""
    lines = []
    for name in dict.fromkeys(row.database for row in rows):
        mine = sorted((row for row in rows if row.database == name), key=lambda r: r.size)
        small, large = mine[0], mine[-1]
        lines.append(
            f"- {name}, {large.size:,} vs {small.size:,} instances: "
            f"p50 x{large.p50_ratio / small.p50_ratio:.2f}, "
            f"p99 x{large.p99_ratio / small.p99_ratio:.2f} against the reference "
            f"(as measured, minutes apart: p50 x{large.p50_us / small.p50_us:.2f}, "
            f"p99 x{large.p99_us / small.p99_us:.2f}); seeding {large.size:,} took "
            f"{sum(r.seed_seconds for r in mine):.0f} s"
        )
    return "\n".join(lines)
