"""Group commit's gain: 16 threads sending at once through one engine against one thread.

    .venv/bin/python -m benchmarks.group_commit              # about eight minutes
    .venv/bin/python -m benchmarks.group_commit --quick      # smoke run
    .venv/bin/python -m benchmarks.group_commit --threads 16 --seconds 2 --turns 5

For each database (SQLite FULL, SQLite NORMAL, PostgreSQL committing durably as in
production), two engines on the same database, one grouping the commits of concurrent
senders (the default) and one not (`Engine(..., group_commit=False)`). Each turn times, back
to back: one thread sending (the sequential rate), then `--threads` threads sending at once,
each to instances of its own (the counter of tests/acceptance/workload.py), first with the
grouping engine and then without it. The headline is each concurrent rate over the
sequential rate of the same engine in the same turn (the median over the turns); at the end
every instance's counter must equal the sends acknowledged to it.

Another shape of caller, timed in the same turns: one event loop running `--threads` asyncio
tasks, each sending to instances of its own through `Engine.send_async` (the engine's lane
thread sends what the tasks queued in batches with `send_many`). It is not 16 threads: the
senders are tasks of one thread, and the engine's work runs in one thread of the lane's.
Beside it, the same tasks as such an application sends without `send_async`: each send
through `asyncio.to_thread(engine.send, ...)` (the loop's default pool, grouped commits).

The most one interpreter can commit when grouping costs nothing, timed in the same turns:
one thread sending through `Engine.send_many` in batches of `--threads` (each batch decided
in that thread and committed in one transaction, no thread woken or parked). Threads share
one interpreter lock, so this batched rate over the sequential rate bounds what any
grouping of `--threads` senders in one process can gain; the column "of the batched rate"
shows how much of it the threads reach.

The column "CPU µs per send" is this process's CPU (user and system time of all its threads)
over the sends of the concurrent run: on SQLite the whole cost of a send, on PostgreSQL the
client's only (the server's backends are other processes).

The grouping again with the concurrent threads bound to one processor (`--one-cpu`, on
Linux with two or more): on a machine where waking a thread on an idle processor is dear,
what the grouping reaches without those wakes. Its one-thread rate runs unbound.

Beside them, in the same turns, the database's own answer to as many concurrent writers: the
raw transition of `durable_baselines` (versioned UPDATE + audit INSERT in one transaction,
the fastest way) from one thread, then from `--threads` threads each on a connection of its
own, on a file (SQLite, the same `synchronous`) or database (PostgreSQL) of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks import durable_baselines
from benchmarks.durable import COUNTER, INC, durable_postgres, engine_urls, source_version
from benchmarks.durable_baselines import Loop
from statewright import Machine
from statewright.engine import Engine
from statewright.engine.batch_sending import SendRequest

#: Instances each sending thread owns (the sequential thread owns as many).
PER_THREAD = 50
#: The name of the raw transitions' rows.
RAW = "raw transition, a connection per thread"
#: The name of the rows of one thread's batches through `send_many`.
BATCHED = "one thread, send_many in batches"
#: The name of the rows of one event loop's tasks sending through `send_async`.
ASYNC = "one event loop's tasks, send_async"
#: The name of the rows of the same tasks through `asyncio.to_thread(engine.send, ...)`.
TO_THREAD = "one event loop's tasks, asyncio.to_thread"
#: The name of the rows of group commit with the sending threads on one processor.
ONE_CPU = "group commit, the threads on one CPU"


@dataclass(frozen=True, slots=True)
class Timed:
    """What threads did in a timed run: the rate, and this process's CPU per unit of work
    (user and system time of every thread, `os.times`)."""

    per_second: float
    cpu_us: float


@dataclass(frozen=True, slots=True)
class Turn:
    """One turn's rates, sends per second, and the CPU per send of the concurrent run."""

    sequential: float
    concurrent: float
    concurrent_cpu_us: float


def _cpu_s() -> float:
    times = os.times()
    return times.user + times.system


