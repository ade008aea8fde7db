"""Every GET the web console makes (and the API's other reads), on a small and a large store,
timed in the same turns: the read side at scale.

    .venv/bin/python -m benchmarks.read_scale --quick                # 1,000 and 20,000, SQLite
    .venv/bin/python -m benchmarks.read_scale                        # 1,000 and 1,000,000
    .venv/bin/python -m benchmarks.read_scale --postgres --no-sqlite # the same on PostgreSQL
    .venv/bin/python -m benchmarks.read_scale --folder /tmp/rs --reuse   # keep / reuse stores

The stores are `console_data.populate`'s (the three examples' instances in sixteen states,
with their audit rows, timers, steps and outbox messages), then `add_operations` makes one
outbox message in a hundred a dead letter, one step run in fifty a retrying one with a
failed attempt kept, and registers three workers. The API runs in this process (`create_app`
over a real engine, served by uvicorn in a thread on a loopback port, no rate limit), one
`httpx` client with keep-alive per store and a viewer token. Every call is timed
round-robin: `--rounds` rounds of each call, each call on each store back to back, the order
alternating each round, after two untimed rounds, each round on another random instance or
page; so the load of a shared machine falls on both sizes alike. The stream's first message
is a reconnect with `Last-Event-ID` ten transitions back: the time to its first replayed
event. Reported: p50 and p99 per call and size and the large size's over the small's (the
target: p50 within 1.3x).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from benchmarks.console import percentiles, report
from benchmarks.console_data import TENANT, Made, instance_id, populate
from statewright.api import ApiSettings, create_app
from statewright.api.http_protocol import Protocol
from statewright.engine import Engine
from statewright.engine.cursor import encode_cursor
from statewright.store.records import WorkerRecord

Call = Callable[[httpx.Client, random.Random], httpx.Response]
#: Per call: p50 and p99 in milliseconds.
Results = dict[str, tuple[float, float]]
#: One outbox message in this many is made a dead letter, one step run in RETRYING_ONE_IN
#: a retrying one (with a failed attempt kept).
DEAD_ONE_IN = 100
RETRYING_ONE_IN = 50
#: A message id about two thirds into the outbox (copies of the shipped orders' message are
#: named after it and their instance id): where the later pages of the outbox lists start.
DEEP = "acme/tpl-order-shipped/4/0-8"


def add_operations(url: str) -> None:
    """Dead letters, retrying steps with a failed attempt each, and three workers."""
    now = int(time.time() * 1000)
    if url.startswith("sqlite"):
        import sqlite3

        db = sqlite3.connect(url.removeprefix("sqlite:///").split("?")[0], isolation_level=None)
        db.execute("BEGIN")
        db.execute(
            "UPDATE outbox SET status = 'dead', attempts = 10, last_error = 'ConnectError: refused'"
            f" WHERE rowid % {DEAD_ONE_IN} = 0"
        )
        db.execute(
            "UPDATE steps SET status = 'retrying', attempts = 2, last_error = 'TimeoutError'"
            f" WHERE rowid % {RETRYING_ONE_IN} = 0"
        )
        db.execute(
            "INSERT INTO step_attempts (tenant, instance_id, invoke_id, started_version, attempt,"
            " src, error_type, error_message, started_at, ended_at)"
            " SELECT tenant, instance_id, invoke_id, started_version, 1, src, 'TimeoutError',"
            " 'took too long', created_at, created_at + 1000 FROM steps"
            " WHERE status = 'retrying'"
        )
        db.execute("COMMIT")
        db.close()
    else:
        import psycopg

        from statewright.store.url import parse_postgres_url

        with psycopg.connect(parse_postgres_url(url).conninfo, autocommit=True) as db:
            with db.transaction():
                db.execute(
                    "UPDATE outbox SET status = 'dead', attempts = 10,"
                    " last_error = 'ConnectError: refused'"
                    f" WHERE abs(hashtext(message_id)) % {DEAD_ONE_IN} = 0"
                )
                db.execute(
                    "UPDATE steps SET status = 'retrying', attempts = 2,"
                    " last_error = 'TimeoutError'"
                    f" WHERE abs(hashtext(instance_id)) % {RETRYING_ONE_IN} = 0"
                )
                db.execute(
                    "INSERT INTO step_attempts (tenant, instance_id, invoke_id, started_version,"
                    " attempt, src, error_type, error_message, started_at, ended_at)"
                    " SELECT tenant, instance_id, invoke_id, started_version, 1, src,"
                    " 'TimeoutError', 'took too long', created_at, created_at + 1000 FROM steps"
                    " WHERE status = 'retrying'"
                )
            db.execute("VACUUM ANALYZE")
    with Engine.open(url) as engine:
        for n in range(3):
            engine.store.register_worker(
                WorkerRecord(
                    id=f"bench-worker-{n}",
                    host="bench",
                    pid=1000 + n,
                    steps=json.dumps(["charge", "process"]),
                    listeners=json.dumps(["order.*"]),
                    started_at=now,
                    heartbeat_at=now,
                )
            )


@dataclass
class Store:
    """One store of the run: its URL, what was made in it, its base URL and secret."""

    url: str
    made: Made
    base: str = ""
    secret: str = ""


def calls(made: Made) -> dict[str, Call]:
    """The calls, each on a random instance or page of the store."""

    def any_id(rng: random.Random) -> str:
        return instance_id(rng.randrange(made.size))

    def get(path: str) -> Call:
        return lambda client, rng: client.get(path)

    def next_page(path: str) -> Call:
        """The page after the first: the cursor the first page gave."""
        cursors: dict[int, str] = {}

        def call(client: httpx.Client, rng: random.Random) -> httpx.Response:
            key = id(client)
            if key not in cursors:
                cursors[key] = client.get(path).json()["next_cursor"]
            sep = "&" if "?" in path else "?"
            return client.get(f"{path}{sep}cursor={cursors[key]}")

        return call

    def later_page(client: httpx.Client, rng: random.Random) -> httpx.Response:
        return client.get(f"/api/v1/instances?limit=50&after={any_id(rng)}")

    def prefix(client: httpx.Client, rng: random.Random) -> httpx.Response:
        return client.get(f"/api/v1/instances?limit=50&id_prefix={any_id(rng)[:1]}")

    def instance(suffix: str) -> Call:
        return lambda client, rng: client.get(f"/api/v1/instances/{any_id(rng)}{suffix}")

    def later(
        path: str, kind: str, filters: dict[str, object], key: Callable[..., list[str]]
    ) -> Call:
        """A page deep in a tenant list: its cursor after `key(rng)`."""

        def call(client: httpx.Client, rng: random.Random) -> httpx.Response:
            cursor = encode_cursor(kind, {"tenant": TENANT, **filters}, key(rng))
            return client.get(f"{path}&cursor={cursor}")

        return call

    def dead_of_instance(client: httpx.Client, rng: random.Random) -> httpx.Response:
        return client.get(f"/api/v1/dead-letters?instance_id={any_id(rng)}")

    lists = "/api/v1/instances?limit=50"
    return {
        # The instances page: definitions, the list and its counts, per filter.
        "definitions": get("/api/v1/definitions"),
        "list": get(lists),
        "list next page (cursor)": next_page(lists),
        "list later page (after=id)": later_page,
        "list id_prefix (1 char)": prefix,
        "list definition=order": get(f"{lists}&definition=order"),
        "list status=active": get(f"{lists}&status=active"),
        "list status=done": get(f"{lists}&status=done"),
        "list runtime_status=waiting": get(f"{lists}&runtime_status=waiting"),
        "list runtime_status=retrying": get(f"{lists}&runtime_status=retrying"),
        "list state=pending_approval": get(f"{lists}&definition=order&state=pending_approval"),
        "list tag=needs-human": get(f"{lists}&tag=needs-human"),
        "list definition=intake status=active": get(f"{lists}&definition=intake&status=active"),
        "list definition=approval status=done": get(f"{lists}&definition=approval&status=done"),
        "list definition=intake runtime_status=running (none)": get(
            f"{lists}&definition=intake&runtime_status=running"
        ),
        "list definition=order status=error (none)": get(f"{lists}&definition=order&status=error"),
        "state-counts": get("/api/v1/state-counts"),
        "state-counts status=active": get("/api/v1/state-counts?status=active"),
        "state-counts definition=order": get("/api/v1/state-counts?definition=order"),
        "state-counts tag=needs-human": get("/api/v1/state-counts?tag=needs-human"),
        # The instance page.
        "instance": instance(""),
        "instance history": instance("/history"),
        "instance step-attempts": instance("/step-attempts"),
        "instance accepted": instance("/accepted"),
        "instance steps": instance("/steps?limit=1000"),
        "instance timers": instance("/timers?limit=1000"),
        "definition order": get("/api/v1/definitions/order?version=1"),
        "definition order diagram": get("/api/v1/definitions/order/diagram?version=1"),
        # The queues page (and its "More").
        "workers": get("/api/v1/workers"),
        "steps": get("/api/v1/steps?limit=100"),
        "steps next page": next_page("/api/v1/steps?limit=20"),
        "steps status=retrying": get("/api/v1/steps?status=retrying&limit=100"),
        "steps later page": later(
            "/api/v1/steps?limit=10", "steps", {"status": None}, lambda rng: [any_id(rng), ""]
        ),
        "timers": get("/api/v1/timers?limit=100"),
        "timers next page": next_page("/api/v1/timers?limit=20"),
        "timers later page": later(
            "/api/v1/timers?limit=10", "timers", {}, lambda rng: [any_id(rng), ""]
        ),
        "outbox": get("/api/v1/outbox?limit=100"),
        "outbox next page": next_page("/api/v1/outbox?limit=20"),
        "outbox later page": later("/api/v1/outbox?limit=100", "outbox", {}, lambda rng: [DEEP]),
        "dead-letters": get("/api/v1/dead-letters?limit=100"),
        "dead-letters limit=5": get("/api/v1/dead-letters?limit=5"),
        "dead-letters next page": next_page("/api/v1/dead-letters?limit=2"),
        "dead-letters later page": later(
            "/api/v1/dead-letters?limit=2",
            "dead_letters",
            {"instance_id": None, "event_type": None},
            lambda rng: [DEEP],
        ),
        "dead-letters instance_id=": dead_of_instance,
        # The service.
        "metrics": get("/api/metrics"),
        "health ready": get("/api/health/ready"),
    }


def first_replayed(client: httpx.Client, horizon: int) -> float:
    """Seconds from opening the tenant stream with `Last-Event-ID` ten transitions back to
    its first event."""
    began = time.perf_counter()
    headers = {"Last-Event-ID": str(max(0, horizon - 10))}
    with client.stream("GET", "/api/v1/stream", headers=headers) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                return time.perf_counter() - began
    raise SystemExit("the stream ended before its first event")


@contextmanager
def serving(url: str) -> Iterator[tuple[str, str]]:
    """The API over a real engine on `url`, served in this process; (base URL, secret)."""
    with Engine.open(url) as engine:
        _, secret = engine.create_token(tenant=TENANT, role="viewer", name="read-bench")
        app = create_app(engine, ApiSettings(rate=0))
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, http=Protocol, lifespan="off", log_config=None,
            access_log=False,
        )  # fmt: skip
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            while not server.started:
                if not thread.is_alive():
                    raise SystemExit("the API did not start")
                time.sleep(0.01)
            port = server.servers[0].sockets[0].getsockname()[1]
            yield f"http://127.0.0.1:{port}", secret
        finally:
            server.should_exit = True
            thread.join(30)


def stream_horizon(url: str) -> int:
    """The largest stream number of the store."""
    with Engine.open(url) as engine:
        return engine.stream_horizon()


def time_calls(stores: list[Store], rounds: int) -> list[dict[str, list[float]]]:
    """Seconds per request of each call on each store, round-robin (see the module)."""
    rng = random.Random(7)
    tables = [calls(store.made) for store in stores]
    names = [*tables[0], "stream first replayed event"]
    found: list[dict[str, list[float]]] = [{name: [] for name in names} for _ in stores]
    horizons = [stream_horizon(store.url) for store in stores]
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
            for name in names:
                order = list(range(len(stores)))
                if turn % 2:
                    order.reverse()
                for index in order:
                    if name == "stream first replayed event":
                        took = first_replayed(clients[index], horizons[index])
                    else:
                        began = time.perf_counter()
                        response = tables[index][name](clients[index], rng)
                        took = time.perf_counter() - began
                        if response.status_code != 200:
                            raise SystemExit(
                                f"{name}: {response.status_code} {response.text[:300]}"
                            )
                    if turn >= 2:
                        found[index][name].append(took)
    return found


def prepare(url: str, size: int, reuse: bool) -> Made:
    """The store at `url`: made (and given its operations) unless `reuse` finds it made."""
    marker = (
        Path(url.removeprefix("sqlite:///") + ".made.json") if url.startswith("sqlite") else None
    )
    if reuse and marker is not None and marker.exists():
        data = json.loads(marker.read_text())
        ranges = {name: range(low, high) for name, (low, high) in data["ranges"].items()}
        print(f"  reusing {data['size']:,} instances", flush=True)
        return Made(data["size"], ranges, 0.0)
    made = populate(url, size)
    add_operations(url)
    print(f"  {made.size:,} instances made in {made.seconds:.1f} s", flush=True)
    if marker is not None:
        ranges_json = {name: [r.start, r.stop] for name, r in made.ranges.items()}
        marker.write_text(json.dumps({"size": made.size, "ranges": ranges_json}))
    return made


def measure(urls: list[str], sizes: list[int], rounds: int, reuse: bool) -> list[Results]:
    """p50/p99 (ms) per call on a store of each size, measured in the same turns."""
    stores = [Store(url, prepare(url, size, reuse)) for url, size in zip(urls, sizes, strict=True)]
    with ExitStack() as stack:
        for store in stores:
            store.base, store.secret = stack.enter_context(serving(store.url))
        times = time_calls(stores, rounds)
    return [{name: percentiles(samples) for name, samples in t.items() if samples} for t in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes 1000 and 20000, 20 rounds")
    parser.add_argument("--sizes", help="store sizes, comma-separated (default 1000,1000000)")
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--rounds", type=int, help="timed requests per call (default 50)")
    parser.add_argument("--folder", type=Path, help="where the SQLite stores go (default temp)")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse the SQLite stores --folder holds already"
    )
    options = parser.parse_args()
    default = "1000,20000" if options.quick else "1000,1000000"
    sizes = [int(s) for s in (options.sizes or default).split(",")]
    rounds = options.rounds or (20 if options.quick else 50)
    if not options.no_sqlite:
        print("sqlite", flush=True)
        with ExitStack() as stack:
            folder = options.folder or Path(stack.enter_context(tempfile.TemporaryDirectory()))
            folder.mkdir(parents=True, exist_ok=True)
            urls = [f"sqlite:///{folder / f'read{size}.db'}" for size in sizes]
            report("SQLite", sizes, measure(urls, sizes, rounds, options.reuse))
    if options.postgres:
        from statewright.testing.postgres import TemporaryPostgres

        print("postgresql", flush=True)
        with TemporaryPostgres() as server:
            urls = [server.create_database(f"read{size}") for size in sizes]
            report("PostgreSQL", sizes, measure(urls, sizes, rounds, reuse=False))


if __name__ == "__main__":
    main()
