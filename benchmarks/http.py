"""Sends over HTTP: a real `statewright serve` process, a load generator in another process.

    python -m benchmarks.http                   # SQLite FULL and PostgreSQL, ~2 minutes
    python -m benchmarks.http --quick           # smoke run, ~30 seconds
    python -m benchmarks.http --no-postgres --clients 1,16 --variant=--no-group-commit
    python -m benchmarks.http --variant=--no-group-commit --variant= --variant='--workers 2'
    python -m benchmarks.http --starts --clients 1,16   # starts instead of sends
    python -m benchmarks.http --starts --keyed          # each start with an Idempotency-Key

For each database: the engine's in-process sequential send rate (`Engine.send` in a loop,
the counter of `durable.py`), then a `statewright serve` process on a free loopback port and
the load generator (`http_load.py`) with 1, 16 and 64 clients, each sending INC to instances
of its own (no version conflicts), then 16 clients sharing 4 instances with `If-Match`
(conflicts are 412s of the losing sender only; every acknowledged version is checked to be
distinct and present), then 16 clients of `GET /api/health/live` (the HTTP stack's floor); each
`--variant` (serve's arguments) is measured in turn. Reported: sends/s, p50/p99 latency,
errors, the HTTP rate over the in-process sequential rate, and the CPU time per request of
the server and of the load generator (what limits a two-core machine).

With `--starts`, starts instead of sends: the in-process sequential rate is `Engine.start`'s
(a counter under a generated id, in a loop), and each client sends `POST /api/v1/instances`
with `{"definition": "counter"}` one request at a time (201s counted); then the health probe.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks import durable
from statewright import Machine
from statewright.engine import Engine

__all__ = ["main"]

SHARED_INSTANCES = 4
SHARED_CLIENTS = 16
PROBE_CLIENTS = 16
PER_CLIENT = 4


@dataclass(frozen=True, slots=True)
class Budget:
    """Seconds per load run and its warm-up, seconds and turns of the sequential rate."""

    seconds: float
    warmup: float
    sequential: float
    turns: int


FULL = Budget(seconds=5.0, warmup=1.0, sequential=2.0, turns=3)
QUICK = Budget(seconds=1.0, warmup=0.3, sequential=0.5, turns=1)


@dataclass(frozen=True, slots=True)
class Row:
    """One load run."""

    database: str
    clients: int
    kind: str
    rate: float
    p50_ms: float
    p99_ms: float
    errors: dict[str, int]
    server_cpu_ms: float
    load_cpu_ms: float
    checked: str


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prepare(url: str, clients: int) -> tuple[str, list[list[str]], list[str]]:
    """Register the counter, start every client's instances and the shared ones; a token."""
    with Engine.open(url) as engine:
        engine.register(Machine.from_config(durable.COUNTER))
        own = [[f"h{c:02d}-{i}" for i in range(PER_CLIENT)] for c in range(clients)]
        shared = [f"shared-{i}" for i in range(SHARED_INSTANCES)]
        for instance_id in [*(i for ids in own for i in ids), *shared]:
            engine.start("counter", instance_id=instance_id)
        _, secret = engine.create_token(role="operator", name="http-benchmark")
    return secret, own, shared


