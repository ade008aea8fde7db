"""`statewright worker`: run due timers, steps and outbox deliveries for a store."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from statewright.cli.logs import LogFormat, configure_logging
from statewright.cli.machines_file import resolve_setup
from statewright.cli.project import find_project, resolve_store_url
from statewright.engine import Engine
from statewright.errors import StatewrightError
from statewright.runtime import Worker
from statewright.runtime.outage import Outage
from statewright.runtime.outbox import OUTBOX_LEASE_MS
from statewright.runtime.steps import DEFAULT_BATCH, DEFAULT_CONCURRENCY, DEFAULT_LEASE_MS
from statewright.runtime.worker import TIMER_LEASE_MS
from statewright.store.url import DEFAULT_URL, URL_VARIABLE, redact_url

__all__ = ["worker"]


def worker(
    url: Annotated[
        str | None,
        typer.Option(
            envvar=URL_VARIABLE,
            help="The store URL (default: $STATEWRIGHT_URL, then statewright.toml's url, then "
            f"{DEFAULT_URL}).",
            show_default=False,
        ),
    ] = None,
    machines: Annotated[
        Path | None,
        typer.Option(
            help="A Python file defining MACHINES = [...]: the definitions whose "
            "steps, guards and actions this worker runs; optionally LISTENERS = {pattern: fn} "
            "and SCHEDULES = [...]. Imported once, with its folder on the import path. "
            "Default: the definitions and implementations statewright.toml names.",
            show_default=False,
        ),
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Drain the due work and exit.")] = False,
    poll: Annotated[float, typer.Option(help="Seconds to wait when nothing is due.")] = 1.0,
    lease: Annotated[
        float,
        typer.Option(
            help="Seconds a claimed step is ours before another worker may take it "
            "over; renewed while the step runs, so a dead worker's step moves after this long."
        ),
    ] = DEFAULT_LEASE_MS / 1000,
    timer_lease: Annotated[
        float,
        typer.Option(
            help="Seconds a claimed due timer is ours while its transition commits; "
            "a dead worker's timers fire after this long."
        ),
    ] = TIMER_LEASE_MS / 1000,
    outbox_lease: Annotated[
        float,
        typer.Option(
            min=0.001,
            help="Seconds a claimed outbox message is ours before another worker may "
            "deliver it; a message whose listeners run longer may be delivered twice.",
        ),
    ] = OUTBOX_LEASE_MS / 1000,
    concurrency: Annotated[
        int, typer.Option(min=1, help="Steps run at the same time (threads).")
    ] = DEFAULT_CONCURRENCY,
    batch: Annotated[
        int,
        typer.Option(
            min=1, help="Timers, steps or messages claimed at once; their results commit together."
        ),
    ] = DEFAULT_BATCH,
    log: Annotated[
        LogFormat, typer.Option(help="Log lines as text, or as JSON objects (one per line).")
    ] = LogFormat.text,
) -> None:
    """Run the worker: fire due timers, run steps with retries, deliver the outbox.

    Stops gracefully on SIGTERM or SIGINT: the work in hand is finished first. In a project
    made by "statewright init" it needs no flags: statewright.toml names the store, the
    definitions and the implementations.

    Example: statewright worker --url sqlite:///app.db --machines machines.py --once
    """
    configure_logging(log)
    console = Console(highlight=False, soft_wrap=True)
    try:
        project = find_project()
        url = resolve_store_url(url, project)
        # The setup file is read before the store is opened: a broken file changes nothing.
        setup = resolve_setup(machines, project)
    except StatewrightError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    # A store that is away at start (a restart, a failover) is waited for, logged once.
    outage = Outage(redact_url(url))
    store_url = url
    try:
        engine = outage.call(lambda: Engine.open(store_url, create=False))
    except StatewrightError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    with engine:
        runner = Worker(
            engine,
            step_lease_ms=max(1, int(lease * 1000)),
            timer_lease_ms=max(1, int(timer_lease * 1000)),
            outbox_lease_ms=max(1, int(outbox_lease * 1000)),
            concurrency=concurrency,
            batch=batch,
        )
        try:
            for machine in setup.machines:
                outage.call(partial(engine.register, machine))
            for pattern, listener in setup.listeners.items():
                runner.listen(pattern, listener)  # type: ignore[arg-type]
            for schedule in setup.schedules:
                runner.schedule(schedule)  # type: ignore[arg-type]
        except StatewrightError as error:
            console.print(f"[red]{machines or 'statewright.toml'}: {error}[/red]")
            raise typer.Exit(1) from None
        if once:
            done = runner.run_once()
            console.print(f"ran {done} unit{'s' if done != 1 else ''} of due work")
            return
        try:
            runner.run(poll_ms=max(1, int(poll * 1000)))
        except StatewrightError:
            raise typer.Exit(1) from None  # the worker logged the cause, on one line
