"""What one outbox delivery costs a worker: claim, listener call and bookkeeping, per message.

    .venv/bin/python -m benchmarks.outbox_delivery                  # SQLite and PostgreSQL
    .venv/bin/python -m benchmarks.outbox_delivery --quick          # fewer, smaller runs
    .venv/bin/python -m benchmarks.outbox_delivery --backend sqlite --messages 5000
    .venv/bin/python -m benchmarks.outbox_delivery --against /path/to/other/src

`--messages` messages (emitted 100 per transition, before the clock starts) are drained by a
worker's `OutboxDelivery.deliver_due` in rounds of `--batch`, with one listener that does
nothing (its call still runs on the listener thread, under the policy's timeout). Reported:
µs per message delivered, per run (each run on a fresh database) and their median.

With `--against DIR`, runs alternate between this checkout's `src` and `DIR` (another
checkout's `src`, e.g. one exported from another branch), each in a process of its own on the
same database server, so that the two are compared on the same machine at the same time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from statewright import Machine
from statewright.engine import Engine
from statewright.runtime.outbox import OutboxDelivery, OutboxMessage

PER_SEND = 100
SRC = Path(__file__).resolve().parent.parent / "src"


def _machine() -> Machine:
    emits = [{"type": "emit", "params": {"event": {"type": "ping"}}}] * PER_SEND
    return Machine.from_config(
        {"id": "pings", "initial": "a", "states": {"a": {"on": {"GO": {"actions": emits}}}}}
    )


def measure(url: str, messages: int, batch: int) -> float:
    """µs per message to deliver `messages` at `url` (a fresh store) in rounds of `batch`."""
    with Engine.open(url) as engine:
        engine.register(_machine())
        for index in range(-(-messages // PER_SEND)):
            engine.start("pings", instance_id=f"i-{index}")
            engine.send(f"i-{index}", "GO")
        delivery = OutboxDelivery(engine)
        delivery.listen("ping", _nothing)
        delivered = 0
        started = time.perf_counter()
        while True:
            got = delivery.deliver_due(engine.store, engine.clock.now(), batch)
            if not got:
                break
            delivered += got
        elapsed = time.perf_counter() - started
    if delivered != -(-messages // PER_SEND) * PER_SEND:
        raise SystemExit(f"delivered {delivered} messages, not {messages}")
    return elapsed / delivered * 1e6


def _nothing(message: OutboxMessage) -> None:
    """A listener that does nothing."""


def _urls(backend: str, runs: int, server: object) -> list[str]:
    if backend == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="statewright-outbox-bench-"))
        return [f"sqlite:///{folder}/run-{run}.db" for run in range(runs)]
    return [server.create_database(f"outbox_{run}") for run in range(runs)]  # type: ignore[attr-defined]


def _one_run(url: str, args: argparse.Namespace, src: Path) -> float:
    """One measurement in a process of its own, importing statewright from `src`."""
    command = [sys.executable, "-m", "benchmarks.outbox_delivery", "--url", url]
    command += ["--messages", str(args.messages), "--batch", str(args.batch)]
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{SRC.parent}"}
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, check=True, cwd=SRC.parent
    )
    return float(done.stdout.split()[-1])


def _report(backend: str, label: str, results: list[float]) -> None:
    runs = " ".join(f"{value:.0f}" for value in results)
    print(
        f"{backend:10} {label:10} median {statistics.median(results):6.0f} µs/message  "
        f"(runs: {runs})"
    )


def run(backend: str, args: argparse.Namespace, server: object) -> None:
    sources = [("this", SRC)] + ([("against", Path(args.against))] if args.against else [])
    urls = iter(_urls(backend, args.runs * len(sources), server))
    results: dict[str, list[float]] = {label: [] for label, _ in sources}
    for _ in range(args.runs):  # alternating, so that both see the same load
        for label, src in sources:
            url = next(urls)
            value = _one_run(url, args, src) if args.against else measure(url, *_sizes(args))
            results[label].append(value)
    for label, _ in sources:
        _report(backend, label, results[label])


def _sizes(args: argparse.Namespace) -> tuple[int, int]:
    return args.messages, args.batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="3 runs of 1000 messages")
    parser.add_argument("--against", help="another checkout's src folder, run alternately")
    parser.add_argument("--url", help=argparse.SUPPRESS)  # one run, printed alone
    args = parser.parse_args()
    if args.quick:
        args.runs, args.messages = 3, 1000
    if args.url:
        print(f"{measure(args.url, *_sizes(args)):.1f}")
        return
    print(f"{args.messages} messages, batch {args.batch}, {args.runs} runs each, alternating")
    if args.backend in ("sqlite", "both"):
        run("sqlite", args, None)
    if args.backend in ("postgres", "both"):
        from statewright.testing.postgres import TemporaryPostgres

        with TemporaryPostgres() as server:
            run("postgres", args, server)


if __name__ == "__main__":
    main()
