"""What a webhook delivery costs a worker, over HTTP and HTTPS to one local endpoint.

    .venv/bin/python -m benchmarks.webhook_delivery                  # HTTP and HTTPS
    .venv/bin/python -m benchmarks.webhook_delivery --messages 2000 --runs 5
    .venv/bin/python -m benchmarks.webhook_delivery --against /path/to/other/src

`--messages` outbox messages (emitted 100 per transition, before the clock starts, on a
fresh SQLite file) are delivered by `Worker.run_once` to a `Worker.webhook` whose endpoint
is a small HTTP/1.1 server (keep-alive, answering 200 with an empty body) in a process of its
own, so that the worker's CPU time is the worker's alone; then as many calls of a `Webhook`
alone (no store, no worker: what the delivery itself costs). Reported per run and as
medians, for each: deliveries per second (wall clock) and the worker process's CPU time per
delivery. HTTPS uses a self-signed certificate made with `openssl`, trusted through
`SSL_CERT_FILE`.

With `--against DIR`, runs alternate between this checkout's `src` and `DIR` (another
checkout's `src`), each in a process of its own against the same endpoint, as
`benchmarks.outbox_delivery --against` does.
"""

from __future__ import annotations

import argparse
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from benchmarks.outbox_delivery import PER_SEND, SRC, _machine
from statewright.engine import Engine
from statewright.runtime import Worker
from statewright.runtime.outbox import OutboxMessage
from statewright.runtime.webhooks import Webhook


def measure(url: str, messages: int) -> tuple[float, float]:
    """Deliveries per second and worker CPU µs per delivery of `messages` POSTed to `url`."""
    with (
        tempfile.TemporaryDirectory(prefix="statewright-webhook-bench-") as folder,
        Engine.open(f"sqlite:///{folder}/run.db") as engine,
    ):
        engine.register(_machine())
        for index in range(-(-messages // PER_SEND)):
            engine.start("pings", instance_id=f"i-{index}")
            engine.send(f"i-{index}", "GO")
        with Worker(engine, batch=100) as worker:
            worker.webhook("ping", url, "s3cr3t")
            wall, cpu = time.perf_counter(), time.process_time()
            delivered = worker.run_once()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if delivered != -(-messages // PER_SEND) * PER_SEND:
        raise SystemExit(f"delivered {delivered} messages, not {messages}")
    return delivered / wall, cpu / delivered * 1e6


def measure_alone(url: str, messages: int) -> tuple[float, float]:
    """Deliveries per second and CPU µs per delivery of `messages` calls of a `Webhook`."""
    webhook = Webhook(url, "s3cr3t")
    message = OutboxMessage(
        id="default/i-0/2/0",
        tenant="default",
        instance_id="i-0",
        version=2,
        event={"type": "ping"},
        attempt=1,
        engine=None,  # type: ignore[arg-type]
    )
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(messages):
        webhook(message)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    getattr(webhook, "close", webhook.client.close)()
    return messages / wall, cpu / messages * 1e6


class _Answer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keeps connections alive unless the client closes them

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(tls: Path | None) -> None:
    """The endpoint: print its port, then answer until stdin closes."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    server.daemon_threads = True
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls / "cert.pem", tls / "key.pem")
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()


def _certificate(folder: Path) -> Path:
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem")),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return folder


def _one_run(url: str, messages: int, src: Path, env: dict[str, str]) -> list[float]:
    """One measurement in a process of its own, importing statewright from `src`."""
    command = [sys.executable, "-m", "benchmarks.webhook_delivery", "--url", url]
    command += ["--messages", str(messages)]
    env = {**env, "PYTHONPATH": f"{src}{os.pathsep}{SRC.parent}"}
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, check=True, cwd=SRC.parent
    )
    return [float(value) for value in done.stdout.split()[-4:]]


def run(scheme: str, args: argparse.Namespace, folder: Path) -> None:
    tls = _certificate(folder) if scheme == "https" else None
    serving = [sys.executable, "-m", "benchmarks.webhook_delivery", "--serve"]
    serving += ["--tls", str(tls)] if tls else []
    env = {**os.environ, "PYTHONPATH": str(SRC.parent)}
    if tls:
        env["SSL_CERT_FILE"] = str(tls / "cert.pem")
    server = subprocess.Popen(
        serving, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=SRC.parent
    )
    try:
        assert server.stdout is not None
        url = f"{scheme}://127.0.0.1:{server.stdout.readline().strip()}/hook"
        sources = [("this", SRC)] + ([("against", Path(args.against))] if args.against else [])
        results: dict[str, list[list[float]]] = {label: [] for label, _ in sources}
        for _ in range(args.runs):  # alternating, so that both see the same load
            for label, src in sources:
                results[label].append(_one_run(url, args.messages, src, env))
    finally:
        server.communicate("")
    for label, _ in sources:
        for name, at in (("worker", 0), ("alone", 2)):
            rates = [values[at] for values in results[label]]
            cpus = [values[at + 1] for values in results[label]]
            print(
                f"{scheme:6} {name:7} {label:8} median {statistics.median(rates):6.0f} "
                f"deliveries/s {statistics.median(cpus):6.0f} µs CPU/delivery  (runs: "
                + " ".join(f"{rate:.0f}/{cpu:.0f}" for rate, cpu in zip(rates, cpus, strict=True))
                + ")"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scheme", choices=["http", "https", "both"], default="both")
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--against", help="another checkout's src folder, run alternately")
    parser.add_argument("--url", help=argparse.SUPPRESS)  # one run, printed alone
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tls", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.tls)
        return
    if args.url:
        results = [*measure(args.url, args.messages), *measure_alone(args.url, args.messages)]
        print(" ".join(f"{value:.1f}" for value in results))
        return
    print(f"{args.messages} messages, {args.runs} runs each, alternating")
    with tempfile.TemporaryDirectory(prefix="statewright-webhook-tls-") as folder:
        for scheme in ("http", "https"):
            if args.scheme in (scheme, "both"):
                run(scheme, args, Path(folder))


if __name__ == "__main__":
    main()
