"""Sends (or starts) over HTTP, two versions of the server side by side: `serve` on this
tree's code and on another tree's `src` (run with it first on `PYTHONPATH`), loaded in turns.

    python -m benchmarks.http_pairs --other /tmp/old/src                # SQLite FULL
    python -m benchmarks.http_pairs --other /tmp/old/src --postgres --turns 8
    python -m benchmarks.http_pairs --other /tmp/old/src --serve='--root-path /statewright'
    python -m benchmarks.http_pairs --other /tmp/old/src --starts       # POST /api/v1/instances

On a shared machine the disk's and the cores' load moves a whole run of `benchmarks.http`
by more than a change of the server does. Here both servers run at once on one store (each
with the other idle), and each turn measures the engine's in-process sequential rate, then
16 clients (`http_load.py`, as `benchmarks.http`) on this tree's server, then on the other
(the order alternating from turn to turn), so that each pair meets the same load. Reported
per turn and as medians: sends/s, the rate over the turn's in-process sequential rate, and
each server's user and system CPU per send. `--serve` gives both servers the same `serve`
arguments. With `--starts`, each client starts instances (`{"definition": "counter"}` under
generated ids) instead, against the in-process sequential `Engine.start` rate.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from benchmarks import durable
from benchmarks.http import Budget, load, prepare, sequential, sequential_starts, serving

__all__ = ["main"]

CLIENTS = 16


def _cpu(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def one(
    pid: int, port: int, token: str, ids: list[list[str]], seconds: float, starts: bool = False
) -> list[float]:
    """One load of `CLIENTS` clients: sends (or starts) per s, user and system CPU ms each."""
    plan = {
        "probe": False,
        "start": "counter" if starts else None,
        "port": port,
        "token": token,
        "clients": ids,
        "warmup": 0.5,
        "seconds": seconds,
        "if_match": False,
    }
    user, system = _cpu(pid)
    result = load(plan)
    user_after, system_after = _cpu(pid)
    ok = int(str(result["ok"]))
    everything = max(1.0, ok * (seconds + 0.5) / seconds)  # the warm-up's at the timed rate
    return [
        ok / float(str(result["seconds"])),
        (user_after - user) / everything * 1000,
        (system_after - system) / everything * 1000,
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--other", required=True, help="the other tree's src folder")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL, not SQLite")
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=4.0, help="per load (default 4)")
    parser.add_argument("--serve", default="", help="`serve` arguments of both servers")
    parser.add_argument("--starts", action="store_true", help="starts instead of sends")
    args = parser.parse_args(argv)
    budget = Budget(seconds=args.seconds, warmup=0.5, sequential=1.5, turns=1)
    rows: dict[str, list[list[float]]] = {"this": [], "other": []}
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'pairs.db'}"
        if args.postgres:
            url = stack.enter_context(durable.durable_postgres()).url
        token, own, _ = prepare(url, CLIENTS)
        servers = {
            "this": stack.enter_context(serving(url, folder, args.serve.split())),
            "other": stack.enter_context(serving(url, folder, args.serve.split(), src=args.other)),
        }
        if args.starts:
            own = [["-"]] * CLIENTS
        for side in servers:  # warm both: connections, caches
            one(*servers[side], token, own, 1.0, args.starts)
        what = "starts" if args.starts else "sends"
        print(f"| turn | side | in-process sequential/s | {what}/s | ratio | user ms | sys ms |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for turn in range(args.turns):
            seq = (sequential_starts if args.starts else sequential)(url, budget)
            order = ["this", "other"] if turn % 2 == 0 else ["other", "this"]
            for side in order:
                rate, user, system = one(*servers[side], token, own, args.seconds, args.starts)
                rows[side].append([seq, rate, rate / seq, user, system])
                print(
                    f"| {turn + 1} | {side} | {seq:,.0f} | {rate:,.0f} | {rate / seq:.2f} | "
                    f"{user:.3f} | {system:.3f} |",
                    flush=True,
                )
    print()
    what = "starts" if args.starts else "sends"
    print(f"| side | median {what}/s | median ratio | median user + sys CPU ms per {what[:-1]} |")
    print("|---|---:|---:|---:|")
    for side, found in rows.items():
        rate = statistics.median(r[1] for r in found)
        ratio = statistics.median(r[2] for r in found)
        cpu = statistics.median(r[3] + r[4] for r in found)
        print(f"| {side} | {rate:,.0f} | {ratio:.2f} | {cpu:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
