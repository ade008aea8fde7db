"""`statewright serve --workers N`: N server processes sharing one listening socket.

Each process opens its own engine (its own connections, head cache and group commits) from
the settings the parent leaves in `SERVE_SETTINGS`; they share nothing but the database,
where every check that keeps sends correct lives (versioned updates, idempotency rows,
tokens), so any number of processes, here or on other hosts, may serve one store. What is
per process: the rate limit's buckets (a token may send up to N x `--rate` a second) and
the metrics (each process counts its own requests).
"""

from __future__ import annotations

import json
import logging
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

    from statewright.api import ApiSettings

__all__ = ["SERVE_SETTINGS", "STREAM_GRACE_S", "app_from_environment", "run_processes"]

#: Seconds a server process waits for open responses (live streams) after SIGTERM.
STREAM_GRACE_S = 5

#: The environment variable that carries the settings to the server processes.
SERVE_SETTINGS = "STATEWRIGHT_SERVE_SETTINGS"


def run_processes(
    *,
    url: str,
    sock: socket.socket,
    workers: int,
    machines: Path | None,
    group_commit: bool,
    settings: ApiSettings,
    access_log: bool = True,
    forwarded_allow_ips: str | None = None,
    root_path: str = "",
) -> bool:
    """Serve on the bound `sock` with `workers` processes until SIGTERM or SIGINT (each
    finishes its requests).

    Returns:
        Whether every process started: False if one failed before it served (uvicorn logged
        why and stopped the others).
    """
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    from statewright.api.access_log import log_config
    from statewright.api.http_protocol import HTTP_PROTOCOL

    os.environ[SERVE_SETTINGS] = json.dumps(
        {
            "url": url,
            "machines": None if machines is None else str(machines.resolve()),
            "group_commit": group_commit,
            "settings": {
                "max_body_bytes": settings.max_body_bytes,
                "rate": settings.rate,
                "burst": settings.burst,
                "auth_failures": settings.auth_failures,
            },
            "stream": {
                "heartbeat_s": settings.stream.heartbeat_s,
                "poll_s": settings.stream.poll_s,
                "replay_limit": settings.stream.replay_limit,
            },
        }
    )
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        f"{__name__}:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        log_config=log_config(),
        http=HTTP_PROTOCOL,
        access_log=access_log,
        server_header=False,
        forwarded_allow_ips=forwarded_allow_ips,
        root_path=root_path,
        # Each process's open live streams never end by themselves: give them this long
        # after SIGTERM, then close them (clients reconnect with Last-Event-ID elsewhere).
        timeout_graceful_shutdown=STREAM_GRACE_S,
    )
    # The parent bound the socket (so that a port in use is one line before any banner);
    # the processes share it, as uvicorn.run(workers=N) shares the one it binds.
    supervisor = Multiprocess(config, sockets=[sock])
    supervisor.run()
    return all(process.exitcode != STARTUP_FAILURE for process in supervisor.processes)


def app_from_environment() -> FastAPI:
    """The API of one server process, over an engine of its own (uvicorn calls this).

    A process that cannot make it (the store unreachable or changed since the parent
    checked it, a definitions file that fails to load here) logs why in one line and exits
    with uvicorn's `STARTUP_FAILURE`, on which the parent stops every process: any other
    exit would have it start the process again, failing the same way, without end.
    """
    try:
        return _app_of(json.loads(os.environ[SERVE_SETTINGS]))
    except (Exception, SystemExit) as error:  # (a definitions file may call sys.exit)
        from uvicorn.config import STARTUP_FAILURE

        from statewright.errors import StatewrightError

        # Ours name the thing and the fix; another (raised by a definitions file) its kind.
        why = (
            str(error)
            if isinstance(error, StatewrightError)
            else f"{type(error).__name__}: {error}"
        )
        logging.getLogger("uvicorn.error").error(
            "server process %d could not start: %s", os.getpid(), why
        )
        raise SystemExit(STARTUP_FAILURE) from None


def _app_of(settings: dict[str, Any]) -> FastAPI:
    """The API over an engine opened from the parent's `settings` (`SERVE_SETTINGS`)."""
    from statewright.api import ApiSettings, StreamSettings, create_app
    from statewright.cli.machines_file import resolve_setup
    from statewright.cli.project import find_project
    from statewright.engine import Engine

    machines = settings["machines"]
    # The same definitions as the parent: its --machines, else the project's (same folder).
    setup = resolve_setup(Path(machines) if machines else None, find_project())
    engine = Engine.open(settings["url"], create=False, group_commit=settings["group_commit"])
    for machine in setup.machines:
        engine.register(machine)
    # The engine lives as long as the process: its connections close when it exits.
    stream = StreamSettings(**settings["stream"])
    return create_app(engine, ApiSettings(**settings["settings"], stream=stream))