def timed_threads(
    threads: int,
    seconds: float,
    work: Callable[[int, float], int],
    cpus: frozenset[int] | None = None,
) -> Timed:
    """Runs `work(thread, stop)` in `threads` threads let go at once (each works until
    `time.perf_counter()` passes `stop`, `seconds` after they are let go, and returns how
    much it did); the total done per second, and the CPU per unit done. With `cpus`, each
    thread runs only on those processors (`os.sched_setaffinity` of the thread itself)."""
    counts = [0] * threads
    go = threading.Barrier(threads + 1)
    stop = [0.0]  # set just before the threads are let go

    def run(thread: int) -> None:
        if cpus is not None:
            os.sched_setaffinity(0, cpus)  # 0: this thread (Linux)
        go.wait()
        counts[thread] = work(thread, stop[0])

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    cpu = _cpu_s()
    started = time.perf_counter()
    stop[0] = started + seconds
    go.wait()
    for worker in workers:
        worker.join()
    elapsed, cpu = time.perf_counter() - started, _cpu_s() - cpu
    done = sum(counts)
    return Timed(done / elapsed, cpu / done * 1e6 if done else 0.0)


class Senders:
    """One engine and its instances: `rate(threads, seconds)` sends from that many threads
    at once, each to instances of its own, and counts what was acknowledged."""

    def __init__(self, engine: Engine, *, threads: int, tag: str) -> None:
        self.engine = engine
        self.engine.register(Machine.from_config(COUNTER))
        self.ids = [
            [f"{tag}-{thread}-{index}" for index in range(PER_THREAD)] for thread in range(threads)
        ]
        for owned in self.ids:
            for instance_id in owned:
                self.engine.start("counter", instance_id=instance_id)
        self.acknowledged: dict[str, int] = {}

    def rate(self, threads: int, seconds: float) -> Timed:
        """Sends per second from `threads` threads sending until `seconds` have passed."""
        return timed_threads(threads, seconds, self._send)

    def _send(self, thread: int, stop: float) -> int:
        """`thread`'s sends, one by one, to its instances until `stop`; how many."""
        owned = self.ids[thread]
        done = 0
        while time.perf_counter() < stop:
            instance_id = owned[done % PER_THREAD]
            self.engine.send(instance_id, INC)
            self.acknowledged[instance_id] = self.acknowledged.get(instance_id, 0) + 1
            done += 1
        return done

    def check(self) -> None:
        """Every instance's counter is the number of sends acknowledged to it."""
        for owned in self.ids:
            for instance_id in owned:
                got = self.engine.get(instance_id).snapshot.context["n"]
                want = self.acknowledged.get(instance_id, 0)
                if got != want:
                    raise AssertionError(f"{instance_id}: counter {got}, acknowledged {want}")

    def close(self) -> None:
        self.engine.close()


