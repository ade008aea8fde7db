"""The durable engine: committed transitions/s against the database's own ceiling, and how
`send` latency changes with the number of stored instances.

Run from the repository root:

    .venv/bin/python -m benchmarks.durable                 # full run, about ten minutes
    .venv/bin/python -m benchmarks.durable --quick         # smoke run, seconds
    .venv/bin/python -m benchmarks.durable --sizes 1000,10000 --json results.json

Three databases, each as production runs it: SQLite in WAL with `synchronous=FULL` and with
`synchronous=NORMAL` (temp files), and a throwaway PostgreSQL server started here with
`fsync=on`, `synchronous_commit=on` and `full_page_writes=on` (`--no-postgres` skips it).
For each, the *ceiling* is the rate of the cheapest durable write there is, one committed
single-row INSERT per transaction on a connection set up as the store sets up its own; the
engine's rate is `Engine.send` of a counter event round-robin over many instances; the ratio
of the two is what the target is stated in (at least 0.5). Ceiling and engine are timed in
turns, so load from other work on this shared machine falls on both alike. README.md in this
folder explains every number.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import itertools
import json
import os
import platform
import pstats
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from unittest import mock

import psycopg

from benchmarks import durable_latency
from statewright import Machine
from statewright.engine import Engine
from statewright.store.records import DefinitionRecord, InstanceRecord, TransitionWrite
from statewright.store.sqlite.connection import connect
from statewright.store.url import SqliteOptions
from statewright.testing import postgres as temporary_postgres

if TYPE_CHECKING:
    from statewright.store.protocol import Store

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
#: Instances the throughput run sends to, in turn.
INSTANCES = 1000
_RUNS = itertools.count()
#: Committed transitions/s of the engine over the ceiling's INSERTs/s.
TARGET_RATIO = 0.5
#: How PostgreSQL runs here: durable commits, as in production (the test server has none).
POSTGRES_SETTINGS = (
    "fsync=on",
    "synchronous_commit=on",
    "full_page_writes=on",
    "max_connections=50",
)


@dataclass(frozen=True, slots=True)
class Budget:
    """Seconds per timed turn, timed turns per measurement, instances sizes for latency."""

    seconds: float
    repeats: int
    warmup: float
    samples: int


FULL = Budget(seconds=1.0, repeats=7, warmup=1.0, samples=2000)
QUICK = Budget(seconds=0.1, repeats=3, warmup=0.1, samples=200)
DEFAULT_SIZES = (1_000, 10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 10_000)


@dataclass(frozen=True, slots=True)
class Database:
    """One database setting: a name for the tables, and the URL the engine opens."""

    name: str
    url: str
    ceiling: Callable[[], Callable[[int], None]]


@dataclass(slots=True)
class Throughput:
    """The measured rates of one database: ceiling INSERTs/s and engine transitions/s."""

    database: str
    ceiling: float = 0.0
    engine: float = 0.0
    ratio: float = 0.0
    ceiling_rates: list[float] = field(default_factory=list)
    engine_rates: list[float] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)


# -- the two things timed -----------------------------------------------------------------------


def sqlite_ceiling(path: str, synchronous: str) -> Callable[[], Callable[[int], None]]:
    """Committed single-row INSERT transactions on a connection the store would open
    (WAL, the same `synchronous`, busy timeout, foreign keys), each `BEGIN IMMEDIATE` ...
    `COMMIT`, into a table of its own in a file of its own next to the engine's."""

    def build() -> Callable[[int], None]:
        options = SqliteOptions(
            path=path, synchronous="FULL" if synchronous == "FULL" else "NORMAL"
        )
        connection = connect(options, url=f"sqlite:///{path}")
        connection.execute(
            "CREATE TABLE IF NOT EXISTS ceiling (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)"
        )
        payload = "x" * 64

        def loop(n: int) -> None:
            execute = connection.execute
            for _ in range(n):
                execute("BEGIN IMMEDIATE")
                execute("INSERT INTO ceiling (payload) VALUES (?)", (payload,))
                execute("COMMIT")

        return loop

    return build


