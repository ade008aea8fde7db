"""The runtime: statewright's worker beside DBOS 3.4 in the same run, on the same databases.

Run from the repository root (DBOS comes with `pip install -e '.[bench]'`):

    .venv/bin/python -m benchmarks.runtime                  # full run, about seven minutes
    .venv/bin/python -m benchmarks.runtime --quick          # smoke run, about 70 s
    .venv/bin/python -m benchmarks.runtime --no-postgres --json results.json   # SQLite only

Every run gets a fresh database of its own: SQLite files in a temp folder (WAL,
`synchronous=FULL`; DBOS's files are put in WAL mode too) and databases of a throwaway
PostgreSQL 15 server started here with durable commits (`fsync`, `synchronous_commit`).
statewright's workers are processes running `Worker(engine).run(poll_ms=--worker-poll-ms)`;
DBOS runs in a fresh interpreter per configuration (`runtime_dbos.py`). 1, 2 and 4 workers
on PostgreSQL (1 with `--quick`), 1 on SQLite.

1. Steps/s, end to end: N instances of three trivial steps in sequence, started one after
   the other by this process while the workers wait; 3N / (last commit - just before the
   first start). DBOS, the same workflow three ways: called N times in one process
   (`sequential`), `DBOS.start_workflow` N times then every result (`threads`), enqueued
   with `DBOSClient` onto a queue served by 1, 2 or 4 processes (`queue`, polled every
   `--poll-ms`); the ratio is against the fastest.
   Drained: the N started before any worker runs; (3N - 1) / (last step result - first).
2. Timers/s: N instances whose one `after` timer (10 ms) fell due before any worker ran,
   drained: (N - 1) / (last firing commit - first). DBOS: workflows inside a durable
   `DBOS.sleep` that ended while their processes were down, recovered by as many processes
   relaunched: completions per second between the first and the last seen.
3. Timer lateness under load (statewright only): timers due at instants spread over a window
   while three-step instances arrive at half the end-to-end steps/s of 1; lateness = the
   firing's audit `at` - the timer's due time.
4. Event -> step start: an event sent to an idle instance enters a state that invokes a
   step while one worker process waits; latency = the step function's first `time.time()`
   - `time.time()` just after `send` returned. DBOS: `DBOSClient.send` to a workflow
   waiting in `DBOS.recv`, then its step.

Ratios are statewright / DBOS measured in the same run (for latencies DBOS / statewright:
above 1, statewright is faster either way); the machine is shared and noisy, so read the
ratios. README.md in this folder explains every number.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any
from unittest import mock

import psycopg
from psycopg import sql

from benchmarks import durable, runtime_report, runtime_statewright
from benchmarks.runtime_common import percentile
from statewright.testing.postgres import TemporaryPostgres

ROOT = Path(__file__).resolve().parent.parent
#: benchmarks.durable's durable server, with room for four DBOS processes' pools.
POSTGRES_SETTINGS = (
    *(s for s in durable.POSTGRES_SETTINGS if not s.startswith("max_connections")),
    "max_connections=300",
)


@dataclass(frozen=True, slots=True)
class Budget:
    """How much work each measurement does."""

    steps: int  # three-step instances per steps/s run
    timers: int  # due timers per statewright drain
    dbos_sleepers: int  # DBOS sleepers per recovery (DBOS recovers 40-200/s)
    dbos_sleep_s: float  # DBOS sleepers sleep this plus 1/30 s per sleeper of their process
    late_timers: int  # timers in the lateness run
    late_window: float  # seconds over which their due times are spread
    events: int  # timed sends per event-latency run
    gap: float  # seconds between sends (a random pause of gap to 2 * gap)
    postgres_workers: tuple[int, ...]  # worker processes measured on PostgreSQL


FULL = Budget(
    steps=600,
    timers=2000,
    dbos_sleepers=300,
    dbos_sleep_s=2.0,
    late_timers=200,
    late_window=10.0,
    events=200,
    gap=0.05,
    postgres_workers=(1, 2, 4),
)
QUICK = Budget(
    steps=60,
    timers=200,
    dbos_sleepers=40,
    dbos_sleep_s=0.5,
    late_timers=20,
    late_window=1.0,
    events=15,
    gap=0.02,
    postgres_workers=(1,),
)


@dataclass(frozen=True, slots=True)
class Settings:
    """How each system is told to look for work."""

    worker_poll_ms: int  # statewright: Worker.run(poll_ms=...), the fallback to its wake-ups
    dbos_poll_s: float  # DBOS: queue polling interval, and notification polling on SQLite
    dbos_worker_concurrency: int  # DBOS: workflows one queue process runs at once


@dataclass(frozen=True, slots=True)
class Database:
    """One kind of database: where each run gets a fresh database of its own."""

    name: str
    workers: tuple[int, ...]
    fresh: Callable[[str], str]  # a tag -> the URL of a new, empty database
    fresh_dbos: Callable[[str], str]  # a tag -> a new database with DBOS's schema


def sqlite_database(folder: Path) -> Database:
    """Files in `folder`; DBOS's are copies of one file it migrated (in WAL mode)."""
    template = folder / "dbos_template.db"
    migrate_dbos(f"sqlite:///{template}")

    def fresh(tag: str) -> str:
        return f"sqlite:///{folder / tag}.db"

    def fresh_dbos(tag: str) -> str:
        for suffix in ("", "-wal"):
            if Path(f"{template}{suffix}").exists():
                shutil.copyfile(f"{template}{suffix}", f"{folder / tag}.db{suffix}")
        return fresh(tag)

    return Database("SQLite", (1,), fresh, fresh_dbos)


