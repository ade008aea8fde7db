"""How long a committed transition takes to reach a live-stream client of `statewright serve`.

    .venv/bin/python -m benchmarks.stream_latency            # SQLite and PostgreSQL, 100 each
    .venv/bin/python -m benchmarks.stream_latency --count 500 --poll 0.25

One `serve` process; this process commits sends through its own engine (another process, as
a worker would be) and reads the tenant stream; each latency is from the send's return (its
commit) to the event's arrival. SQLite streams poll (`--poll`); PostgreSQL's wake on the
NOTIFY sent after commits (at most one per 50 ms per process) or the poll.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from statewright.engine import Engine
from statewright.testing.postgres import TemporaryPostgres

FLOW = {
    "id": "flow",
    "initial": "a",
    "states": {"a": {"on": {"GO": "b"}}, "b": {"on": {"GO": "a"}}},
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def measure(url: str, count: int, poll: float) -> list[float]:
    """Latencies (seconds) of `count` sends from this process to a stream client."""
    with Engine.open(url) as engine:
        engine.register(FLOW)
        engine.start("flow", instance_id="i1", tenant="acme")
        _, secret = engine.create_token(tenant="acme", role="viewer")
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "statewright", "serve", "--url", url, "--port", str(port),
             "--stream-poll", str(poll)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{base}/api/health/live", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.05)
                if time.monotonic() > deadline:
                    raise SystemExit("serve did not start")
            return _run(engine, base, secret, count)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)


def _run(engine: Engine, base: str, secret: str, count: int) -> list[float]:
    arrived: dict[int, float] = {}
    ready = threading.Event()

    def read() -> None:
        headers = {"Authorization": f"Bearer {secret}"}
        with httpx.stream("GET", f"{base}/api/v1/stream", headers=headers, timeout=30) as stream:
            for line in stream.iter_lines():
                if line.startswith("retry:"):
                    ready.set()
                if line.startswith("data:"):
                    version = json.loads(line[5:])["version"]
                    arrived[version] = time.perf_counter()
                    if len(arrived) == count:
                        return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    ready.wait(10)
    time.sleep(0.3)  # the subscription is made just after the retry line is sent
    committed: dict[int, float] = {}
    for _ in range(count):
        entry = engine.send("i1", {"type": "GO"}, tenant="acme")
        committed[entry.seq] = time.perf_counter()
        time.sleep(0.02)
    reader.join(timeout=30)
    return [arrived[v] - committed[v] for v in committed if v in arrived]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--poll", type=float, default=0.25)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, TemporaryPostgres() as postgres:
        for name, url in (
            ("sqlite", f"sqlite:///{Path(folder) / 'stream.db'}"),
            ("postgresql", postgres.create_database("stream")),
        ):
            found = sorted(measure(url, options.count, options.poll))
            if not found:
                print(f"{name}: no event arrived")
                continue
            p50 = statistics.median(found) * 1000
            p99 = found[min(len(found) - 1, int(len(found) * 0.99))] * 1000
            print(
                f"{name}: {len(found)}/{options.count} events, commit to client "
                f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {found[-1] * 1000:.1f} ms "
                f"(poll {options.poll} s)"
            )


if __name__ == "__main__":
    main()
