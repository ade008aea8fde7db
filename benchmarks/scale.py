"""Scale runs: `send` latency and worker throughput at 1k, 1M and 10M stored instances, and
on PostgreSQL the same again with 100M audit rows.

```sh
.venv/bin/python -m benchmarks.scale --quick                       # smoke run, two minutes
.venv/bin/python -m benchmarks.scale --databases sqlite --sizes 1000,1000000,10000000
.venv/bin/python -m benchmarks.scale --databases postgres --sizes 1000,1000000,10000000 \\
    --audit-at 1000000 --audit-rows 100000000 --json scale-postgres.json
.venv/bin/python -m benchmarks.scale --report scale-postgres.json   # its table again
```

The stored instances are those of `benchmarks.durable_latency` (a `ticker` started and sent
two events: three audit rows and a pending one-day timer each), seeded by its bulk copies
and grown in place; a reference database of each kind stays at the smallest size. At each
size, on each database setting:

- *send*: p50 / p99 of `Engine.send` (no head cache, so every send reads its row) on
  instances picked at random, in turns with sends to the reference (`durable_latency.measure`);
- *timers/s*: due 10 ms timers drained by `--workers` real `Worker.run` processes, and
  *steps/s*: three-step instances drained by them (`runtime_statewright.timers` and `.drain`),
  each in a tenant of its own so that runs do not meet, on the big database and the reference
  in turns (two turns, one with `--quick`), the median of each reported.

On PostgreSQL, once at `--audit-at` instances (default the largest size), `--audit-rows`
fills the audit table up to that many rows with the history of finished instances (tenant
`acme`, `journal` instances of `HISTORY` rows each, ids in creation order, copied from one
the engine made by `INSERT ... SELECT` over `generate_series` inside the server,
`JOURNAL_CHUNK` instances per statement, through `console_data.copy_postgres`; the store's
indexes and constraints stay in place, only the copied rows' foreign keys are not checked
row by row), and everything is measured again; then, unless `--no-warm`, once more after
`warm_cache` has read every table but the audit heap and every index into the page cache
(a load of tens of GiB of history evicts the instances' pages, which a store in service
keeps cached); the history stays for larger sizes. Growth
stops before less than `DISK_MARGIN` is left free. Every row is written to `--json` as soon
as it is measured, so that a run stopped early keeps what it measured.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import psycopg

from benchmarks import console_data, durable, durable_latency, runtime_statewright
from benchmarks.durable import machine_notes
from benchmarks.durable_latency import Database, Latency
from statewright import Machine
from statewright.engine import Engine

#: A journal: NOTE adds to it, CLOSE finishes it. Its copies are the finished history.
JOURNAL: dict[str, object] = {
    "id": "journal",
    "initial": "open",
    "context": {"n": 0},
    "states": {
        "open": {
            "on": {
                "NOTE": {
                    "actions": [{"type": "assign", "params": {"n": {"$expr": "context.n + 1"}}}]
                },
                "CLOSE": "closed",
            }
        },
        "closed": {"type": "final"},
    },
}
#: Audit rows per journal instance: its start, NOTE events, its CLOSE.
HISTORY = 100
#: Journal instances copied per statement (HISTORY times as many audit rows).
JOURNAL_CHUNK = 10_000
#: Journal copies are named this and their number, so that they are made in id order.
JOURNAL_PREFIX = "j"
#: Instances added between two looks at the free disk space.
GROW_STEP = 500_000
#: Stop growing when fewer bytes than this would be left free on the database's disk.
DISK_MARGIN = 8 * 2**30


@dataclass(frozen=True, slots=True)
class Budget:
    """Sends timed per measurement, timers and three-step instances per worker run, turns."""

    samples: int
    timers: int
    steps: int
    turns: int
    workers: int
    poll_ms: int


FULL = Budget(samples=2000, timers=2000, steps=600, turns=2, workers=1, poll_ms=1000)
QUICK = Budget(samples=300, timers=200, steps=60, turns=1, workers=1, poll_ms=1000)


@dataclass(slots=True)
class Row:
    """One database setting at one size: send latency and worker rates, each beside the
    reference's measured in the same turns."""

    database: str
    size: int
    audit_rows: int
    latency: Latency
    timers_per_s: float = 0.0
    reference_timers_per_s: float = 0.0
    steps_per_s: float = 0.0
    reference_steps_per_s: float = 0.0
    seed_seconds: float = 0.0
    database_bytes: int = 0
    notes: dict[str, Any] = field(default_factory=dict)


