"""`statewright demo`: the three examples live, with traffic, behind the console and the API
(or, `--offline`, the order example stepped in memory)."""

from __future__ import annotations

import random
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import httpx
import typer

from statewright.chart.durations import parse_duration_ms
from statewright.cli.commands.serve import is_loopback
from statewright.cli.demo.folder import TENANT, DemoFolder, prepare
from statewright.cli.demo.machines import default_examples
from statewright.cli.demo.offline import walk_through
from statewright.cli.demo.server import Server, free_port, port_is_free
from statewright.cli.demo.traffic import Traffic, TrafficStopped
from statewright.errors import StatewrightError

__all__ = ["demo"]

_SUMMARY_EVERY_S = 10.0


def demo(
    for_: Annotated[
        str | None,
        typer.Option(
            "--for",
            help="Stop by itself after this long (30s, 5m, 1h); default: run until Ctrl-C.",
            show_default=False,
        ),
    ] = None,
    port: Annotated[
        int,
        typer.Option(
            min=0,
            max=65535,
            help="The console's port; if it is taken, or 0, a free one is used.",
        ),
    ] = 8000,
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    folder: Annotated[
        Path,
        typer.Option(
            "--dir", help="The demo's folder: its store (fresh each run), setup and server log."
        ),
    ] = Path(".demo"),
    examples: Annotated[
        Path | None,
        typer.Option(
            help="The examples folder (order/, approval/, intake/); default: examples/ here, "
            "else the copy installed with statewright.",
            show_default=False,
        ),
    ] = None,
    rate: Annotated[
        float,
        typer.Option(min=0.1, max=50, help="Traffic actions a second (each one or two requests)."),
    ] = 2.0,
    seed: Annotated[
        int | None, typer.Option(help="Seed the traffic's random choices.", show_default=False)
    ] = None,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline",
            help="Instead: step the order example through three orders in memory, printing "
            "each state (no store, no server).",
        ),
    ] = False,
) -> None:
    """Run the examples live, with the web console and traffic that moves them.

    A fresh SQLite store in --dir, `serve --with-worker` (the console at /, the API at /api)
    and traffic that starts orders, approvals and intake reviews, approves and rejects them
    and makes some steps fail. Prints the console's URL and a login token; Ctrl-C stops
    everything.

    Example: statewright demo --for 5m --port 8080
    """
    if examples is None:
        examples = default_examples()
    if offline:
        walk_through(examples / "order")
        return
    limit_s = _duration(for_)
    try:
        demo_folder = prepare(folder, examples)
    except (StatewrightError, OSError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    stop = threading.Event()
    interrupted, restore = _on_stop_signals(stop)
    chosen = _port(host, port)
    server = Server(demo_folder, host, chosen)
    try:
        server.start()
        if not server.wait_ready(stop):
            if stop.is_set():
                return
            typer.echo(f"error: the server did not start; its log:\n{server.log_tail()}", err=True)
            raise typer.Exit(1)
        _banner(demo_folder, server.base, chosen != port and port != 0, port, host)
        failure = _run_traffic(server, demo_folder, stop, limit_s, rate, seed)
    finally:
        status = server.stop(hurry=interrupted)
        restore()
        demo_folder.lock.close()
    if failure:
        typer.echo(f"error: {failure}", err=True)
        raise typer.Exit(1)
    typer.echo(
        f"stopped (server exit status {status}); the store stays in "
        f"{demo_folder.path / 'demo.db'} until the next run"
    )


def _run_traffic(
    server: Server,
    folder: DemoFolder,
    stop: threading.Event,
    limit_s: float | None,
    rate: float,
    seed: int | None,
) -> str | None:
    """Act until `stop`, the time limit or a failure; the failure's message, if any."""
    deadline = None if limit_s is None else time.monotonic() + limit_s
    headers = {"Authorization": f"Bearer {folder.traffic_token}"}
    with httpx.Client(base_url=server.base, headers=headers, timeout=10) as client:
        traffic = Traffic(client, rng=random.Random(seed))
        next_summary = time.monotonic() + _SUMMARY_EVERY_S
        while not stop.is_set():
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                break
            if server.exited() is not None:
                return f"the server stopped; its log:\n{server.log_tail()}"
            try:
                traffic.step()
            except TrafficStopped as error:
                return str(error)
            except httpx.TransportError:
                pass  # the server is busy or going; the next round finds out which
            if now >= next_summary:
                typer.echo(f"{time.strftime('%H:%M:%S')}  {traffic.summary()}")
                next_summary = now + _SUMMARY_EVERY_S
            stop.wait(1.0 / rate)
        typer.echo(f"{time.strftime('%H:%M:%S')}  {traffic.summary()}")
    return None


def _banner(folder: DemoFolder, base: str, moved: bool, asked: int, host: str) -> None:
    if moved:
        typer.echo(f"port {asked} is taken; using another")
    if not is_loopback(host):
        typer.echo(
            f"warning: serving on {host}, reachable from the network, and the admin token "
            "below is printed in clear: use the demo on 127.0.0.1",
            err=True,
        )
    typer.echo(
        "statewright demo: the order, approval and intake examples, live, with traffic\n"
        f"  console     {base}/\n"
        f"  token       {folder.admin_token}\n"
        f"              (admin of tenant {TENANT!r}: paste it on the login page)\n"
        f"  API         {base}/api   (OpenAPI at {base}/api/docs, same token)\n"
        f"  store       {folder.url}   (fresh each run)\n"
        f"  server log  {folder.log}\n"
        "Orders over 5000 are declined (retried, then manual review); documents named "
        "unreadable-... fail\nevery attempt; margaret's first notification is refused (a dead "
        "letter to redrive); some\ninstances are left waiting for a person. Ctrl-C stops it all."
    )


def _on_stop_signals(stop: threading.Event) -> tuple[threading.Event, Callable[[], None]]:
    """Make SIGINT and SIGTERM set `stop` (no traceback); a second one also sets the event
    returned, asking for a fast stop. Also returns what puts the former handlers back."""
    again = threading.Event()

    def handle(signum: int, frame: object) -> None:
        if stop.is_set():
            again.set()
        stop.set()

    former = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, handler in former.items():
            signal.signal(sig, handler)

    return again, restore


def _duration(text: str | None) -> float | None:
    if text is None:
        return None
    ms = parse_duration_ms(text)
    if ms is None or ms <= 0:
        typer.echo(f"error: --for {text!r} is not a duration; write e.g. 30s, 5m or 1h", err=True)
        raise typer.Exit(2)
    return ms / 1000


def _port(host: str, port: int) -> int:
    if port != 0 and port_is_free(host, port):
        return port
    return free_port(host)
