"""What the web console asks of the API, with a small and a large store: the instances list
page's calls, an instance page's calls and the live stream's delivery delay.

    .venv/bin/python -m benchmarks.console                     # 1,000 and 20,000, SQLite
    .venv/bin/python -m benchmarks.console --full              # 1,000 and 1,000,000
    .venv/bin/python -m benchmarks.console --full --postgres   # also on PostgreSQL

For each size: a store made by `console_data.populate` (the examples' instances in sixteen
states, with their audit rows, timers, steps and outbox messages), then one real
`statewright serve` process on it (a subprocess on a free loopback port, as users run it) and
one `httpx` client with keep-alive, as a browser tab. Every call is timed round-robin
(`--rounds` rounds of each call in turn), each round on another instance or page, after
two untimed rounds. The stream: a client on `GET /api/v1/stream`, this process sends SUBMIT
to intake and approval drafts 50 ms apart; each delay is from the send's return (its commit) to the
event's arrival. Reported: p50 and p99 per call and size, and the large size's over the
small's (the target: at most 1.5).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from benchmarks.console_data import TENANT, Made, instance_id, populate
from statewright.engine import Engine
from statewright.engine.cursor import encode_cursor

Call = Callable[[httpx.Client, random.Random], httpx.Response]


def _filters(**given: str) -> dict[str, str | None]:
    names = ("definition_id", "status", "runtime_status", "state", "tag")
    return {"tenant": TENANT, **{name: given.get(name) for name in names}}


def calls(made: Made) -> dict[str, Call]:
    """The console's calls, each on a random instance or page of the store."""

    def any_id(rng: random.Random) -> str:
        return instance_id(rng.randrange(made.size))

    def get(path: str) -> Call:
        return lambda client, rng: client.get(path)

    def deep_page(client: httpx.Client, rng: random.Random) -> httpx.Response:
        after = any_id(rng)
        cursor = encode_cursor("instances", _filters(definition_id="order"), [after])
        return client.get(f"/api/v1/instances?definition=order&limit=50&cursor={cursor}")

    def instance(suffix: str) -> Call:
        return lambda client, rng: client.get(f"/api/v1/instances/{any_id(rng)}{suffix}")

    return {
        "list": get("/api/v1/instances?limit=50"),
        "list definition=order": get("/api/v1/instances?definition=order&limit=50"),
        "list state=pending_approval (5%)": get(
            "/api/v1/instances?definition=order&state=pending_approval&limit=50"
        ),
        "list state=payment_failed (0.2%)": get(
            "/api/v1/instances?definition=order&state=payment_failed&limit=50"
        ),
        "list runtime_status=waiting": get("/api/v1/instances?runtime_status=waiting&limit=50"),
        "list tag=needs-human": get("/api/v1/instances?tag=needs-human&limit=50"),
        "list later page (cursor)": deep_page,
        "state-counts definition=order": get("/api/v1/state-counts?definition=order"),
        "state-counts definition=intake": get("/api/v1/state-counts?definition=intake"),
        "instance": instance(""),
        "instance history": instance("/history"),
        "instance accepted": instance("/accepted"),
        "instance steps": instance("/steps"),
        "instance timers": instance("/timers"),
    }


@contextmanager
def serving(url: str) -> Iterator[str]:
    """A `statewright serve` process on `url`; its base URL."""
    with Engine.open(url) as engine:
        _, secret = engine.create_token(tenant=TENANT, role="viewer", name="console-bench")
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "statewright",
            "serve",
            "--url",
            url,
            "--port",
            str(port),
            "--rate",
            "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "SW_BENCH_TOKEN": secret},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/health/live", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
            if time.monotonic() > deadline:
                raise SystemExit("serve did not start")
        yield f"{base}\n{secret}"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def time_calls(base: str, secret: str, made: Made, rounds: int) -> dict[str, list[float]]:
    """Seconds per request of each call, round-robin."""
    rng = random.Random(7)
    table = calls(made)
    found: dict[str, list[float]] = {name: [] for name in table}
    headers = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        for turn in range(rounds + 2):
            for name, call in table.items():
                began = time.perf_counter()
                response = call(client, rng)
                took = time.perf_counter() - began
                if response.status_code != 200:
                    raise SystemExit(f"{name}: {response.status_code} {response.text[:300]}")
                if turn >= 2:
                    found[name].append(took)
    return found