def worker_rates(
    urls: tuple[str, str], label: str, budget: Budget
) -> tuple[float, float, float, float]:
    """Timers/s and steps/s on the big database and on the reference, in turns: (timers,
    reference timers, steps, reference steps), medians over the turns."""
    found: list[list[float]] = [[], [], [], []]
    for turn in range(budget.turns):
        order = [0, 1] if turn % 2 == 0 else [1, 0]
        for which in order:
            tenant = f"{label}-{turn}-{which}"
            fired = runtime_statewright.timers(
                urls[which], budget.timers, budget.workers, budget.poll_ms, tenant
            )
            found[which].append(fired["timers_per_s"])
        for which in order:
            tenant = f"{label}-{turn}-{which}"
            drained = runtime_statewright.drain(
                urls[which], budget.steps, budget.workers, budget.poll_ms, tenant
            )
            found[2 + which].append(drained["steps_per_s"])
    timers, ref_timers, steps, ref_steps = (statistics.median(rates) for rates in found)
    return timers, ref_timers, steps, ref_steps


def database_bytes(url: str) -> int:
    """The size on disk of the database at `url` (SQLite: the file and its WAL)."""
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///").split("?")[0])
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    with psycopg.connect(url) as connection:
        row = connection.execute("SELECT pg_database_size(current_database())").fetchone()
        return int(row[0]) if row else 0