def postgres_ceiling(url: str) -> Callable[[], Callable[[int], None]]:
    """Committed single-row INSERT transactions through psycopg 3 (autocommit off, one
    `connection.transaction()` per INSERT, as the store runs its transactions)."""

    def build() -> Callable[[int], None]:
        connection = psycopg.connect(url, autocommit=False)
        with connection.transaction():
            connection.execute(
                "CREATE TABLE IF NOT EXISTS ceiling "
                "(id bigserial PRIMARY KEY, payload text NOT NULL)"
            )
        payload = "x" * 64

        def loop(n: int) -> None:
            for _ in range(n):
                with connection.transaction():
                    connection.execute("INSERT INTO ceiling (payload) VALUES (%s)", (payload,))

        return loop

    return build


def engine_sends(url: str) -> Callable[[int], None]:
    """Durable transitions: `Engine.send(id, {"type": "INC"})` to INSTANCES counter instances
    in turn; each send loads the instance, runs the chart and commits the new snapshot and
    its audit row in one transaction."""
    return _sends(Engine.open(url))


def engine_sends_without_database() -> Callable[[int], None]:
    """The same sends on a store that keeps the last row of each instance in a dict: what
    the engine's Python costs (checks, chart, JSON, records) before any database work."""
    return _sends(Engine(cast("Store", MemoryStore())))


class MemoryStore:
    """Just enough of a `Store` for `engine_sends_without_database`: no SQL, no history."""

    url = "memory:"

    def __init__(self) -> None:
        self.definitions: dict[str, DefinitionRecord] = {}
        self.rows: dict[tuple[str, str], InstanceRecord] = {}

    def save_definition(self, id: str, hash: str, config: str, now: int) -> DefinitionRecord:
        record = DefinitionRecord(id=id, version=1, hash=hash, config=config, created_at=now)
        self.definitions[id] = record
        return record

    def get_definition(self, id: str, version: int | None = None) -> DefinitionRecord | None:
        return self.definitions.get(id)

    def load_instance(self, tenant: str, instance_id: str) -> InstanceRecord | None:
        return self.rows.get((tenant, instance_id))

    def commit_transition(self, write: TransitionWrite) -> None:
        self.rows[(write.tenant, write.instance_id)] = InstanceRecord(
            tenant=write.tenant,
            id=write.instance_id,
            definition_id=write.definition_id,
            definition_version=write.definition_version,
            version=write.audit.seq,
            snapshot=write.instance.snapshot,
            value=write.instance.value,
            status=write.instance.status,
            runtime_status=write.audit.runtime_status,
            created_at=write.audit.at,
            updated_at=write.audit.at,
        )

    def close(self) -> None:
        pass


def _sends(engine: Engine) -> Callable[[int], None]:
    engine.register(Machine.from_config(COUNTER))
    run = next(_RUNS)  # the profile sends to the throughput run's database again
    ids = [f"c{run}-{index:04d}" for index in range(INSTANCES)]
    for instance_id in ids:
        engine.start("counter", instance_id=instance_id)
    turn = 0

    def loop(n: int) -> None:
        nonlocal turn
        send = engine.send
        for _ in range(n):
            send(ids[turn % INSTANCES], INC)
            turn += 1

    return loop


# -- timing ----------------------------------------------------------------------------------


def rate(loop: Callable[[int], None], seconds: float) -> float:
    """Operations per second of `loop`, run in chunks until `seconds` have passed."""
    gc.collect()
    done, chunk = 0, 25
    start = time.perf_counter()
    while True:
        loop(chunk)
        done += chunk
        spent = time.perf_counter() - start
        if spent >= seconds:
            return done / spent


