"""`statewright serve`: run the HTTP API (uvicorn) over a store, on 127.0.0.1 by default."""

from __future__ import annotations

import errno
import ipaddress
import signal
import socket
import threading
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from statewright.cli.logs import LogFormat, configure_logging
from statewright.cli.machines_file import WorkerSetup
from statewright.cli.project import resolve_store_url
from statewright.cli.serve_processes import run_processes
from statewright.cli.session import (
    check_store_named,
    end_with,
    exit_code,
    load_project,
    load_setup,
)
from statewright.engine import Engine
from statewright.errors import StatewrightError
from statewright.runtime import Worker
from statewright.store.url import DEFAULT_URL, URL_VARIABLE, redact_url

if TYPE_CHECKING:
    import uvicorn

    from statewright.api.stream_hub import StreamHub

__all__ = ["is_loopback", "serve"]


def _root_path(text: str) -> str:
    """`--root-path` checked: empty, or a path such as /statewright."""
    from statewright.api.root_path import check_root_path

    try:
        return check_root_path(text)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


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
    auth_failures: Annotated[
        int,
        typer.Option(
            min=0,
            help="Credentials that are not valid each client address may send a minute, "
            "then 429 without reading the store (0: no limit).",
        ),
    ] = 20,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated addresses (or networks, or *) of the reverse proxies whose "
            "X-Forwarded-For names the client (default: $FORWARDED_ALLOW_IPS, else "
            "127.0.0.1). Failed authentications are counted per client address.",
            show_default=False,
        ),
    ] = None,
    root_path: Annotated[
        str,
        typer.Option(
            callback=_root_path,
            help="The path prefix a reverse proxy serves the API and the console under, "
            "such as /statewright for https://example.com/statewright/ (the proxy strips it "
            "before passing each request on). Default: none, the root of a host name.",
            show_default=False,
        ),
    ] = "",
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
    # Options that cannot go together are refused before anything is read, bound or opened.
    if workers > 1 and with_worker:
        end_with(
            1,
            "--with-worker runs the worker loops in the one server process; use "
            "--workers 1, or run `statewright worker` beside the server processes",
        )
    project = load_project(False)  # a broken statewright.toml: exit 2, as for every command
    # Read before the store is opened: a broken file exits 2 (1 for a definition's faults)
    # and changes nothing, as for every command that loads it.
    setup = load_setup(machines, project, False)
    store_url = resolve_store_url(url, project)
    # Bound before anything is announced: a port in use is one line, not a banner and a
    # traceback. Listening starts only when the server runs.
    sock = _bind(host, port)
    try:
        # At start a store that cannot be opened is an error (exit 5, or 2 for a bad URL):
        # there is nothing to serve yet. Once serving, requests answer 503 while it is away.
        check_store_named(url, project, store_url)
        engine = Engine.open(store_url, create=False, group_commit=group_commit)
    except StatewrightError as error:
        sock.close()
        end_with(exit_code(error), str(error))
    with engine:
        try:
            for machine in setup.machines:
                engine.register(machine)
            runner = _worker(engine, setup) if with_worker else None
        except StatewrightError as error:
            sock.close()
            end_with(1, f"{machines or 'statewright.toml'}: {error}")
        if not is_loopback(host):
            typer.echo(
                f"warning: serving on {host}, reachable from the network; every request "
                "needs a token, but put TLS in front of it (a reverse proxy)",
                err=True,
            )
        streams = StreamSettings(
            heartbeat_s=stream_heartbeat, poll_s=stream_poll, replay_limit=stream_replay
        )
        settings = ApiSettings(
            max_body_bytes=max_body,
            rate=rate,
            burst=burst,
            auth_failures=auth_failures,
            stream=streams,
        )
        address = _address(sock)
        if workers > 1:
            typer.echo(
                f"serving {redact_url(store_url)} at {address} with {workers} processes "
                f"{_where(root_path)}"
            )
            engine.close()
            started = run_processes(
                url=store_url,
                sock=sock,
                workers=workers,
                machines=machines,
                group_commit=group_commit,
                settings=settings,
                access_log=access_log,
                forwarded_allow_ips=forwarded_allow_ips,
                root_path=root_path,
            )
            if not started:
                end_with(1, "a server process failed to start (its error is logged above)")
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
                forwarded_allow_ips=forwarded_allow_ips,
                root_path=root_path,
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
        # uvicorn stops gracefully on SIGTERM or SIGINT, then raises the signal again to the
        # handler it found: a quiet one, so that a clean stop exits 0 (as `worker` does).
        # A signal before uvicorn takes the signals over stops it once it has started.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, partial(_stopped, server))
        typer.echo(f"serving {redact_url(store_url)} at {address} {_where(root_path)}")
        try:
            server.run(sockets=[sock])
        except SystemExit:
            pass  # uvicorn's startup failed (it logged why): exit 1, not uvicorn's 3
        finally:
            stop.set()
            if thread is not None:
                thread.join()
        if failed or not server.started:
            raise typer.Exit(1)  # the worker (or uvicorn) logged the cause, on one line


def _where(root_path: str) -> str:
    """Where the banner says the console and the docs are."""
    if not root_path:
        return "(the console at /, OpenAPI at /api/docs)"
    return (
        f"under the root path {root_path}, for a proxy that strips it (the console at "
        f"{root_path}/, OpenAPI at {root_path}/api/docs)"
    )


#: What to do when the address cannot be bound, by errno; `None` for a name not resolved.
_BIND_FIXES: dict[int | None, str] = {
    errno.EADDRINUSE: "it is in use already; pick another --port, or stop what listens there",
    errno.EACCES: "permission denied (ports below 1024 need privileges); pick a --port above 1023",
    errno.EADDRNOTAVAIL: "it is not an address of this machine; give --host one of its "
    "addresses, such as 127.0.0.1 (or 0.0.0.0 for all of them)",
    None: "the host is not an address this machine can resolve; give --host one of its "
    "addresses, such as 127.0.0.1 (or 0.0.0.0 for all of them)",
}


def _bind(host: str, port: int) -> socket.socket:
    """A socket bound to `host`:`port` (as uvicorn binds one), not listening yet; the
    command ends with one line naming the address and the fix if it cannot be bound."""
    bare = host.strip("[]")
    family = socket.AF_INET6 if ":" in bare else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((bare, port))
    except OSError as error:
        sock.close()
        key = None if isinstance(error, socket.gaierror) else error.errno
        cause = error.strerror or str(error)
        fix = _BIND_FIXES.get(key, f"{cause}; pick another --host or --port")
        shown = f"[{bare}]" if family == socket.AF_INET6 else bare
        end_with(1, f"cannot listen on {shown}:{port}: {fix} ({cause})")
    sock.set_inheritable(True)  # for the server processes of --workers
    return sock


def _address(sock: socket.socket) -> str:
    """The URL the bound socket answers at, with the port bound (for --port 0, the one the
    system chose)."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if sock.family == socket.AF_INET6 else f"http://{host}:{port}"


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
    runner = Worker(engine, outbox_retry=setup.outbox_retry)
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


def _stopped(server: uvicorn.Server, signum: int, frame: object) -> None:
    """What a stop signal does outside uvicorn's own handlers: before they are set (the
    banner is out), stop the server as soon as it has started; once it has shut down,
    nothing more."""
    server.should_exit = True


def is_loopback(host: str) -> bool:
    """Whether `host` is a loopback address (or `localhost`)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
