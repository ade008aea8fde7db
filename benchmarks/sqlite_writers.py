"""Several processes sending on one SQLite file: with the writers' turns, and without them.

    .venv/bin/python -m benchmarks.sqlite_writers                   # about two minutes
    .venv/bin/python -m benchmarks.sqlite_writers --processes 2 4 --seconds 5

Each process opens its own engine on the same file and sends `INC` to 20 counters of its
own, one send after another, as fast as it can, for `--seconds`; all start together. Per
setting: the sends per second of all the processes together, the slowest and fastest
process's share, and the latency of a send (p50, p99, the slowest). "turns" is the store as
it is (`store/sqlite/writer_lock.py`: every write transaction holds a lock file beside the
database); "SQLite's wait" is the same store with that lock file left out, so that writers
wait in SQLite's busy handler, which sleeps 1 to 100 ms between looks at the lock. The two
take turns setting by setting, in the same minutes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from benchmarks.durable_baselines import COUNTER
from benchmarks.together import run_together

#: One sending process: prints "ready" once its counters exist, sends from "go" on, then
#: prints its sends, failures and latencies (ms, sorted).
_SENDER = """
import json, os, sys, time
from statewright.engine import Engine
url, prefix, seconds, turns = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
if turns == "off":  # the store without its lock file: SQLite's busy handler alone
    import functools
    from statewright.store.sqlite import writer_lock
    writer_lock.WriterLock.__init__ = functools.partialmethod(
        writer_lock.WriterLock.__init__, across_processes=False)
engine = Engine.open(url)
ids = [f"{prefix}-{n}" for n in range(20)]
for instance_id in ids:
    engine.start("counter", instance_id=instance_id)
print("ready", flush=True)
sys.stdin.readline()
latencies, failed = [], 0
clock = time.perf_counter
until = clock() + seconds
while clock() < until:
    began = clock()
    try:
        engine.send(ids[len(latencies) % 20], {"type": "INC"})
    except Exception:
        failed += 1
    latencies.append((clock() - began) * 1e3)
engine.close()
print(json.dumps({"sends": len(latencies) - failed, "failed": failed,
                  "latencies": sorted(latencies)}), flush=True)
"""


def run(url: str, processes: int, seconds: float, turns: bool) -> list[dict[str, object]]:
    """Start `processes` senders on `url`, let them go together, and collect their reports."""
    side = "on" if turns else "off"
    argvs = [[url, f"p{n}", str(seconds), side] for n in range(processes)]
    return run_together(_SENDER, argvs, timeout_s=seconds + 60)


def row(
    level: str, processes: int, side: str, found: list[dict[str, object]], seconds: float
) -> str:
    """One Markdown row: totals, the processes' shares, latency, failures."""
    rates = sorted(int(str(r["sends"])) / seconds for r in found)
    latencies = sorted(x for r in found for x in r["latencies"])  # type: ignore[attr-defined]
    failed = sum(int(str(r["failed"])) for r in found)
    total = sum(rates)
    return (
        f"| {level} | {processes} | {side} | {total:,.0f} | {rates[0]:,.0f} - {rates[-1]:,.0f} "
        f"| {statistics.median(latencies):.2f} | {latencies[int(len(latencies) * 0.99)]:.2f} "
        f"| {latencies[-1]:.1f} | {failed} |"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.sqlite_writers", description=__doc__
    )
    parser.add_argument("--processes", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--levels", nargs="+", default=["FULL", "NORMAL"])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    print(
        "| synchronous | processes | writers | sends/s, all | sends/s, slowest - fastest process "
        "| p50 ms | p99 ms | slowest ms | failed |"
    )
    print("|---|---:|---|---:|---|---:|---:|---:|---:|")
    from statewright import Machine
    from statewright.engine import Engine

    with tempfile.TemporaryDirectory(prefix="sw-writers-") as folder:
        for level in args.levels:
            for processes in args.processes:
                for turns in (True, False):
                    name = f"{level}-{processes}-{'turns' if turns else 'wait'}.db"
                    url = f"sqlite:///{Path(folder) / name}?synchronous={level.lower()}"
                    with Engine.open(url) as engine:
                        engine.register(Machine.from_config(COUNTER))
                    found = run(url, processes, args.seconds, turns)
                    side = "turns" if turns else "SQLite's wait"
                    print(row(level, processes, side, found, args.seconds), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