def throughput(databases: Sequence[Database], budget: Budget) -> tuple[list[Throughput], float]:
    """Time every database's ceiling and engine in turns; medians of `budget.repeats`.

    Returns:
        The rows, and the median rate of the engine without a database, timed in the
        same turns.
    """
    loops: list[tuple[Throughput, Callable[[int], None], Callable[[int], None]]] = []
    for database in databases:
        # The engine first: it creates its schema in a database that has no table yet (the
        # PostgreSQL ceiling's table shares the database and would make it a stranger's).
        engine = engine_sends(database.url)
        loops.append((Throughput(database.name), database.ceiling(), engine))
    no_database = engine_sends_without_database()
    no_database_rates: list[float] = []
    for _, ceiling, engine in loops:
        rate(ceiling, budget.warmup)
        rate(engine, budget.warmup)
    rate(no_database, budget.warmup)
    for turn in range(budget.repeats):
        no_database_rates.append(rate(no_database, budget.seconds))
        for result, ceiling, engine in loops:
            # Alternate which goes first, so neither always follows the other's checkpoint.
            if turn % 2:
                result.engine_rates.append(rate(engine, budget.seconds))
                result.ceiling_rates.append(rate(ceiling, budget.seconds))
            else:
                result.ceiling_rates.append(rate(ceiling, budget.seconds))
                result.engine_rates.append(rate(engine, budget.seconds))
            result.ratios.append(result.engine_rates[-1] / result.ceiling_rates[-1])
    for result, _, _ in loops:
        result.ceiling = statistics.median(result.ceiling_rates)
        result.engine = statistics.median(result.engine_rates)
        result.ratio = statistics.median(result.ratios)
    return [result for result, _, _ in loops], statistics.median(no_database_rates)


