"""Processes taking turns at SQLite's writer lock, with and without the waiter's spin.

    .venv/bin/python -m benchmarks.writer_turns                  # about a minute
    .venv/bin/python -m benchmarks.writer_turns --holds 40 --processes 2 --seconds 5

The lock alone (`store/sqlite/writer_lock.py`), without SQLite: each process loops over
`--work` µs of busy CPU (a send's Python), then takes its turn and holds it for `hold` µs of
busy CPU (a write that does not flush; a long hold stands for one that does). Per setting,
the same code twice, in the same minute: as it is ("spin": a waiter keeps trying for
`SPIN_S` before it sleeps on the doorbell) and with `SPIN_S = 0` ("sleep": every waiter
sleeps and is woken by the writer that lets go). Reported: turns per second of all the
processes, the slowest and fastest process's share, and each wait for a turn (p50, p99, the
longest). At most one turn can be held at a time, so `1 / hold` bounds the rate.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from benchmarks.together import run_together

#: One process: takes turns from "go" on, then prints its turns and its waits (µs, sorted).
_TAKER = """
import json, sys, time
from statewright.store.sqlite import writer_lock
database, spin, hold, work, seconds = sys.argv[1], sys.argv[2], *map(float, sys.argv[3:])
if spin == "sleep":
    writer_lock.SPIN_S = 0.0
lock = writer_lock.WriterLock(database, 10.0)
print("ready", flush=True)
sys.stdin.readline()
clock = time.perf_counter
waits = []
until = clock() + seconds
while clock() < until:
    busy = clock() + work / 1e6
    while clock() < busy:
        pass
    asked = clock()
    with lock:
        given = clock()
        busy = given + hold / 1e6
        while clock() < busy:
            pass
    waits.append((given - asked) * 1e6)
print(json.dumps(sorted(waits)), flush=True)
"""


def run(processes: int, spin: str, hold: float, work: float, seconds: float) -> list[list[float]]:
    """Start `processes` takers on one lock file, let them go together, collect their waits."""
    with tempfile.TemporaryDirectory(prefix="sw-turns-") as folder:
        argv = [str(Path(folder) / "turns.db"), spin, str(hold), str(work), str(seconds)]
        return run_together(_TAKER, [argv] * processes, timeout_s=seconds + 60)


def row(hold: float, processes: int, spin: str, found: list[list[float]], seconds: float) -> str:
    """One Markdown row."""
    shares = sorted(len(waits) / seconds for waits in found)
    waits = sorted(w for taker in found for w in taker)
    return (
        f"| {hold:.0f} | {processes} | {spin} | {sum(shares):,.0f} "
        f"| {shares[0]:,.0f} - {shares[-1]:,.0f} | {statistics.median(waits):.0f} "
        f"| {waits[int(len(waits) * 0.99)]:,.0f} | {waits[-1] / 1000:.1f} |"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.writer_turns", description=__doc__)
    parser.add_argument("--holds", type=float, nargs="+", default=[10.0, 40.0, 300.0])
    parser.add_argument("--work", type=float, default=25.0, help="µs of CPU between turns")
    parser.add_argument("--processes", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args(argv)
    print(
        "| hold µs | processes | waiter | turns/s, all | turns/s, slowest - fastest process "
        "| wait p50 µs | wait p99 µs | longest wait ms |"
    )
    print("|---:|---:|---|---:|---|---:|---:|---:|")
    for hold in args.holds:
        for processes in args.processes:
            for spin in ("spin", "sleep"):
                found = run(processes, spin, hold, args.work, args.seconds)
                print(row(hold, processes, spin, found, args.seconds), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