def postgres_database(server: TemporaryPostgres, workers: tuple[int, ...]) -> Database:
    """Databases of one server; DBOS's are copies of one database it migrated."""
    migrate_dbos(server.create_database("dbos_template"))

    def fresh_dbos(tag: str) -> str:
        with psycopg.connect(server.url, autocommit=True) as connection:
            connection.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE dbos_template").format(sql.Identifier(tag))
            )
        return server.url_for(tag)

    return Database("PostgreSQL", workers, server.create_database, fresh_dbos)


def migrate_dbos(url: str) -> None:
    """Create DBOS's schema at `url` (in a subprocess, as every DBOS job)."""
    if "error" in dbos({"job": "migrate", "url": url}):
        raise RuntimeError(f"DBOS could not create its schema at {url}")


# -- DBOS, one configuration per subprocess -------------------------------------------------------


def dbos(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one DBOS job in a fresh interpreter; its JSON result, or {"error": ...}."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.runtime_dbos_job", json.dumps(spec)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": "timed out"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"  DBOS {spec['job']} failed: {tail}", file=sys.stderr)
        return {"error": tail}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


# -- the four measurements --------------------------------------------------------------------


def steps(database: Database, budget: Budget, settings: Settings) -> list[dict[str, Any]]:
    """Steps/s per worker count, end to end and drained, statewright and DBOS in turns."""
    rows = []
    poll = settings.worker_poll_ms
    for count in database.workers:
        note(f"{database.name}: steps, {count} worker(s)")
        row: dict[str, Any] = {"database": database.name, "workers": count}
        row["statewright"] = runtime_statewright.steps(
            database.fresh(f"sw_steps_{count}"), budget.steps, count, poll
        )
        row["statewright_drain"] = runtime_statewright.drain(
            database.fresh(f"sw_drain_{count}"), budget.steps, count, poll
        )
        modes = ["sequential", "threads", "queue", "drain"] if count == 1 else ["queue", "drain"]
        for mode in modes:
            row[f"dbos_{mode}"] = dbos(
                {
                    "job": "steps",
                    "mode": mode,
                    "url": database.fresh_dbos(f"dbos_{mode}_{count}"),
                    "n": budget.steps,
                    "workers": count,
                    "poll": settings.dbos_poll_s,
                    "worker_concurrency": settings.dbos_worker_concurrency,
                }
            )
        rows.append(row)
    return rows


def timers(database: Database, budget: Budget, settings: Settings) -> list[dict[str, Any]]:
    """Due timers drained per second, statewright and DBOS in turns."""
    rows = []
    for count in database.workers:
        note(f"{database.name}: timers, {count} worker(s)")
        row: dict[str, Any] = {"database": database.name, "workers": count}
        row["statewright"] = runtime_statewright.timers(
            database.fresh(f"sw_timers_{count}"), budget.timers, count, settings.worker_poll_ms
        )
        row["dbos_sleep"] = dbos(
            {
                "job": "sleep",
                "url": database.fresh_dbos(f"dbos_timers_{count}"),
                "n": budget.dbos_sleepers,
                "workers": count,
                "sleep": budget.dbos_sleep_s,
            }
        )
        rows.append(row)
    return rows


def lateness(
    database: Database, budget: Budget, settings: Settings, measured: float
) -> dict[str, Any]:
    """Lateness of timers while one worker also runs steps at half the measured rate."""
    note(f"{database.name}: timer lateness under load")
    result = runtime_statewright.lateness(
        database.fresh("sw_lateness"),
        count=1,
        poll_ms=settings.worker_poll_ms,
        load=measured / 2,
        timers_=budget.late_timers,
        window=budget.late_window,
    )
    return {"database": database.name, "workers": 1, **result}


def events(database: Database, budget: Budget, settings: Settings) -> dict[str, Any]:
    """Event -> step start latency, statewright then DBOS."""
    note(f"{database.name}: event -> step start")
    statewright = runtime_statewright.event_latency(
        database.fresh("sw_events"), budget.events, settings.worker_poll_ms, budget.gap
    )
    other = dbos(
        {
            "job": "event",
            "url": database.fresh_dbos("dbos_events"),
            "n": budget.events,
            "poll": settings.dbos_poll_s,
            "gap": budget.gap,
        }
    )
    return {
        "database": database.name,
        "statewright": summarize(statewright),
        "dbos": summarize(other) if "error" not in other else other,
    }


def summarize(result: dict[str, Any]) -> dict[str, Any]:
    """Percentiles of an event-latency run, keeping the raw samples."""
    latencies, sends = result["latencies_ms"], result["send_ms"]
    return {
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "send_p50_ms": percentile(sends, 50),
        **result,
    }


# -- running it -------------------------------------------------------------------------------


def note(text: str) -> None:
    print(f"  {datetime.now(UTC):%H:%M:%S} {text}", file=sys.stderr, flush=True)


def run(database: Database, budget: Budget, settings: Settings) -> dict[str, Any]:
    """Every measurement on one kind of database."""
    found: dict[str, Any] = {"steps": steps(database, budget, settings)}
    found["timers"] = timers(database, budget, settings)
    measured = found["steps"][0]["statewright"]["steps_per_s"]
    found["lateness"] = lateness(database, budget, settings, measured)
    found["events"] = events(database, budget, settings)
    return found


def machine_notes(postgres_url: str | None) -> dict[str, str]:
    """What ran this: `benchmarks.durable`'s notes and DBOS's version."""
    return {**durable.machine_notes(postgres_url), "dbos": version("dbos")}


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.runtime", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run with small N")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write raw results here")
    parser.add_argument(
        "--worker-poll-ms",
        type=int,
        default=1000,
        help="statewright's Worker.run(poll_ms=...): how long an idle worker waits when no "
        "wake-up comes (default 1000, the library's default)",
    )
    parser.add_argument(
        "--poll-ms",
        type=int,
        default=10,
        help="DBOS's queue polling interval, and its notification polling on SQLite "
        "(default 10; DBOS's own default is 1000)",
    )
    parser.add_argument(
        "--dbos-worker-concurrency",
        type=int,
        default=64,
        help="workflows one DBOS queue process runs at once (default 64)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every measurement, print the tables; return the exit status."""
    args = parse(argv)
    budget = QUICK if args.quick else FULL
    settings = Settings(args.worker_poll_ms, args.poll_ms / 1000, args.dbos_worker_concurrency)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the server on the way out
    report: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m benchmarks.runtime", *(argv or sys.argv[1:])]),
        "budget": asdict(budget),
        "settings": asdict(settings),
        "results": {},
    }
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sw-runtime-")))
        databases = [sqlite_database(folder)]
        postgres_url = None
        if not args.no_postgres:
            with mock.patch.object(durable, "POSTGRES_SETTINGS", POSTGRES_SETTINGS):
                server = stack.enter_context(durable.durable_postgres())
            postgres_url = server.url
            databases.append(postgres_database(server, budget.postgres_workers))
        report["machine"] = machine_notes(postgres_url)
        print("machine: " + ", ".join(f"{k} {v}" for k, v in report["machine"].items()))
        for database in databases:
            report["results"][database.name] = run(database, budget, settings)
    print()
    print(runtime_report.render(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
