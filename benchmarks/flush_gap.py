"""How a commit's flush depends on what the process does between commits.

    .venv/bin/python -m benchmarks.flush_gap                  # about a minute
    .venv/bin/python -m benchmarks.flush_gap --gaps 0 20 40 80 --turns 5

The raw transition of `durable_baselines` (a versioned UPDATE and an audit INSERT in one
SQLite transaction, WAL) runs with a fixed stretch of CPU work between two commits: a busy
loop of `gap` µs, as a send's own Python would be. With `synchronous=FULL` each commit waits
for the disk to flush the WAL; with `NORMAL` none does, so the same loop there shows what
the work alone costs. Every gap, on both levels, takes its turn in the same rounds.

The columns: µs per transition with the gap, the same less the gap, and FULL less NORMAL at
that gap (the flush). Where the disk flushes at one speed whatever came before, the flush
column stays flat. On a virtual disk whose host stops polling for requests after a short
idle spell, it grows with the gap, and a send that computes between commits pays for a
slower flush than the raw transition timed back to back: that is why `durable.py`'s
headline times the chart and the raw transition in one loop.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks import durable_baselines, durable_throughput
from benchmarks.durable_baselines import Loop

GAPS = (0, 10, 20, 40, 80, 160)
LEVELS = ("FULL", "NORMAL")


def with_gap(transition: Loop, gap_us: float) -> Loop:
    """`transition` one at a time, each after `gap_us` µs of busy CPU."""
    if gap_us == 0:
        return transition
    gap_s = gap_us / 1e6

    def loop(n: int) -> None:
        clock = time.perf_counter
        for _ in range(n):
            until = clock() + gap_s
            while clock() < until:
                pass
            transition(1)

    return loop


def measure(
    folder: Path, gaps: Sequence[float], turns: int, seconds: float
) -> dict[tuple[str, float], list[float]]:
    """µs per transition of every (level, gap), one entry per turn; each level on a file of
    its own, the loops of a turn taking their turns in an order rotated each turn."""
    loops: dict[tuple[str, float], Loop] = {}
    for level in LEVELS:
        connection = durable_baselines.sqlite_connection(str(folder / f"{level}.db"), level)
        transition = durable_baselines.sqlite_raw_transition(connection, "gap")
        transition(2000)  # warm: statements prepared, pages cached, the WAL grown
        for gap in gaps:
            loops[(level, gap)] = with_gap(transition, gap)
    found: dict[tuple[str, float], list[float]] = {key: [] for key in loops}
    order = list(loops)
    for turn in range(turns):
        for index in range(len(order)):
            key = order[(index + turn) % len(order)]
            done, spent = durable_throughput.run_for(loops[key], seconds, chunk=25)
            found[key].append(spent * 1e6 / done)
    return found


def table(found: dict[tuple[str, float], list[float]], gaps: Sequence[float]) -> str:
    """Markdown: per gap, FULL and NORMAL (median over the turns, and its range), less the
    gap, and the flush (FULL less NORMAL)."""
    lines = [
        "| CPU between commits µs | FULL µs per transition (range) | FULL less the gap "
        "| NORMAL µs (range) | NORMAL less the gap | flush: FULL less NORMAL |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for gap in gaps:
        full, normal = found[("FULL", gap)], found[("NORMAL", gap)]
        f, n = statistics.median(full), statistics.median(normal)
        lines.append(
            f"| {gap:g} | {f:.0f} ({min(full):.0f}-{max(full):.0f}) | {f - gap:.0f} "
            f"| {n:.0f} ({min(normal):.0f}-{max(normal):.0f}) | {n - gap:.0f} | {f - n:.0f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.flush_gap", description=__doc__)
    parser.add_argument("--gaps", type=float, nargs="+", default=list(GAPS), help="µs of CPU")
    parser.add_argument("--turns", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.5, help="per loop per turn")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sw-flush-gap-") as folder:
        found = measure(Path(folder), args.gaps, args.turns, args.seconds)
    print(table(found, args.gaps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
