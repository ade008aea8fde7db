"""What the web console asks of the API, with a small and a large store: the instances list
page's calls, an instance page's calls and the live stream's delivery delay.

    .venv/bin/python -m benchmarks.console                     # 1,000 and 20,000, SQLite
    .venv/bin/python -m benchmarks.console --full              # 1,000 and 1,000,000
    .venv/bin/python -m benchmarks.console --full --postgres   # also on PostgreSQL

For each size: a store made by `console_data.populate` (the examples' instances in sixteen
states, with their audit rows, timers, steps and outbox messages), then one real
`statewright serve` process on each store (subprocesses on free loopback ports, as users run
it; `--rate 0`, no rate limit) and one `httpx` client with keep-alive per server, as a
browser tab. Every call is timed round-robin (`--rounds` rounds of each call in turn, each
call on each store back to back, the order alternating), each round on another instance or
page, after two untimed rounds: load from other work on this shared machine falls on both
sizes alike. The stream: a client on each server's `GET /api/v1/stream`, this process sends
SUBMIT to intake and approval drafts of each store in turn, 50 ms apart; each delay is from
the send's return (its commit) to the event's arrival. Reported: p50 and p99 per call and
size, and the large size's over the small's (the target: at most 1.5).
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
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.console_data import TENANT, Made, instance_id, populate
from statewright.engine import Engine
from statewright.engine.cursor import encode_cursor

Call = Callable[[httpx.Client, random.Random], httpx.Response]
#: Per call: p50 and p99 in milliseconds.
Results = dict[str, tuple[float, float]]


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
        "list state=payment_failed limit=2": get(
            "/api/v1/instances?definition=order&state=payment_failed&limit=2"
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


@dataclass
class Store:
    """One store of the run: its URL, what was made in it, its server and secret."""

    url: str
    made: Made
    base: str = ""
    secret: str = ""


def time_calls(stores: list[Store], rounds: int) -> list[dict[str, list[float]]]:
    """Seconds per request of each call on each store: round-robin, the stores in turn
    for each call (first one, then the other), so that load falls on all alike."""
    rng = random.Random(7)
    tables = [calls(store.made) for store in stores]
    found: list[dict[str, list[float]]] = [{name: [] for name in t} for t in tables]
    with ExitStack() as stack:
        clients = [
            stack.enter_context(
                httpx.Client(
                    base_url=store.base,
                    headers={"Authorization": f"Bearer {store.secret}"},
                    timeout=120,
                )
            )
            for store in stores
        ]
        for turn in range(rounds + 2):
            for name in tables[0]:
                order = list(range(len(stores)))
                if turn % 2:
                    order.reverse()
                for index in order:
                    began = time.perf_counter()
                    response = tables[index][name](clients[index], rng)
                    took = time.perf_counter() - began
                    if response.status_code != 200:
                        raise SystemExit(f"{name}: {response.status_code} {response.text[:300]}")
                    if turn >= 2:
                        found[index][name].append(took)
                    elif turn == 0 and name.startswith("state-counts"):
                        # PostgreSQL: the first read folds in every change appended since
                        # the last fold; shown, not in the figures.
                        size = stores[index].made.size
                        print(f"  first {name} at {size:,}: {took * 1000:.0f} ms", flush=True)
    return found


def stream_delays(stores: list[Store], count: int) -> list[list[float]]:
    """Seconds from a committed send to its arrival on the tenant stream, per store; one
    send to each store in turn."""
    drafts = [[*s.made.ranges["intake-draft"], *s.made.ranges["approval-new"]] for s in stores]
    count = min(count, *(len(d) for d in drafts))  # intake and approval drafts take SUBMIT
    arrived: list[dict[str, float]] = [{} for _ in stores]
    ready = [threading.Event() for _ in stores]

    def read(index: int) -> None:
        store = stores[index]
        headers = {"Authorization": f"Bearer {store.secret}"}
        url = f"{store.base}/api/v1/stream"
        with httpx.stream("GET", url, headers=headers, timeout=60) as stream:
            for line in stream.iter_lines():
                if line.startswith("retry:"):
                    ready[index].set()
                if line.startswith("data:"):
                    arrived[index][json.loads(line[5:])["instance_id"]] = time.perf_counter()
                    if len(arrived[index]) >= count:
                        return

    readers = [threading.Thread(target=read, args=(i,), daemon=True) for i in range(len(stores))]
    for reader in readers:
        reader.start()
    for event in ready:
        event.wait(30)
    time.sleep(0.5)
    committed: list[dict[str, float]] = [{} for _ in stores]
    with ExitStack() as stack:
        engines = [stack.enter_context(Engine.open(store.url)) for store in stores]
        for _ in range(count):
            for index, engine in enumerate(engines):
                target = instance_id(drafts[index].pop())
                engine.send(target, {"type": "SUBMIT"}, tenant=TENANT)
                committed[index][target] = time.perf_counter()
                time.sleep(0.05)
    for reader in readers:
        reader.join(timeout=30)
    return [
        [arrived[n][i] - committed[n][i] for i in committed[n] if i in arrived[n]]
        for n in range(len(stores))
    ]


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p99 * 1000


def measure(urls: list[str], sizes: list[int], rounds: int, sends: int) -> list[Results]:
    """p50/p99 (ms) per call on a store of each size, measured in the same turns."""
    stores = []
    for url, size in zip(urls, sizes, strict=True):
        made = populate(url, size)
        print(f"  {made.size:,} instances made in {made.seconds:.1f} s", flush=True)
        stores.append(Store(url, made))
    with ExitStack() as stack:
        for store in stores:
            store.base, store.secret = stack.enter_context(serving(store.url)).split("\n")
        times = time_calls(stores, rounds)
        for found, delays in zip(times, stream_delays(stores, sends), strict=True):
            found["stream: commit to client"] = delays
    return [{name: percentiles(samples) for name, samples in t.items() if samples} for t in times]


def report(database: str, sizes: list[int], results: list[Results]) -> None:
    """One table: per call, p50/p99 at each size and the largest over the smallest."""
    small, large = results[0], results[-1]
    head = " | ".join(f"{s:,} p50 / p99 ms" for s in sizes)
    print(f"\n{database}\n| call | {head} | p50 ratio | p99 ratio |")
    print("|---|" + "---:|" * (len(sizes) + 2))
    for name in small:
        cells = " | ".join(f"{r[name][0]:.1f} / {r[name][1]:.1f}" for r in results)
        ratios = (large[name][0] / small[name][0], large[name][1] / small[name][1])
        print(f"| {name} | {cells} | {ratios[0]:.2f} | {ratios[1]:.2f} |", flush=True)


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
        print("sqlite", flush=True)
        with tempfile.TemporaryDirectory() as folder:
            urls = [f"sqlite:///{Path(folder) / f'console{size}.db'}" for size in sizes]
            report("SQLite", sizes, measure(urls, sizes, options.rounds, options.sends))
    if options.postgres:
        from statewright.testing.postgres import TemporaryPostgres

        print("postgresql", flush=True)
        with TemporaryPostgres() as server:
            urls = [server.create_database(f"console{size}") for size in sizes]
            report("PostgreSQL", sizes, measure(urls, sizes, options.rounds, options.sends))


if __name__ == "__main__":
    main()
