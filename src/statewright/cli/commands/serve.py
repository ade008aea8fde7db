"""`statewright serve`: run the HTTP API (uvicorn) over a store, on 127.0.0.1 by default."""

from __future__ import annotations

import ipaddress
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from statewright.cli.logs import LogFormat, configure_logging
from statewright.cli.machines_file import WorkerSetup, resolve_setup
from statewright.cli.project import find_project, resolve_store_url
from statewright.cli.serve_processes import run_processes
from statewright.engine import Engine
from statewright.errors import StatewrightError
from statewright.runtime import Worker
from statewright.runtime.outage import Outage
from statewright.store.url import DEFAULT_URL, URL_VARIABLE, redact_url

if TYPE_CHECKING:
    import uvicorn

    from statewright.api.stream_hub import StreamHub

__all__ = ["is_loopback", "serve"]


def serve(
    url: Annotated[
        str | None,
        typer.Option(
            envvar=URL_VARIABLE,
            help="The store URL (default: $STATEWRIGHT_URL, then statewright.toml's url, then "
            f"{DEFAULT_URL}).",
            show_default=False,
        ),
    ] = None,
    host: Annotated[
        str,
        typer.Option(
            help="The address to listen on. Other than loopback, the API is reachable from "
            "the network: put TLS in front of it (a reverse proxy)."
        ),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="The TCP port.")] = 8000,
    machines: Annotated[
        Path | None,
        typer.Option(
            help="A Python file defining MACHINES = [...]: the definitions whose guards and "
            "actions the API runs when it sends events (as for `worker`). Default: the "
            "definitions and implementations statewright.toml names.",
            show_default=False,
        ),
    ] = None,
    max_body: Annotated[
        int, typer.Option(min=1, help="The largest request body accepted, in bytes (else 413).")
    ] = 1024 * 1024,
    rate: Annotated[
        float,
        typer.Option(min=0, help="Requests a second each token may send (0: no limit)."),
    ] = 50.0,
    burst: Annotated[
        int, typer.Option(min=1, help="Requests a token may send at once above its rate.")
    ] = 100,
    with_worker: Annotated[
        bool,
        typer.Option(
            "--with-worker",
            help="Also run the worker loops (timers, steps, schedules, outbox) in this "
            "process, for the one-machine case; --machines may then define LISTENERS and "
            "SCHEDULES as for `worker`.",
        ),
    ] = False,
    stream_heartbeat: Annotated[
        float,
        typer.Option(min=0.01, help="Seconds between heartbeat comments on an idle live stream."),
    ] = 15.0,
    stream_poll: Annotated[
        float,
        typer.Option(
            min=0.01,
            help="Seconds between looks for new transitions while live streams are open.",
        ),
    ] = 0.25,
    stream_replay: Annotated[
        int,
        typer.Option(
            min=1,
            help="The most transitions replayed to a stream resuming with Last-Event-ID "
            "(a larger gap gets a resync event).",
        ),
    ] = 1000,
    group_commit: Annotated[
        bool,
        typer.Option(
            help="Commit the sends of concurrent requests together, one transaction for all "
            "(each still answered only after its own rows are committed)."
        ),
    ] = True,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes sharing the port, each with its own engine (they share "
            "only the database). Each keeps its own rate-limit buckets. --with-worker needs 1.",
        ),
    ] = 1,
    log: Annotated[
        LogFormat, typer.Option(help="Log lines as text, or as JSON objects (one per line).")
    ] = LogFormat.text,
    access_log: Annotated[
        bool,
        typer.Option(
            help="Log one line per request answered (method, path, status). Off saves the "
            "server some CPU per request; the metrics still count every request."
        ),
    ] = True,
) -> None:
    """Run the HTTP API; every request needs a token from `statewright tokens create`.

    In a project made by "statewright init" it needs no flags: statewright.toml names the
    store, the definitions and the implementations.

    Example: statewright serve --url sqlite:///app.db --machines machines.py --port 8000

    Stops on SIGTERM or SIGINT, finishing the requests in hand (and, with --with-worker,
    the work in hand).
    """
    import uvicorn

    from statewright.api import ApiSettings, StreamSettings, create_app
    from statewright.api.access_log import log_config
    from statewright.api.http_protocol import HTTP_PROTOCOL

    configure_logging(log)
    try:
        project = find_project()
        store_url = resolve_store_url(url, project)
        # The setup is read before the store is opened: a broken file changes nothing.
        setup = resolve_setup(machines, project)
        engine = Outage(redact_url(store_url)).call(
            lambda: Engine.open(store_url, create=False, group_commit=group_commit)
        )
    except StatewrightError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    if workers > 1 and with_worker:
        engine.close()
        typer.echo(
            "error: --with-worker runs the worker loops in the one server process; use "
            "--workers 1, or run `statewright worker` beside the server processes",
            err=True,
        )
        raise typer.Exit(1)
    with engine:
        try:
            for machine in setup.machines:
                engine.register(machine)
            runner = _worker(engine, setup) if with_worker else None
        except StatewrightError as error:
            typer.echo(f"error: {machines or 'statewright.toml'}: {error}", err=True)
            raise typer.Exit(1) from None
        if not is_loopback(host):
            typer.echo(
                f"warning: serving on {host}, reachable from the network; every request "
                "needs a token, but put TLS in front of it (a reverse proxy)",
                err=True,
            )
        streams = StreamSettings(
            heartbeat_s=stream_heartbeat, poll_s=stream_poll, replay_limit=stream_replay
        )
        settings = ApiSettings(max_body_bytes=max_body, rate=rate, burst=burst, stream=streams)
        if workers > 1:
            typer.echo(
                f"serving {redact_url(store_url)} at http://{host}:{port} with {workers} processes"
            )
            engine.close()
            run_processes(
                url=store_url,
                host=host,
                port=port,
                workers=workers,
                machines=machines,
                group_commit=group_commit,
                settings=settings,
                access_log=access_log,
            )
            return
        app = create_app(engine, settings)
        server = _server_class(app.state.stream_hub)(
            uvicorn.Config(
                app,
                host=host,
                port=port,
                log_level="info",
                log_config=log_config(),
                http=HTTP_PROTOCOL,
                access_log=access_log,
                server_header=False,
            )
        )
        stop = threading.Event()
        failed: list[BaseException] = []
        thread = None
        if runner is not None:
            thread = threading.Thread(
                target=_run_worker, args=(runner, stop, server, failed), name="worker"
            )
            thread.start()
        typer.echo(
            f"serving {redact_url(store_url)} at http://{host}:{port} (the console at /, "
            "OpenAPI at /api/docs)"
        )
        # uvicorn stops gracefully on SIGTERM or SIGINT, then raises the signal again to the
        # handler it found: a quiet one, so that a clean stop exits 0 (as `worker` does).
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, _stopped)
        try:
            server.run()
        finally:
            stop.set()
            if thread is not None:
                thread.join()
        if failed:
            raise typer.Exit(1)  # the worker logged the cause, on one line


def _server_class(hub: StreamHub) -> type[uvicorn.Server]:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, ending the live streams when it is asked to stop (it waits for
        open responses to end, and a stream would not)."""

        def handle_exit(self, sig: int, frame: Any) -> None:
            hub.stop()
            super().handle_exit(sig, frame)

    return Server


def _worker(engine: Engine, setup: WorkerSetup) -> Worker:
    """A worker on the server's engine, with the setup file's listeners and schedules."""
    runner = Worker(engine)
    for pattern, listener in setup.listeners.items():
        runner.listen(pattern, listener)  # type: ignore[arg-type]
    for schedule in setup.schedules:
        runner.schedule(schedule)  # type: ignore[arg-type]
    return runner


def _run_worker(
    runner: Worker, stop: threading.Event, server: uvicorn.Server, failed: list[BaseException]
) -> None:
    """Run the worker loops until `stop`; if they cannot go on, stop the server too."""
    try:
        runner.run(stop=stop)
    except BaseException as error:
        failed.append(error)
        server.should_exit = True


def _stopped(signum: int, frame: object) -> None:
    """What a stop signal does once uvicorn has shut down: nothing more."""


def is_loopback(host: str) -> bool:
    """Whether `host` is a loopback address (or `localhost`)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
