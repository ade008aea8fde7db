"""What group commit's hand-offs cost without a database: 16 threads through one engine on a
store that keeps rows in a dict and whose commit is a pause that gives the interpreter up
(as a flush to disk does), against one thread on the same store.

    .venv/bin/python -m benchmarks.group_commit_floor                  # flushes of 100 and 300 µs
    .venv/bin/python -m benchmarks.group_commit_floor --flush-us 50 --turns 5

Each turn times one thread sending, then `--threads` threads sending at once (each to 50
counters of its own: `benchmarks.group_commit.Senders`), `--seconds` each, and reports
their rates and this process's CPU per send. With no SQL and no disk, the difference in
CPU per send between the two is what parking, waking and passing the interpreter lock on
cost a send: the part of `benchmarks.group_commit`'s CPU per send that grouping adds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from typing import cast

from benchmarks.durable import MemoryStore
from benchmarks.group_commit import Senders, Timed
from statewright.engine import Engine
from statewright.store.protocol import Store
from statewright.store.records import TransitionWrite


class FlushingStore(MemoryStore):
    """The dict store, each commit (alone or of a group) first pausing `flush_s` without the
    interpreter lock, as a flush to disk does. One group commits at a time, as on SQLite."""

    group_commit_leaders = 1

    def __init__(self, flush_s: float) -> None:
        super().__init__()
        self.flush_s = flush_s

    def commit_transition(self, write: TransitionWrite) -> None:
        time.sleep(self.flush_s)
        super().commit_transition(write)

    def commit_transitions(
        self, writes: Sequence[TransitionWrite], *, before_commit: Callable[[], None] | None = None
    ) -> list[None]:
        if before_commit is not None:
            before_commit()
        time.sleep(self.flush_s)
        for write in writes:
            super().commit_transition(write)
        return [None] * len(writes)


def turns(flush_us: float, threads: int, seconds: float, count: int) -> list[tuple[Timed, Timed]]:
    """`count` turns of (one thread, `threads` threads) on a fresh engine."""
    engine = Engine(cast(Store, FlushingStore(flush_us / 1e6)))
    senders = Senders(engine, threads=threads, tag="t")
    try:
        senders.rate(threads, seconds / 4)  # warm-up
        found = [(senders.rate(1, seconds), senders.rate(threads, seconds)) for _ in range(count)]
        senders.check()
    finally:
        senders.close()
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.group_commit_floor", description=__doc__
    )
    parser.add_argument("--flush-us", type=float, nargs="*", default=[100.0, 300.0])
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--turns", type=int, default=3)
    args = parser.parse_args(argv)
    print(
        f"| flush | 1 thread: sends/s | CPU µs per send | {args.threads} threads: sends/s | "
        f"CPU µs per send | {args.threads} / 1 |\n|---:|---:|---:|---:|---:|---:|",
        flush=True,
    )
    for flush_us in args.flush_us:
        found = turns(flush_us, args.threads, args.seconds, args.turns)
        one = [pair[0] for pair in found]
        many = [pair[1] for pair in found]
        ratio = statistics.median(m.per_second / o.per_second for o, m in found)
        print(
            f"| {flush_us:g} µs | {statistics.median(o.per_second for o in one):,.0f} | "
            f"{statistics.median(o.cpu_us for o in one):.0f} | "
            f"{statistics.median(m.per_second for m in many):,.0f} | "
            f"{statistics.median(m.cpu_us for m in many):.0f} | {ratio:.2f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