class BatchedSenders(Senders):
    """`Senders` whose `rate(threads, seconds)` with more than one thread is one thread
    sending through `Engine.send_many`, a batch of `threads` sends (one to an instance of
    each thread's) at a time: the grouping of as many senders, without the threads."""

    def rate(self, threads: int, seconds: float) -> Timed:
        if threads == 1:
            return super().rate(1, seconds)
        return timed_threads(1, seconds, functools.partial(self._send_batches, threads))

    def _send_batches(self, size: int, thread: int, stop: float) -> int:
        done = 0
        while time.perf_counter() < stop:
            ids = [self.ids[owner][(done // size) % PER_THREAD] for owner in range(size)]
            for instance_id, outcome in zip(
                ids, self.engine.send_many([SendRequest(i, INC) for i in ids]), strict=True
            ):
                if isinstance(outcome, BaseException):
                    raise outcome
                self.acknowledged[instance_id] = self.acknowledged.get(instance_id, 0) + 1
            done += size
        return done


class AsyncSenders(Senders):
    """`Senders` whose `rate(threads, seconds)` with more than one thread is one event loop
    (in one thread) running `threads` tasks, each sending to instances of its own through
    `Engine.send_async`: the engine's lane takes what the tasks queued in batches. A caller
    of another shape than the threads: one loop, no thread per sender."""

    def rate(self, threads: int, seconds: float) -> Timed:
        if threads == 1:
            return super().rate(1, seconds)
        return timed_threads(1, seconds, functools.partial(self._run_tasks, threads))

    def _run_tasks(self, tasks: int, thread: int, stop: float) -> int:
        async def task(owner: int) -> int:
            owned = self.ids[owner]
            done = 0
            while time.perf_counter() < stop:
                instance_id = owned[done % PER_THREAD]
                await self._send_one(instance_id)
                self.acknowledged[instance_id] = self.acknowledged.get(instance_id, 0) + 1
                done += 1
            return done

        async def main() -> int:
            return sum(await asyncio.gather(*(task(owner) for owner in range(tasks))))

        return asyncio.run(main())

    async def _send_one(self, instance_id: str) -> None:
        await self.engine.send_async(instance_id, INC)


class ToThreadSenders(AsyncSenders):
    """`AsyncSenders` whose tasks send as an application on asyncio does without
    `send_async`: `await asyncio.to_thread(engine.send, ...)`, a thread of the loop's
    default pool per send (at most `min(32, CPUs + 4)` at once), its commits grouped."""

    async def _send_one(self, instance_id: str) -> None:
        await asyncio.to_thread(self.engine.send, instance_id, INC)


class OneCpuSenders(Senders):
    """`Senders` whose `rate(threads, seconds)` with more than one thread runs those threads
    on one processor (`cpus`): the grouping without wake-ups from one processor to the
    other. The one-thread rate is not pinned: it is the sequential rate at its best."""

    def __init__(self, engine: Engine, *, threads: int, tag: str, cpus: frozenset[int]) -> None:
        super().__init__(engine, threads=threads, tag=tag)
        self.cpus = cpus

    def rate(self, threads: int, seconds: float) -> Timed:
        if threads == 1:
            return super().rate(1, seconds)
        return timed_threads(threads, seconds, self._send, self.cpus)


class RawSenders:
    """The database's raw transitions: `rate(threads, seconds)` runs them from that many
    threads, each on a connection of its own (made up front by `loops`)."""

    def __init__(self, loops: Callable[[int], list[Loop]], threads: int) -> None:
        self.loops = loops(threads)

    def rate(self, threads: int, seconds: float) -> Timed:
        """Raw transitions per second from `threads` threads until `seconds` have passed."""

        def run(thread: int, stop: float) -> int:
            loop = self.loops[thread]
            done = 0
            while time.perf_counter() < stop:
                loop(5)
                done += 5
            return done

        return timed_threads(threads, seconds, run)

    def check(self) -> None:
        """Nothing to check: each raw transition checks its own row count."""

    def close(self) -> None:
        """The connections close with the process."""


def sqlite_raw_loops(path: str, synchronous: str, threads: int) -> list[Loop]:
    """A raw transition loop per thread, each on a connection of its own to `path`."""
    return [
        durable_baselines.sqlite_raw_transition(
            durable_baselines.sqlite_connection(path, synchronous), f"t{thread}"
        )
        for thread in range(threads)
    ]


def postgres_raw_loops(url: str, threads: int) -> list[Loop]:
    """A raw transition loop per thread, each on a connection of its own to `url`."""
    durable_baselines.postgres_tables(url)
    return [durable_baselines.postgres_raw_transition(url, f"t{n}") for n in range(threads)]


def measure(
    url: str,
    raw: Callable[[int], list[Loop]],
    *,
    threads: int,
    seconds: float,
    turns: int,
    one_cpu: int | None = None,
) -> dict[str, list[Turn]]:
    """Turns of (sequential, concurrent) rates with and without group commit, and of the
    raw transitions (`raw(threads)`: a loop per thread); with `one_cpu`, also group commit's
    threads on that processor alone (`OneCpuSenders`)."""
    engines: dict[str, Senders | RawSenders] = {
        "group commit": Senders(Engine.open(url), threads=threads, tag="g"),
        "no group commit": Senders(Engine.open(url, group_commit=False), threads=threads, tag="n"),
        BATCHED: BatchedSenders(Engine.open(url), threads=threads, tag="b"),
        ASYNC: AsyncSenders(Engine.open(url), threads=threads, tag="a"),
        TO_THREAD: ToThreadSenders(Engine.open(url), threads=threads, tag="t"),
        RAW: RawSenders(raw, threads),
    }
    if one_cpu is not None:
        engines[ONE_CPU] = OneCpuSenders(
            Engine.open(url), threads=threads, tag="p", cpus=frozenset({one_cpu})
        )
    found: dict[str, list[Turn]] = {name: [] for name in engines}
    try:
        for senders in engines.values():  # warm-up: caches, prepared statements
            senders.rate(1, seconds / 4)
            senders.rate(threads, seconds / 4)
        for _ in range(turns):
            for name, senders in engines.items():
                sequential = senders.rate(1, seconds).per_second
                concurrent = senders.rate(threads, seconds)
                found[name].append(Turn(sequential, concurrent.per_second, concurrent.cpu_us))
        for senders in engines.values():
            senders.check()
    finally:
        for senders in engines.values():
            senders.close()
    return found


def report(name: str, found: dict[str, list[Turn]], threads: int) -> list[str]:
    """Markdown rows: each variant's median rates and its gain."""
    rows = []
    raw, batched = found[RAW], found[BATCHED]
    for variant, turns in found.items():
        sequential = statistics.median(t.sequential for t in turns)
        concurrent = statistics.median(t.concurrent for t in turns)
        gains = sorted(t.concurrent / t.sequential for t in turns)
        against_raw = statistics.median(
            t.concurrent / r.concurrent for t, r in zip(turns, raw, strict=True)
        )
        against_batched = statistics.median(
            t.concurrent / b.concurrent for t, b in zip(turns, batched, strict=True)
        )
        cpu_us = statistics.median(t.concurrent_cpu_us for t in turns)
        target = ""
        if variant in ("group commit", ONE_CPU) and name != "SQLite NORMAL":
            target = "met" if statistics.median(gains) >= 3 else "missed"
        rows.append(
            f"| {name} | {variant} | {sequential:,.0f} | {concurrent:,.0f} | "
            f"{statistics.median(gains):.2f} | {gains[0]:.2f}-{gains[-1]:.2f} | "
            f"{against_batched:.2f} | {against_raw:.2f} | {cpu_us:.0f} | {target} |"
        )
    return rows


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.group_commit", description=__doc__)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=2.0, help="per rate timed")
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="0.3 s per rate, 2 turns")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--one-cpu",
        type=int,
        default=None,
        metavar="CPU",
        help="the processor of the row 'threads on one CPU' (default: the first this process "
        "may use; -1: leave the row out; it needs Linux and two processors or more)",
    )
    return parser.parse_args(argv)


def one_cpu_of(asked: int | None) -> int | None:
    """The processor of the one-CPU rows: `asked`, or the first this process may use; None
    where the row means nothing (one processor, no `os.sched_setaffinity`, or -1)."""
    if asked == -1 or not hasattr(os, "sched_setaffinity"):
        return None
    usable = os.sched_getaffinity(0)
    if len(usable) < 2:
        return None
    if asked is None:
        return min(usable)
    if asked not in usable:
        raise SystemExit(f"--one-cpu {asked}: this process may use CPUs {sorted(usable)}")
    return asked


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    seconds, turns = (0.3, 2) if args.quick else (args.seconds, args.turns)
    one_cpu = one_cpu_of(args.one_cpu)
    header = [
        f"{args.threads} threads against 1, one engine each way, {turns} turns of {seconds:g} s "
        f"per rate, at {source_version()}",
        "",
        f"| database | engine | 1 thread: sends/s | {args.threads} threads: sends/s | "
        f"{args.threads} / 1 (median) | per turn | of the batched rate | "
        f"{args.threads} threads / raw's | CPU µs per send, {args.threads} threads | "
        "target >= 3 |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|---|",
    ]
    print("\n".join(header), flush=True)
    with tempfile.TemporaryDirectory(prefix="statewright-group-") as folder:
        if args.no_postgres:
            for name, url in engine_urls(Path(folder), None).items():
                raw = raw_of(name, Path(folder), None)
                found = measure(
                    url, raw, threads=args.threads, seconds=seconds, turns=turns, one_cpu=one_cpu
                )
                print("\n".join(report(name, found, args.threads)), flush=True)
            return 0
        with durable_postgres() as server:
            urls = engine_urls(Path(folder), server.create_database("group_commit"))
            raw_url = server.create_database("group_commit_raw")
            for name, url in urls.items():
                raw = raw_of(name, Path(folder), raw_url)
                found = measure(
                    url, raw, threads=args.threads, seconds=seconds, turns=turns, one_cpu=one_cpu
                )
                print("\n".join(report(name, found, args.threads)), flush=True)
    return 0


def raw_of(name: str, folder: Path, postgres_url: str | None) -> Callable[[int], list[Loop]]:
    """The raw transitions beside the engine of setting `name` (of `engine_urls`)."""
    if name.startswith("SQLite"):
        level = name.removeprefix("SQLite ")
        path = str(folder / f"raw-{level.lower()}.db")
        return functools.partial(sqlite_raw_loops, path, level)
    assert postgres_url is not None
    return functools.partial(postgres_raw_loops, postgres_url)


if __name__ == "__main__":
    raise SystemExit(main())
