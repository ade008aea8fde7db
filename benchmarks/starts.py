"""Starts in process: one thread against 16 threads, `start_many` and `start_async`.

    .venv/bin/python -m benchmarks.starts              # SQLite FULL and PostgreSQL, ~1 minute
    .venv/bin/python -m benchmarks.starts --quick      # smoke run
    .venv/bin/python -m benchmarks.starts --no-postgres --threads 16 --seconds 2 --turns 5

For each database (a SQLite file with the store's defaults, WAL and `synchronous=FULL`; a
throwaway PostgreSQL server committing durably, as in `benchmarks.durable`), each turn
times, back to back, starts of the counter of `durable.py` under generated ids:

1. one thread calling `Engine.start` in a loop (the sequential rate);
2. `--threads` threads calling `Engine.start` at once (their commits grouped by the
   engine's group commit, `engine/grouping.py`);
3. one thread calling `Engine.start_many` with batches of `--threads` starts (one
   transaction per batch, no thread woken or parked): what grouping as many starters can
   reach in one interpreter;
4. one event loop running `--threads` tasks, each awaiting `Engine.start_async` in a loop
   (the engine's start lane makes what they queued in batches with `start_many`).

Reported: starts per second (median over the turns) and each over the sequential rate of
the same turn, and this process's CPU per start (on PostgreSQL the client's only).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks.durable import COUNTER, durable_postgres
from benchmarks.group_commit import Timed, timed_threads
from statewright import Machine
from statewright.engine import Engine, StartRequest

__all__ = ["main"]

#: The names of the rows, in order.
SEQUENTIAL = "1 thread, start"
THREADS = "threads, start (group commit)"
BATCHED = "1 thread, start_many in batches"
ASYNC = "1 event loop's tasks, start_async"


def _starts(engine: Engine, thread: int, stop: float) -> int:
    done = 0
    while time.perf_counter() < stop:
        engine.start("counter")
        done += 1
    return done


def _batches(engine: Engine, size: int, thread: int, stop: float) -> int:
    done = 0
    requests = [StartRequest("counter")] * size
    while time.perf_counter() < stop:
        for outcome in engine.start_many(requests):
            if isinstance(outcome, BaseException):
                raise outcome
        done += size
    return done


def _tasks(engine: Engine, tasks: int, thread: int, stop: float) -> int:
    async def task() -> int:
        done = 0
        while time.perf_counter() < stop:
            await engine.start_async("counter")
            done += 1
        return done

    async def run() -> int:
        return sum(await asyncio.gather(*(task() for _ in range(tasks))))

    return asyncio.run(run())


def one_turn(engine: Engine, threads: int, seconds: float) -> dict[str, Timed]:
    """Every row's rate, back to back."""
    found = {SEQUENTIAL: timed_threads(1, seconds, lambda t, s: _starts(engine, t, s))}
    found[THREADS] = timed_threads(threads, seconds, lambda t, s: _starts(engine, t, s))
    found[BATCHED] = timed_threads(1, seconds, lambda t, s: _batches(engine, threads, t, s))
    found[ASYNC] = timed_threads(1, seconds, lambda t, s: _tasks(engine, threads, t, s))
    return found


def measure(url: str, threads: int, seconds: float, turns: int) -> list[dict[str, Timed]]:
    """The turns on `url`, after a warm-up; `verify` on a sample of what was started."""
    with Engine.open(url) as engine:
        engine.register(Machine.from_config(COUNTER))
        one_turn(engine, threads, 0.2)  # warm: prepared statements, the lanes' threads
        found = [one_turn(engine, threads, seconds) for _ in range(turns)]
        sample = engine.list(limit=50)
        bad = [i.id for i in sample if not engine.verify(i.id).ok]
        if bad:
            raise AssertionError(f"verify failed for {bad}")
    return found


def report(name: str, turns: list[dict[str, Timed]], threads: int) -> list[str]:
    lines = []
    for row in (SEQUENTIAL, THREADS, BATCHED, ASYNC):
        rate = statistics.median(turn[row].per_second for turn in turns)
        ratio = statistics.median(
            turn[row].per_second / turn[SEQUENTIAL].per_second for turn in turns
        )
        cpu = statistics.median(turn[row].cpu_us for turn in turns)
        label = row.replace("threads", f"{threads} threads").replace("tasks", f"{threads} tasks")
        lines.append(f"| {name} | {label} | {rate:,.0f} | {ratio:.2f} | {cpu:.0f} |")
    return lines


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.starts", description=__doc__)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=2.0, help="per rate timed")
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="0.3 s per rate, 1 turn")
    parser.add_argument("--no-postgres", action="store_true")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    seconds, turns = (0.3, 1) if args.quick else (args.seconds, args.turns)
    lines = [
        "| database | starters | starts/s | over 1 thread | CPU µs per start |",
        "|---|---|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        databases: list[tuple[str, Callable[[], str]]] = [
            ("SQLite FULL", lambda: f"sqlite:///{Path(tmp) / 'starts.db'}")
        ]
        if not args.no_postgres:
            databases.append(("PostgreSQL", lambda: stack.enter_context(durable_postgres()).url))
        for name, url in databases:
            print(f"{name} ...", file=sys.stderr, flush=True)
            lines += report(name, measure(url(), args.threads, seconds, turns), args.threads)
    print(f"cores: {os.cpu_count()}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