def profile(database: Database, sends: int, top: int = 18) -> str:
    """cProfile of `sends` engine sends on one database: the functions that take the most
    time of their own (the profiler's overhead inflates Python's share)."""
    loop = engine_sends(database.url)
    loop(sends // 10)
    profiler = cProfile.Profile()
    profiler.runcall(loop, sends)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    text = out.getvalue()
    return text[text.index("   ncalls") :] if "   ncalls" in text else text


# -- the databases ---------------------------------------------------------------------------


@contextmanager
def durable_postgres() -> Iterator[temporary_postgres.TemporaryPostgres]:
    """A throwaway PostgreSQL server that commits durably (fsync, synchronous commit)."""
    with mock.patch.object(temporary_postgres, "_SETTINGS", POSTGRES_SETTINGS):
        server = temporary_postgres.TemporaryPostgres().__enter__()
    try:
        with psycopg.connect(server.url) as connection:
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                row = connection.execute(f"SHOW {setting}").fetchone()
                if row is None or row[0] != "on":
                    raise RuntimeError(f"the benchmark server runs with {setting}={row}")
        yield server
    finally:
        server.stop()


def databases(folder: Path, postgres_url: str | None) -> list[Database]:
    """The three settings measured (two without PostgreSQL)."""
    found = []
    for level in ("FULL", "NORMAL"):
        engine_path = folder / f"engine-{level.lower()}.db"
        found.append(
            Database(
                name=f"SQLite {level}",
                url=f"sqlite:///{engine_path}?synchronous={level.lower()}",
                ceiling=sqlite_ceiling(str(folder / f"ceiling-{level.lower()}.db"), level),
            )
        )
    if postgres_url is not None:
        found.append(Database("PostgreSQL", postgres_url, postgres_ceiling(postgres_url)))
    return found


# -- report ----------------------------------------------------------------------------------


def machine_notes(postgres_url: str | None) -> dict[str, str]:
    """What ran this: CPU count, Python, SQLite, PostgreSQL, platform, the commit."""
    notes = {
        "platform": platform.platform(),
        "cpus": str(os.cpu_count()),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "psycopg": psycopg.__version__,
        "statewright": source_version(),
    }
    if postgres_url is not None:
        with psycopg.connect(postgres_url) as connection:
            row = connection.execute("SHOW server_version").fetchone()
            notes["postgresql"] = str(row[0]) if row else "?"
    return notes


def source_version() -> str:
    """The commit the library was measured at, and whether its sources had local changes."""

    def git(*args: str) -> str:
        root = Path(__file__).resolve().parent.parent
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
        return done.stdout.strip()

    changed = git("status", "--porcelain", "--", "src")
    return git("rev-parse", "--short", "HEAD") + (" with local changes in src/" if changed else "")


def format_rate(value: float) -> str:
    """A rate with a k suffix: 12345 -> '12.3k'."""
    return f"{value / 1000:.3g}k" if value >= 1000 else f"{value:.3g}"


def throughput_table(results: Sequence[Throughput], no_database: float) -> str:
    """Markdown: ceiling, engine, ratio (median of the per-turn ratios) per database."""
    lines = [
        "| database | ceiling: INSERT tx/s | engine: transitions/s | µs per send "
        "| engine / ceiling | per-turn ratios | target |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for r in results:
        spread = f"{min(r.ratios):.2f}-{max(r.ratios):.2f}"
        verdict = "met" if r.ratio >= TARGET_RATIO else "missed"
        lines.append(
            f"| {r.database} | {format_rate(r.ceiling)} | {format_rate(r.engine)} | "
            f"{1e6 / r.engine:.0f} | {r.ratio:.2f} | {spread} | >= {TARGET_RATIO} ({verdict}) |"
        )
    lines.append(
        f"| no database (Python only) | - | {format_rate(no_database)} | "
        f"{1e6 / no_database:.0f} | - | - | - |"
    )
    return "\n".join(lines)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.durable", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write raw results here")
    parser.add_argument(
        "--sizes",
        type=lambda text: tuple(int(part) for part in text.split(",")),
        help="stored instances for the latency part, comma-separated "
        f"(default {','.join(map(str, DEFAULT_SIZES))}; with --quick "
        f"{','.join(map(str, QUICK_SIZES))})",
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--no-latency", action="store_true", help="skip the latency part")
    parser.add_argument("--no-throughput", action="store_true", help="skip the throughput part")
    parser.add_argument(
        "--profile",
        type=int,
        metavar="SENDS",
        help="also print a cProfile of this many engine sends per database",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run both parts, print their tables; return the exit status."""
    args = parse(argv)
    budget = QUICK if args.quick else FULL
    sizes = args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)
    started = datetime.now(UTC)
    report: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "command": " ".join(["python -m benchmarks.durable", *(argv or sys.argv[1:])]),
        "budget": asdict(budget),
    }
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sw-bench-")))
        postgres_url = None
        if not args.no_postgres:
            server = stack.enter_context(durable_postgres())
            postgres_url = server.create_database("bench")
        report["machine"] = machine_notes(postgres_url)
        print("machine: " + ", ".join(f"{k} {v}" for k, v in report["machine"].items()))
        print(flush=True)
        if not args.no_throughput:
            found, no_database = throughput(databases(folder, postgres_url), budget)
            print("## Throughput: committed transitions/s against the ceiling\n")
            print(throughput_table(found, no_database))
            print(flush=True)
            report["throughput"] = [asdict(r) for r in found]
            report["no_database"] = no_database
        if args.profile:
            (folder / "profile").mkdir()
            for database in databases(folder / "profile", postgres_url):
                print(f"## Profile: {args.profile} sends on {database.name}\n")
                print(profile(database, args.profile), flush=True)
        if not args.no_latency:
            latency_urls = None
            if postgres_url is not None:
                latency_urls = (
                    server.create_database("latency"),
                    server.create_database("latency_reference"),
                )
            rows = durable_latency.run(folder, latency_urls, sizes, budget.samples)
            print("## Latency of send against stored instances\n")
            print(durable_latency.table(rows))
            print()
            print(durable_latency.summary(rows))
            report["latency"] = [
                {**asdict(r), "p50_ratio": r.p50_ratio, "p99_ratio": r.p99_ratio} for r in rows
            ]
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