def load_history(
    url: str, audit_rows: int, have: int, note: Callable[[str], None], folder: Path
) -> dict[str, Any]:
    """Fill the PostgreSQL audit table at `url` (holding `have` rows) up to `audit_rows`
    with finished journal instances, stopping early if the disk of `folder` fills up; how
    long it took and how many rows it added."""
    with Engine.open(url) as engine:
        engine.register(Machine.from_config(JOURNAL))
        template = f"tpl-{JOURNAL['id']}"
        engine.start("journal", instance_id=template, tenant=console_data.TENANT)
        for _ in range(HISTORY - 2):
            engine.send(template, {"type": "NOTE"}, tenant=console_data.TENANT)
        engine.send(template, {"type": "CLOSE"}, tenant=console_data.TENANT)
        have += HISTORY
    instances = max(0, -(-(audit_rows - have) // HISTORY))
    began = time.perf_counter()
    for low in range(0, instances, JOURNAL_CHUNK):
        high = min(instances, low + JOURNAL_CHUNK)
        if shutil.disk_usage(folder).free < DISK_MARGIN:
            note(f"  stopped at {low * HISTORY:,} rows: less than "
                 f"{DISK_MARGIN / 2**30:.0f} GiB free")  # fmt: skip
            instances = low
            break
        console_data.copy_postgres(
            url, {"journal": range(low, high)}, settle=False, prefix=JOURNAL_PREFIX, trust=True
        )
        if (low // JOURNAL_CHUNK) % 10 == 9 or high == instances:
            seconds = time.perf_counter() - began
            note(f"  history: {high * HISTORY:,} audit rows in {seconds:.0f} s "
                 f"({high * HISTORY / seconds:,.0f} rows/s)")  # fmt: skip
    inserted = time.perf_counter() - began
    console_data.copy_postgres(url, {}, settle=True)
    settled = time.perf_counter() - began - inserted
    with Engine.open(url) as engine:
        engine.register(Machine.from_config(JOURNAL))
        checked = engine.verify(f"{JOURNAL_PREFIX}{max(0, instances - 1):010d}",
                                tenant=console_data.TENANT)  # fmt: skip
    return {
        "journal_instances": instances,
        "rows_added": instances * HISTORY,
        "insert_seconds": inserted,
        "settle_seconds": settled,
        "rows_per_s": instances * HISTORY / inserted if inserted else 0.0,
        "verify_ok": checked.ok,
    }


def warm_cache(url: str) -> dict[str, Any]:
    """Read every relation a send, a timer or a step touches into the operating system's
    page cache (`pg_prewarm` in `read` mode): every table but `audit` (a send only appends
    to its last pages) and every index, the audit table's included. A store in service
    keeps its working set cached; a bulk load of history evicts it. Returns what was read
    and how long it took."""
    began = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        relations = connection.execute(
            "SELECT c.oid::regclass::text FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'i')"
            " AND c.relname <> 'audit' ORDER BY c.relname"
        ).fetchall()
        blocks = 0
        for (name,) in relations:
            row = connection.execute("SELECT pg_prewarm(%s::regclass, 'read')", [name]).fetchone()
            blocks += int(row[0]) if row else 0
    return {"warmed_relations": len(relations), "warmed_gib": blocks * 8192 / 2**30,
            "seconds": time.perf_counter() - began}  # fmt: skip


class Run:
    """The rows measured so far, written to `json_path` after each one."""

    def __init__(self, json_path: Path | None, notes: dict[str, Any]) -> None:
        self.rows: list[Row] = []
        self.json_path = json_path
        self.notes = notes
        self.began = time.perf_counter()

    def note(self, text: str) -> None:
        """Progress, with the minutes since the start."""
        print(f"[{(time.perf_counter() - self.began) / 60:6.1f} min] {text}", flush=True)

    def add(self, row: Row) -> None:
        """Keep a row and rewrite the JSON file."""
        self.rows.append(row)
        ratio = row.latency.p50_ratio
        self.note(f"{row.database} at {row.size:,} ({row.audit_rows:,} audit rows): send p50 "
                  f"{row.latency.p50_us:.0f} µs ({ratio:.2f} of the reference), timers/s "
                  f"{row.timers_per_s:.0f} (ref {row.reference_timers_per_s:.0f}), steps/s "
                  f"{row.steps_per_s:.0f} (ref {row.reference_steps_per_s:.0f})")  # fmt: skip
        if self.json_path is not None:
            data = {"machine": self.notes, "rows": [asdict(r) for r in self.rows]}
            self.json_path.write_text(json.dumps(data, indent=1))


def measure_all(
    run: Run,
    database: Database,
    size: int,
    audit_rows: int,
    reference_size: int,
    budget: Budget,
    seeded: float,
    rng: random.Random,
    notes: dict[str, Any] | None = None,
) -> None:
    """Send latency, then worker rates, on each setting of `database` at `size`."""  # fmt: skip
    latencies = durable_latency.measure(database, size, reference_size, budget.samples,
                                        seeded, rng)  # fmt: skip
    stored = database_bytes(database.urls[0][0])
    for latency, urls in zip(latencies, database.urls, strict=True):
        setting = latency.database.split()[-1].lower()  # postgresql, full, normal
        stage = "-warmed" if notes and "warmed_gib" in notes else "-history" if notes else ""
        label = f"w{size}{stage}-{setting}"
        rates = worker_rates(urls, label, budget)
        run.add(Row(latency.database, size, audit_rows, latency, *rates, seed_seconds=seeded,
                    database_bytes=stored, notes=dict(notes or {})))  # fmt: skip


def scale(
    run: Run,
    database: Database,
    sizes: Sequence[int],
    audit_rows: int,
    audit_at: int,
    budget: Budget,
    folder: Path,
    warm: bool = True,
) -> None:
    """Grow `database` through `sizes`, measuring at each; on PostgreSQL, once at `audit_at`
    instances, load history up to `audit_rows` and measure again (the history stays for the
    larger sizes), then, with `warm`, once more after `warm_cache`."""  # fmt: skip
    rng = random.Random(20261205)
    database.reference.grow(database.reference_template, 1, sizes[0], rng)
    have = 1
    history = 0
    for size in sizes:
        run.note(f"{database.names[0]}: growing to {size:,} instances, "
                 f"{shutil.disk_usage(folder).free / 2**30:.0f} GiB free")  # fmt: skip
        began = time.perf_counter()
        for low in range(have, size, GROW_STEP):
            if shutil.disk_usage(folder).free < DISK_MARGIN:
                run.note(f"  stopped at {low:,}: less than {DISK_MARGIN / 2**30:.0f} GiB free")
                return
            database.grow.grow(database.template, low, min(size, low + GROW_STEP), rng)
            if (low - have) // GROW_STEP % 4 == 3:
                done, seconds = min(size, low + GROW_STEP) - have, time.perf_counter() - began
                run.note(f"  {done:,} seeded in {seconds:.0f} s ({done / seconds:,.0f}/s)")
        if database.names == ["PostgreSQL"]:
            # The copies' state-count changes wait for a worker's heartbeat to fold them:
            # fold them now, as a running worker would have, so the first timed worker
            # does not.
            console_data.copy_postgres(database.urls[0][0], {}, settle=True)
        seeded = time.perf_counter() - began
        if size > have:
            run.note(f"  seeded {size - have:,} in {seeded:.0f} s "
                     f"({(size - have) / seeded:,.0f} instances/s)")  # fmt: skip
        have = max(have, size)
        measure_all(run, database, size, 3 * size + history, sizes[0], budget, seeded, rng)
        if size == audit_at and audit_rows > 3 * size and database.names == ["PostgreSQL"]:
            run.note(f"PostgreSQL: loading history up to {audit_rows:,} audit rows, "
                     f"{shutil.disk_usage(folder).free / 2**30:.0f} GiB free")  # fmt: skip
            loaded = load_history(database.urls[0][0], audit_rows, 3 * size, run.note, folder)
            run.note(f"  loaded: {loaded}")
            history = HISTORY + loaded["rows_added"]
            measure_all(run, database, size, 3 * size + history, sizes[0], budget,
                        loaded["insert_seconds"], rng, loaded)  # fmt: skip
            if warm:
                run.note("PostgreSQL: warming the page cache (every table but the audit "
                         "heap, every index)")  # fmt: skip
                warmed = warm_cache(database.urls[0][0])
                run.note(f"  warmed: {warmed}")
                measure_all(run, database, size, 3 * size + history, sizes[0], budget,
                            warmed["seconds"], rng, {**loaded, **warmed})  # fmt: skip


def table(rows: Sequence[Row]) -> str:
    """Markdown: one line per database setting and size."""
    lines = [
        "| database | stored instances | audit rows | send p50 / p99 µs | p50 ÷ reference "
        "| timers/s (÷ reference) | steps/s (÷ reference) | seeding s | on disk |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lat = row.latency
        lines.append(
            f"| {row.database}{', cache warmed' if 'warmed_gib' in row.notes else ''} "
            f"| {row.size:,} | {row.audit_rows:,} "
            f"| {lat.p50_us:.0f} / {lat.p99_us:.0f} | {lat.p50_ratio:.2f} "
            f"| {row.timers_per_s:.0f} ({_ratio(row.timers_per_s, row.reference_timers_per_s)}) "
            f"| {row.steps_per_s:.0f} ({_ratio(row.steps_per_s, row.reference_steps_per_s)}) "
            f"| {row.seed_seconds:.0f} | {row.database_bytes / 2**30:.1f} GiB |"
        )
    return "\n".join(lines)


def load_rows(paths: Sequence[Path]) -> list[Row]:
    """The rows of earlier runs' `--json` files."""
    rows = []
    for path in paths:
        for data in json.loads(path.read_text())["rows"]:
            latency = Latency(**data.pop("latency"))
            rows.append(Row(latency=latency, **data))
    return rows


def _ratio(value: float, reference: float) -> str:
    return f"{value / reference:.2f}" if reference else "-"


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.scale",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 1k and 20k instances, 200k audit rows, small budgets",
    )
    parser.add_argument(
        "--sizes", help="stored instances, comma-separated (default 1000,1000000,10000000)"
    )
    parser.add_argument(
        "--audit-rows",
        type=int,
        help="PostgreSQL: fill the audit table up to this many rows after the "
        "largest size, then measure again (default 100000000; 0 skips)",
    )
    parser.add_argument(
        "--audit-at",
        type=int,
        help="the size at which the history is loaded (default the largest)",
    )
    parser.add_argument(
        "--databases",
        default="sqlite,postgres",
        help="sqlite and/or postgres, comma-separated (default both)",
    )
    parser.add_argument(
        "--no-warm",
        action="store_true",
        help="PostgreSQL: do not measure a third time, after warming the page cache, "
        "once the history is loaded",
    )
    parser.add_argument("--samples", type=int, help="sends timed per measurement")
    parser.add_argument("--workers", type=int, help="worker processes (default 1)")
    parser.add_argument(
        "--folder", type=Path, help="where the SQLite files go (default a temp folder, removed)"
    )
    parser.add_argument(
        "--report",
        type=Path,
        nargs="+",
        metavar="JSON",
        help="print the table of earlier runs' --json files and exit",
    )
    parser.add_argument(
        "--json", type=Path, metavar="PATH", help="write the rows here, after each measurement"
    )
    return parser.parse_args(argv)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if args.report:
        print(table(load_rows(args.report)))
        return 0
    budget = QUICK if args.quick else FULL
    if args.samples or args.workers:
        budget = Budget(args.samples or budget.samples, budget.timers, budget.steps,
                        budget.turns, args.workers or budget.workers, budget.poll_ms)  # fmt: skip
    default = "1000,20000" if args.quick else "1000,1000000,10000000"
    sizes = sorted(int(size) for size in (args.sizes or default).split(","))
    audit_rows = args.audit_rows
    if audit_rows is None:
        audit_rows = 200_000 if args.quick else 100_000_000
    audit_at = args.audit_at or sizes[-1]
    if audit_at not in sizes:
        raise SystemExit(f"--audit-at {audit_at} is not one of --sizes {sizes}")
    wanted = {name.strip() for name in args.databases.split(",")}
    unknown = wanted - {"sqlite", "postgres"}
    if unknown:
        raise SystemExit(f"--databases: unknown {sorted(unknown)}; use sqlite and/or postgres")
    with ExitStack() as stack:
        folder = args.folder or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        folder.mkdir(parents=True, exist_ok=True)
        postgres_urls = None
        if "postgres" in wanted:
            # A bulk load writes more WAL between checkpoints than the default 1 GB allows.
            settings = (*durable.POSTGRES_SETTINGS, "max_wal_size=8GB")
            stack.enter_context(mock.patch.object(durable, "POSTGRES_SETTINGS", settings))
            server = stack.enter_context(durable.durable_postgres())
            postgres_urls = (server.create_database("scale"),
                             server.create_database("scale_reference"))  # fmt: skip
        notes = machine_notes(postgres_urls[0] if postgres_urls else None)
        notes.update(sizes=str(sizes), audit_rows=str(audit_rows), audit_at=str(audit_at),
                     budget=str(budget))  # fmt: skip
        run = Run(args.json, notes)
        run.note(f"machine: {notes}")
        if "sqlite" in wanted:
            database = durable_latency.sqlite_database(folder)
            try:
                scale(run, database, sizes, audit_rows, audit_at, budget, folder)
            finally:
                database.close()
        if postgres_urls is not None:
            database = durable_latency.postgres_database(postgres_urls)
            try:
                scale(run, database, sizes, audit_rows, audit_at, budget, server.folder,
                      warm=not args.no_warm)  # fmt: skip
            finally:
                database.close()
        print(table(run.rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