def stream_delays(url: str, base: str, secret: str, made: Made, count: int) -> list[float]:
    """Seconds from a committed send to its arrival on the tenant stream."""
    drafts = [*made.ranges["intake-draft"], *made.ranges["approval-new"]]  # both take SUBMIT
    count = min(count, len(drafts))
    arrived: dict[str, float] = {}
    ready = threading.Event()
    wanted = count

    def read() -> None:
        headers = {"Authorization": f"Bearer {secret}"}
        with httpx.stream("GET", f"{base}/api/v1/stream", headers=headers, timeout=60) as stream:
            for line in stream.iter_lines():
                if line.startswith("retry:"):
                    ready.set()
                if line.startswith("data:"):
                    data = json.loads(line[5:])
                    arrived[data["instance_id"]] = time.perf_counter()
                    if len(arrived) >= wanted:
                        return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    ready.wait(30)
    time.sleep(0.5)
    committed: dict[str, float] = {}
    with Engine.open(url) as engine:
        for _ in range(count):
            target = instance_id(drafts.pop())
            engine.send(target, {"type": "SUBMIT"}, tenant=TENANT)
            committed[target] = time.perf_counter()
            time.sleep(0.05)
    reader.join(timeout=30)
    return [arrived[i] - committed[i] for i in committed if i in arrived]


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p99 * 1000


def measure(url: str, size: int, rounds: int, sends: int) -> dict[str, tuple[float, float]]:
    """p50/p99 (ms) per call on a store of `size` instances at `url`."""
    made = populate(url, size)
    print(f"  {made.size:,} instances made in {made.seconds:.1f} s", flush=True)
    with serving(url) as found:
        base, secret = found.split("\n")
        times = time_calls(base, secret, made, rounds)
        times["stream: commit to client"] = stream_delays(url, base, secret, made, sends)
    return {name: percentiles(samples) for name, samples in times.items() if samples}


def report(database: str, sizes: list[int], results: list[dict[str, tuple[float, float]]]) -> None:
    """One table: per call, p50/p99 at each size and the largest over the smallest."""
    small, large = results[0], results[-1]
    head = " | ".join(f"{s:,} p50 / p99 ms" for s in sizes)
    print(f"\n{database}\n| call | {head} | p50 ratio | p99 ratio |")
    print("|---|" + "---:|" * (len(sizes) + 2))
    for name in small:
        cells = " | ".join(f"{r[name][0]:.1f} / {r[name][1]:.1f}" for r in results)
        ratios = (large[name][0] / small[name][0], large[name][1] / small[name][1])
        print(f"| {name} | {cells} | {ratios[0]:.2f} | {ratios[1]:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,20000", help="store sizes, comma-separated")
    parser.add_argument("--full", action="store_true", help="sizes 1000 and 1000000")
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--rounds", type=int, default=100, help="timed requests per call")
    parser.add_argument("--sends", type=int, default=40, help="stream delays measured")
    options = parser.parse_args()
    sizes = [1000, 1_000_000] if options.full else [int(s) for s in options.sizes.split(",")]
    if not options.no_sqlite:
        results = []
        for size in sizes:
            print(f"sqlite, {size:,} instances", flush=True)
            with tempfile.TemporaryDirectory() as folder:
                url = f"sqlite:///{Path(folder) / 'console.db'}"
                results.append(measure(url, size, options.rounds, options.sends))
        report("SQLite", sizes, results)
    if options.postgres:
        from statewright.testing.postgres import TemporaryPostgres

        results = []
        with TemporaryPostgres() as server:
            for size in sizes:
                print(f"postgresql, {size:,} instances", flush=True)
                url = server.create_database(f"console{size}")
                results.append(measure(url, size, options.rounds, options.sends))
        report("PostgreSQL", sizes, results)


if __name__ == "__main__":
    main()
