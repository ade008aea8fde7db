"""The durable engine: a send against what it cannot be cheaper than, and how `send` latency
changes with the number of stored instances.

Run from the repository root:

    .venv/bin/python -m benchmarks.durable                 # full run, about ten minutes
    .venv/bin/python -m benchmarks.durable --quick         # smoke run, seconds
    .venv/bin/python -m benchmarks.durable --sizes 1000,10000 --json results.json

Three databases, each as production runs it: SQLite in WAL with `synchronous=FULL` and with
`synchronous=NORMAL` (temp files), and a throwaway PostgreSQL server started here with
`fsync=on`, `synchronous_commit=on` and `full_page_writes=on` (`--no-postgres` skips it).
For each, the engine's `Engine.send` of a counter event round-robin over many instances is
timed in the same turns as the database's raw transition (a versioned UPDATE of an instance
row and its audit INSERT in one transaction, the cheapest way the database offers), its
single-row INSERT, the chart's pure transition, and a loop of both (the chart decides, the
raw transition writes it: `durable_baselines.py`); the headline is engine / (chart then
raw), target at most 1.4, beside engine / (raw + chart) with the two timed apart
(`durable_throughput.py`). README.md in this folder explains every number.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import gc
import io
import itertools
import json
import os
import platform
import pstats
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from unittest import mock

import psycopg

from benchmarks import durable_baselines, durable_latency, durable_throughput
from benchmarks.durable_baselines import COUNTER, INC, Baseline
from statewright import Machine
from statewright.engine import Engine
from statewright.store.records import DefinitionRecord, InstanceRecord, TransitionWrite
from statewright.testing import postgres as temporary_postgres

if TYPE_CHECKING:
    from statewright.store.protocol import Store

#: Instances the throughput run sends to, in turn.
INSTANCES = 1000
_RUNS = itertools.count()
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


# -- the thing timed ----------------------------------------------------------------------


def engine_sends(url: str) -> Callable[[int], None]:
    """Durable transitions: `Engine.send(id, {"type": "INC"})` to INSTANCES counter instances
    in turn; each send loads the instance, runs the chart and commits the new snapshot and
    its audit row in one transaction."""
    return _sends(Engine.open(url))


def engine_sends_without_database() -> Callable[[int], None]:
    """The same sends on a store that keeps the last row of each instance in a dict: what
    the engine's Python costs (checks, chart, JSON, records) before any database work."""
    return _sends(Engine(cast("Store", MemoryStore())))


def without_database() -> list[Baseline]:
    """`engine_sends_without_database` as a loop to time, or none if the engine no longer
    runs on this stub (it knows the store's internals; the headline does not need it)."""
    try:
        loop = engine_sends_without_database()
        loop(3)
    except Exception as error:  # the stub is a guess at the store's protocol
        print(f"note: the engine without a database is not timed: {error!r}", file=sys.stderr)
        return []
    return [Baseline("engine, no database", loop, "Engine.send on a dict store")]


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
    done, spent = durable_throughput.run_for(loop, seconds, chunk=25)
    return done / spent


def profile(url: str, sends: int, top: int = 18) -> str:
    """cProfile of `sends` engine sends on one database: the functions that take the most
    time of their own (the profiler's overhead inflates Python's share)."""
    loop = engine_sends(url)
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


def engine_urls(folder: Path, postgres_url: str | None) -> dict[str, str]:
    """The engine's URL of every setting measured, by name (two without PostgreSQL)."""
    found = {
        f"SQLite {level}": f"sqlite:///{folder / f'engine-{level.lower()}.db'}"
        f"?synchronous={level.lower()}"
        for level in ("FULL", "NORMAL")
    }
    if postgres_url is not None:
        found["PostgreSQL"] = postgres_url
    return found


def settings(
    folder: Path, postgres_url: str | None, baselines_url: str | None
) -> list[durable_throughput.Setting]:
    """The three settings timed: the engine on its database, and the baselines on files
    (SQLite) or a database (PostgreSQL) of their own, set up the same way."""
    found = []
    for name, url in engine_urls(folder, postgres_url).items():
        if name.startswith("SQLite"):
            level = name.removeprefix("SQLite ")
            path = str(folder / f"baselines-{level.lower()}.db")
            baselines = functools.partial(durable_baselines.sqlite_baselines, path, level)
        else:
            assert baselines_url is not None
            baselines = functools.partial(durable_baselines.postgres_baselines, baselines_url)
        found.append(
            durable_throughput.Setting(name, functools.partial(engine_sends, url), baselines)
        )
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
        postgres_url = baselines_url = None
        if not args.no_postgres:
            server = stack.enter_context(durable_postgres())
            postgres_url = server.create_database("bench")
            # The baselines' tables in a database of their own: the engine's is its alone.
            baselines_url = server.create_database("baselines")
        report["machine"] = machine_notes(postgres_url)
        print("machine: " + ", ".join(f"{k} {v}" for k, v in report["machine"].items()))
        print(flush=True)
        if not args.no_throughput:
            found, free = durable_throughput.measure(
                settings(folder, postgres_url, baselines_url),
                durable_baselines.chart_transitions(COUNTER, INC),
                without_database(),
                seconds=budget.seconds,
                repeats=budget.repeats,
                warmup=budget.warmup,
            )
            print("## A send against its limit: the chart, then the raw transition\n")
            print(durable_throughput.headline_table(found))
            print("\nEvery loop timed:\n")
            print(durable_throughput.details_table(found, free))
            print(flush=True)
            report["throughput"] = [
                {
                    **asdict(r),
                    "raw": r.raw,
                    "ratios": r.ratios,
                    "ratio": r.ratio,
                    "sum_ratio": r.sum_ratio,
                }
                for r in found
            ]
            report["no_database"] = free
        if args.profile:
            (folder / "profile").mkdir()
            for name, url in engine_urls(folder / "profile", postgres_url).items():
                print(f"## Profile: {args.profile} sends on {name}\n")
                print(profile(url, args.profile), flush=True)
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