def sequential(url: str, budget: Budget) -> float:
    """The engine's in-process sequential sends/s on `url` (median of the turns)."""
    with Engine.open(url) as engine:
        ids = [f"seq-{i:04d}" for i in range(durable.INSTANCES)]
        if engine.store.load_instance("default", ids[0]) is None:
            for instance_id in ids:
                engine.start("counter", instance_id=instance_id)
        turn = 0

        def loop(n: int) -> None:
            nonlocal turn
            for _ in range(n):
                engine.send(ids[turn % len(ids)], durable.INC)
                turn += 1

        loop(100)  # warm: the head cache and the prepared statements
        rates = sorted(durable.rate(loop, budget.sequential) for _ in range(budget.turns))
    return rates[len(rates) // 2]


def sequential_starts(url: str, budget: Budget) -> float:
    """The engine's in-process sequential starts/s on `url` (median of the turns)."""
    with Engine.open(url) as engine:

        def loop(n: int) -> None:
            for _ in range(n):
                engine.start("counter")

        loop(100)  # warm: the registry and the prepared statements
        rates = sorted(durable.rate(loop, budget.sequential) for _ in range(budget.turns))
    return rates[len(rates) // 2]


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds so far of a process and its children (`--workers`), Linux."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = " ".join(p.read_text() for p in Path(f"/proc/{pid}/task").glob("*/children"))
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(_cpu_s(int(child)) for child in children.split())


@contextlib.contextmanager
def serving(
    url: str, folder: Path, extra: Sequence[str], *, src: str | None = None
) -> Iterator[tuple[int, int]]:
    """A `statewright serve` process on a free loopback port, on `src`'s code if given
    (put first on its `PYTHONPATH`): (pid, port)."""
    port = free_port()
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [env.get("PYTHONPATH")])])
    log = (folder / f"serve-{port}.log").open("w")
    command = [sys.executable, "-m", "statewright", "serve", "--url", url, "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--rate", "0", *extra], stdout=log, stderr=subprocess.STDOUT, env=env
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"serve did not start; see {log.name}")
            time.sleep(0.05)
        yield process.pid, port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def load(plan: dict[str, object]) -> dict[str, object]:
    """Run the load generator in its own process; its results."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "results.json"
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.http_load", json.dumps(plan), str(out)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0 or not out.exists():
            raise RuntimeError(f"the load generator failed ({done.returncode}): {done.stderr}")
        result: dict[str, object] = json.loads(out.read_text())
    return result


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(fraction * len(values)))] * 1000


def versions(url: str, ids: Sequence[str]) -> dict[str, int]:
    """The stored version of each instance."""
    with Engine.open(url) as engine:
        return {instance_id: engine.get(instance_id).version for instance_id in ids}


def check_shared(url: str, before: dict[str, int], acknowledged: dict[str, list[int]]) -> str:
    """The acknowledged versions of each shared instance are exactly those it gained during
    the run, each once: no send lost, none doubled."""
    after = versions(url, list(before))
    for instance_id, start in before.items():
        got = sorted(acknowledged.get(instance_id, []))
        if got != list(range(start + 1, after[instance_id] + 1)):
            return (
                f"FAILED on {instance_id}: {len(got)} acknowledged, {start} -> {after[instance_id]}"
            )
    return "no send lost or doubled"


@dataclass(frozen=True, slots=True)
class Variant:
    """One serve configuration measured on one database, with the sequential rate taken
    just before it."""

    database: str
    serve_args: str
    sequential: float
    rows: list[Row]


def measure(
    name: str,
    url: str,
    clients: Sequence[int],
    budget: Budget,
    folder: Path,
    variants: Sequence[str],
    *,
    starts: bool = False,
    keyed: bool = False,
) -> tuple[list[Variant], str]:
    """For each serve variant: the sequential rate and the load runs; then `verify`.
    With `starts`, starts instead of sends (and no shared instances)."""
    token, own, shared = prepare(url, max(clients))
    found = []
    for variant in variants:
        seq = sequential_starts(url, budget) if starts else sequential(url, budget)
        rows = []
        with serving(url, folder, variant.split()) as (pid, port):
            runs = [(count, "start" if starts else "own") for count in clients]
            if not starts:
                runs.append((SHARED_CLIENTS, "shared"))
            runs.append((PROBE_CLIENTS, "probe"))
            for count, kind in runs:
                rows.append(
                    one_run(name, url, pid, port, token, count, kind, own, shared, budget, keyed)
                )
        found.append(Variant(name, variant, seq, rows))
    with Engine.open(url) as engine:
        every = [*shared, *(i for ids in own for i in ids)]
        bad = [i for i in every if not engine.verify(i).ok]
    return found, "verify: all passed" if not bad else f"verify FAILED: {bad[:5]}"


def one_run(
    name: str,
    url: str,
    pid: int,
    port: int,
    token: str,
    count: int,
    kind: str,
    own: list[list[str]],
    shared: list[str],
    budget: Budget,
    keyed: bool = False,
) -> Row:
    """One load run of `count` clients: own instances, shared ones, starts, or the health
    probe."""
    one = [["-"]] * count
    ids = {"own": own[:count], "shared": [shared] * count, "probe": one, "start": one}[kind]
    plan = {
        "probe": kind == "probe",
        "start": "counter" if kind == "start" else None,
        "keyed": keyed,
        "port": port,
        "token": token,
        "clients": ids,
        "warmup": budget.warmup,
        "seconds": budget.seconds,
        "if_match": kind == "shared",
    }
    before = versions(url, shared) if kind == "shared" else {}
    cpu = _cpu_s(pid)
    result = load(plan)
    server_cpu = _cpu_s(pid) - cpu
    latencies = result["latencies"]
    assert isinstance(latencies, list)
    errors: dict[str, int] = dict(result["errors"])  # type: ignore[call-overload]
    ok = int(str(result["ok"]))
    # CPU over every request the run sent, its warm-up's estimated at the timed rate.
    everything = max(1.0, (ok + sum(errors.values())) * (budget.seconds + budget.warmup))
    everything /= budget.seconds
    acknowledged: dict[str, list[int]] = result["acknowledged"]  # type: ignore[assignment]
    return Row(
        database=name,
        clients=count,
        kind=kind,
        rate=ok / float(str(result["seconds"])),
        p50_ms=_percentile(latencies, 0.5),
        p99_ms=_percentile(latencies, 0.99),
        errors=errors,
        server_cpu_ms=server_cpu / everything * 1000,
        load_cpu_ms=float(str(result["cpu"])) / everything * 1000,
        checked=check_shared(url, before, acknowledged) if kind == "shared" else "",
    )


def report(results: Sequence[tuple[list[Variant], str]]) -> str:
    """The results as Markdown."""
    lines = [
        "| database | serve | clients | per s | p50 ms | p99 ms | errors | HTTP / in-process "
        "sequential | server CPU ms/req | load CPU ms/req |",
        "|---|---|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    notes = []
    for variants, verified in results:
        for variant in variants:
            name, seq, args = variant.database, variant.sequential, variant.serve_args or "-"
            lines.append(
                f"| {name} | {args} | in-process sequential | {seq:,.0f} | | | | 1.00 | | |"
            )
            for row in variant.rows:
                lines.append(_line(row, args, seq))
                if row.kind == "shared":
                    notes.append(f"- {name}, {args}, shared instances: {row.checked}")
            target = [r for r in variant.rows if r.clients == 16 and r.kind in ("own", "start")]
            if target:
                met = "met" if target[0].rate >= seq else "missed"
                notes.append(
                    f"- {name}, {args}: 16 clients / in-process sequential = "
                    f"{target[0].rate / seq:.2f} [target >= 1: {met}]"
                )
        notes.append(f"- {variants[0].database}: {verified}")
    return "\n".join([*lines, "", *notes])


def _line(row: Row, args: str, seq: float) -> str:
    label = {
        "own": str(row.clients),
        "start": f"{row.clients}, starts",
        "shared": f"{row.clients} sharing {SHARED_INSTANCES}",
        "probe": f"{row.clients}, GET /api/health/live",
    }[row.kind]
    errors = ", ".join(f"{n}x{code}" for code, n in sorted(row.errors.items())) or "0"
    return (
        f"| {row.database} | {args} | {label} | {row.rate:,.0f} | {row.p50_ms:.1f} | "
        f"{row.p99_ms:.1f} | {errors} | {row.rate / seq:.2f} | {row.server_cpu_ms:.2f} | "
        f"{row.load_cpu_ms:.2f} |"
    )


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--clients", default="1,16,64", help="client counts (default 1,16,64)")
    parser.add_argument(
        "--variant",
        action="append",
        help="`serve` arguments of one configuration, e.g. --variant='--workers 2'; repeat "
        "to compare configurations in one run (default: one, serve's defaults)",
    )
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument(
        "--starts", action="store_true", help="starts (POST /api/v1/instances) instead of sends"
    )
    parser.add_argument(
        "--keyed", action="store_true", help="with --starts: each with an Idempotency-Key"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the table."""
    args = parse(argv)
    budget = QUICK if args.quick else FULL
    clients = [int(part) for part in args.clients.split(",")]
    variants = args.variant or [""]
    results = []
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        folder = Path(tmp)
        databases = [("SQLite FULL", f"sqlite:///{folder / 'http.db'}")]
        if not args.no_postgres:
            server = stack.enter_context(durable.durable_postgres())
            databases.append(("PostgreSQL", server.url))
        for name, url in databases:
            print(f"{name} ...", file=sys.stderr, flush=True)
            results.append(
                measure(
                    name,
                    url,
                    clients,
                    budget,
                    folder,
                    variants,
                    starts=args.starts,
                    keyed=args.keyed,
                )
            )
    print(f"cores: {os.cpu_count()}")
    print(report(results))
    if args.json:
        rows = [
            asdict(row) | {"serve": v.serve_args, "sequential": v.sequential}
            for variants_found, _ in results
            for v in variants_found
            for row in v.rows
        ]
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
