"""The runtime: statewright's worker beside DBOS 3.4 in the same run, on the same databases.

Run from the repository root (DBOS comes with `pip install -e '.[bench]'`):

    .venv/bin/python -m benchmarks.runtime                  # full run, several minutes
    .venv/bin/python -m benchmarks.runtime --quick          # smoke run, small N
    .venv/bin/python -m benchmarks.runtime --no-postgres --json results.json

Four measurements, each on a fresh database per configuration: SQLite (WAL,
`synchronous=FULL`, one file per run in a temp folder; DBOS's file set to WAL too, see
`runtime_dbos.prepare_sqlite`) and a throwaway PostgreSQL 15 server started here with durable
commits (`fsync`, `synchronous_commit`), one database per run for each system.

1. Steps/s: N instances of three trivial steps in sequence, started one after the other by
   this process while the workers run; steps/s = 3N / (last commit - just before the first
   start). statewright with 1 worker process on SQLite and 1, 2, 4 on PostgreSQL; DBOS with
   the same workflow called in sequence, started with `DBOS.start_workflow` (threads), and
   from a queue served by 1, 2 or 4 processes (polled every `--poll-ms`).
2. Timers/s: N instances whose one `after` timer (10 ms) fell due before any worker ran,
   drained by 1 worker on SQLite and 1, 2, 4 on PostgreSQL: firings/s between the first and
   the last firing commit. DBOS: workflows inside a durable `DBOS.sleep` that ended while
   their processes were down, recovered by 1, 2 or 4 processes relaunched.
3. Timer lateness under load (statewright): timers due at instants spread over a window
   while three-step instances arrive at half the steps/s measured in 1; lateness = the
   firing's audit `at` - the due time.
4. Event -> step start: an event sent to an idle instance enters a state that invokes a
   step, while one worker process waits (`Worker.run`); latency = the step function's
   first `time.time()` - `time.time()` as `send` returned. DBOS: `DBOSClient.send` to a
   workflow waiting in `DBOS.recv`, then its step.

Ratios are statewright / DBOS measured in the same run (above 1: statewright is faster); the
machine is shared and noisy, so read ratios, not absolute rates. README.md in this folder
explains every number.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
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

from benchmarks import runtime_report, runtime_statewright
from benchmarks.durable import durable_postgres
from benchmarks.runtime_common import percentile

ROOT = Path(__file__).resolve().parent.parent
#: statewright's worker poll on PostgreSQL: it is woken by NOTIFY; this is the fallback.
POSTGRES_POLL_MS = 1000


@dataclass(frozen=True, slots=True)
class Budget:
    """How much work each measurement does."""

    steps: int  # three-step instances per steps/s run
    timers: int  # due timers per statewright drain
    dbos_sleepers: int  # DBOS sleepers per recovery (DBOS recovers about 40/s)
    dbos_sleep_s: float  # how long each DBOS sleeper sleeps before its process is killed
    late_timers: int  # timers in the lateness run
    late_window: float  # seconds over which their due times are spread
    events: int  # timed sends per event-latency run
    gap: float  # seconds between sends (a random pause of gap to 2 * gap)


FULL = Budget(
    steps=1000,
    timers=2000,
    dbos_sleepers=400,
    dbos_sleep_s=3.0,
    late_timers=200,
    late_window=10.0,
    events=200,
    gap=0.05,
)
QUICK = Budget(
    steps=60,
    timers=200,
    dbos_sleepers=40,
    dbos_sleep_s=1.0,
    late_timers=20,
    late_window=1.5,
    events=15,
    gap=0.02,
)


@dataclass(frozen=True, slots=True)
class Database:
    """One kind of database: where each run gets a fresh database of its own."""

    name: str
    workers: tuple[int, ...]
    fresh: Callable[[str], str]  # a tag -> the URL of a new, empty database
    poll_ms: int  # statewright's worker poll


def sqlite_database(folder: Path, poll_ms: int) -> Database:
    def fresh(tag: str) -> str:
        return f"sqlite:///{folder / tag}.db"

    return Database("SQLite", (1,), fresh, poll_ms)


def postgres_database(create: Callable[[str], str]) -> Database:
    return Database("PostgreSQL", (1, 2, 4), create, POSTGRES_POLL_MS)


# -- DBOS, one configuration per subprocess -------------------------------------------------------


def dbos(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one DBOS job in a fresh interpreter; its JSON result, or {"error": ...}."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.runtime_dbos", json.dumps(spec)],
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


def steps(database: Database, budget: Budget, poll_ms: int) -> list[dict[str, Any]]:
    """Steps/s per worker count, statewright and DBOS in turns."""
    rows = []
    for count in database.workers:
        tag = f"steps_{count}"
        note(f"{database.name}: steps, {count} worker(s)")
        row: dict[str, Any] = {"database": database.name, "workers": count}
        row["statewright"] = runtime_statewright.steps(
            database.fresh(f"sw_{tag}"), budget.steps, count, database.poll_ms
        )
        row["statewright_drain"] = runtime_statewright.drain(
            database.fresh(f"sw_drain_{count}"), budget.steps, count, database.poll_ms
        )
        modes = ["sequential", "threads", "queue", "drain"] if count == 1 else ["queue", "drain"]
        for mode in modes:
            row[f"dbos_{mode}"] = dbos(
                {
                    "job": "steps",
                    "mode": mode,
                    "url": database.fresh(f"dbos_{tag}_{mode}"),
                    "n": budget.steps,
                    "workers": count,
                    "poll": poll_ms / 1000,
                }
            )
        rows.append(row)
    return rows


def timers(database: Database, budget: Budget) -> list[dict[str, Any]]:
    """Due timers drained per second, statewright and DBOS in turns."""
    rows = []
    for count in database.workers:
        note(f"{database.name}: timers, {count} worker(s)")
        row: dict[str, Any] = {"database": database.name, "workers": count}
        row["statewright"] = runtime_statewright.timers(
            database.fresh(f"sw_timers_{count}"), budget.timers, count, database.poll_ms
        )
        row["dbos_sleep"] = dbos(
            {
                "job": "sleep",
                "url": database.fresh(f"dbos_timers_{count}"),
                "n": budget.dbos_sleepers,
                "workers": count,
                "sleep": budget.dbos_sleep_s,
            }
        )
        rows.append(row)
    return rows


def lateness(database: Database, budget: Budget, measured: float) -> dict[str, Any]:
    """Lateness of timers while one worker also runs steps at half the measured rate."""
    note(f"{database.name}: timer lateness under load")
    result = runtime_statewright.lateness(
        database.fresh("sw_lateness"),
        count=1,
        poll_ms=database.poll_ms,
        load=measured / 2,
        timers_=budget.late_timers,
        window=budget.late_window,
    )
    return {"database": database.name, "workers": 1, **result}


def events(database: Database, budget: Budget, poll_ms: int) -> dict[str, Any]:
    """Event -> step start latency, statewright then DBOS."""
    note(f"{database.name}: event -> step start")
    statewright = runtime_statewright.event_latency(
        database.fresh("sw_events"), budget.events, database.poll_ms, budget.gap
    )
    other = dbos(
        {
            "job": "event",
            "url": database.fresh("dbos_events"),
            "n": budget.events,
            "poll": poll_ms / 1000,
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


def run(database: Database, budget: Budget, poll_ms: int) -> dict[str, Any]:
    """Every measurement on one kind of database."""
    found: dict[str, Any] = {"steps": steps(database, budget, poll_ms)}
    found["timers"] = timers(database, budget)
    measured = found["steps"][0]["statewright"]["steps_per_s"]
    found["lateness"] = lateness(database, budget, measured)
    found["events"] = events(database, budget, poll_ms)
    return found


def machine_notes(postgres_url: str | None) -> dict[str, str]:
    """What ran this: CPUs, Python, SQLite, PostgreSQL, DBOS."""
    notes = {
        "platform": platform.platform(),
        "cpus": str(os.cpu_count()),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "dbos": version("dbos"),
        "psycopg": version("psycopg"),
    }
    if postgres_url is not None:
        import psycopg

        with psycopg.connect(postgres_url) as connection:
            row = connection.execute("SHOW server_version").fetchone()
            notes["postgresql"] = str(row[0]) if row else "?"
    return notes


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.runtime", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run with small N")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write raw results here")
    parser.add_argument(
        "--poll-ms",
        type=int,
        default=10,
        help="statewright's worker poll on SQLite, DBOS's queue polling interval and "
        "DBOS's notification polling on SQLite (default 10)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every measurement, print the tables; return the exit status."""
    args = parse(argv)
    budget = QUICK if args.quick else FULL
    report: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m benchmarks.runtime", *(argv or sys.argv[1:])]),
        "budget": asdict(budget),
        "poll_ms": args.poll_ms,
        "postgres_poll_ms": POSTGRES_POLL_MS,
        "results": {},
    }
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sw-runtime-")))
        databases = [sqlite_database(folder, args.poll_ms)]
        postgres_url = None
        if not args.no_postgres:
            server = stack.enter_context(durable_postgres())
            postgres_url = server.url
            databases.append(postgres_database(server.create_database))
        report["machine"] = machine_notes(postgres_url)
        print("machine: " + ", ".join(f"{k} {v}" for k, v in report["machine"].items()))
        for database in databases:
            report["results"][database.name] = run(database, budget, args.poll_ms)
    print()
    print(runtime_report.render(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
