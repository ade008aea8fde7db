"""`statewright worker`: run due timers, steps and outbox deliveries for a store."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Annotated

import typer

from statewright.cli.logs import LogFormat, configure_logging
from statewright.cli.machines_file import WorkerSetup
from statewright.cli.project import resolve_store_url
from statewright.cli.session import check_store_named, end_with, load_project, load_setup
from statewright.engine import Engine
from statewright.errors import ConfigError, StatewrightError, StoreError, StoreUnavailable
from statewright.runtime import Worker
from statewright.runtime.outage import Outage
from statewright.runtime.outbox import OUTBOX_LEASE_MS
from statewright.runtime.step_context import CANCEL_CHECK_MS
from statewright.runtime.steps import DEFAULT_BATCH, DEFAULT_CONCURRENCY, DEFAULT_LEASE_MS
from statewright.runtime.worker import TIMER_LEASE_MS
from statewright.store.url import DEFAULT_URL, URL_VARIABLE, redact_url

__all__ = ["LEASE_MIN_S", "MAX_S", "POLL_MIN_S", "STORE_WAIT_S", "worker"]

#: The shortest lease of each kind, in seconds. A running step's lease is renewed every
#: `CANCEL_CHECK_MS` (every third of the lease when that is shorter); a shorter lease would
#: lapse between renewals, or during one slow commit, and another worker would take the step
#: (its side effects happening twice), the timer or the message while it is still in hand.
LEASE_MIN_S = CANCEL_CHECK_MS / 1000
#: The shortest `--poll`: below it a worker asks its store for work all the time.
POLL_MIN_S = 0.01
#: The longest any duration option takes: a day.
MAX_S = 86_400
#: How long a worker waits at start for a store that cannot be reached.
STORE_WAIT_S = 60.0

_LEASE_WHY = (
    "a running step's lease is renewed every second, and a shorter one lets another worker "
    "take the step while it runs (its side effects happening twice)"
)
_TIMER_LEASE_WHY = (
    "a claimed timer is held while its transition commits, and a shorter lease lets another "
    "worker claim it meanwhile"
)
_OUTBOX_LEASE_WHY = (
    "a claimed message is held while its listeners run, and a shorter lease delivers it twice"
)
_POLL_WHY = "a shorter wait would ask the store for work all the time"
_WAIT_WHY = "0 tries the store once"


def _seconds(minimum_s: float, why: str) -> Callable[[float], float]:
    """A check that an option's seconds are a number from `minimum_s` to a day, else a usage
    error (exit 2) naming the option (click adds it) and saying `why` that minimum."""

    def check(value: float) -> float:
        if not math.isfinite(value) or not minimum_s <= value <= MAX_S:
            raise typer.BadParameter(
                f"{value:g} is not a number of seconds from {minimum_s:g} to {MAX_S} (a day); {why}"
            )
        return value

    return check


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
    once: Annotated[
        bool,
        typer.Option("--once", help="Drain the due work and exit (never waits for the store)."),
    ] = False,
    poll: Annotated[
        float,
        typer.Option(
            callback=_seconds(POLL_MIN_S, _POLL_WHY),
            help=f"Seconds to wait when nothing is due (at least {POLL_MIN_S:g}).",
        ),
    ] = 1.0,
    lease: Annotated[
        float,
        typer.Option(
            callback=_seconds(LEASE_MIN_S, _LEASE_WHY),
            help="Seconds a claimed step is ours before another worker may take it "
            "over; renewed while the step runs, so a dead worker's step moves after this long "
            f"(at least {LEASE_MIN_S:g}).",
        ),
    ] = DEFAULT_LEASE_MS / 1000,
    timer_lease: Annotated[
        float,
        typer.Option(
            callback=_seconds(LEASE_MIN_S, _TIMER_LEASE_WHY),
            help="Seconds a claimed due timer is ours while its transition commits; "
            f"a dead worker's timers fire after this long (at least {LEASE_MIN_S:g}).",
        ),
    ] = TIMER_LEASE_MS / 1000,
    outbox_lease: Annotated[
        float,
        typer.Option(
            callback=_seconds(LEASE_MIN_S, _OUTBOX_LEASE_WHY),
            help="Seconds a claimed outbox message is ours before another worker may "
            "deliver it; renewed while its listeners run, so a dead worker's messages move "
            "after this long; a webhook's deadline must be shorter "
            f"(at least {LEASE_MIN_S:g}).",
        ),
    ] = OUTBOX_LEASE_MS / 1000,
    wait_for_store: Annotated[
        float,
        typer.Option(
            callback=_seconds(0, _WAIT_WHY),
            help="Seconds to wait at start for a store that cannot be reached (a restart, "
            "a failover) before giving up with exit status 5; 0: one try. Once running, "
            "the worker waits out outages however long they last.",
        ),
    ] = STORE_WAIT_S,
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
    project = load_project(False)  # a broken statewright.toml: exit 2, as for every command
    # Read before the store is opened: a broken file exits 2 (1 for a definition's faults)
    # and changes nothing, as for every command that loads it.
    setup = load_setup(machines, project, False)
    given, url = url, resolve_store_url(url, project)
    try:
        check_store_named(given, project, url)
    except StatewrightError as error:
        end_with(_exit_code(error), error)
    source = str(machines or "statewright.toml")
    with _open(url, setup, wait_s=0 if once else wait_for_store, source=source) as engine:
        runner = Worker(
            engine,
            step_lease_ms=round(lease * 1000),
            timer_lease_ms=round(timer_lease * 1000),
            outbox_lease_ms=round(outbox_lease * 1000),
            outbox_retry=setup.outbox_retry,
            concurrency=concurrency,
            batch=batch,
        )
        try:
            for pattern, listener in setup.listeners.items():
                runner.listen(pattern, listener)  # type: ignore[arg-type]
            for schedule in setup.schedules:
                runner.schedule(schedule)  # type: ignore[arg-type]
        except StatewrightError as error:
            end_with(1, f"{source}: {error}")
        if once:
            try:
                runner.check()  # before anything is claimed, as `run` does
                done = runner.run_once()
            except StatewrightError as error:
                end_with(_exit_code(error), str(error))
            typer.echo(f"ran {done} unit{'s' if done != 1 else ''} of due work")
            return
        try:
            runner.run(poll_ms=round(poll * 1000))
        except StatewrightError as error:
            # The worker logged the cause, on one line.
            raise typer.Exit(_exit_code(error)) from None


@contextmanager
def _open(url: str, setup: WorkerSetup, *, wait_s: float, source: str) -> Iterator[Engine]:
    """The engine on `url` with the setup's machines registered.

    A store that cannot be reached is tried again for up to `wait_s` (a restart or a
    failover at start, logged once as any outage), then the command ends with one line and
    exit status 5. A store that waiting cannot fix (schema out of date, a damaged, missing
    or read-only file, another application's database) exits 5 at once, a bad URL 2, a
    definition `source` does not provide for 1, as docs/operations.md says.
    """
    gave_up = threading.Event()
    if wait_s == 0:
        gave_up.set()  # one try, nothing logged: `--once` and `--wait-for-store 0`
    deadline = threading.Timer(wait_s, gave_up.set)
    deadline.daemon = True
    deadline.start()
    outage = Outage(redact_url(url), gave_up)
    try:
        engine = outage.call(lambda: Engine.open(url, create=False))
    except StatewrightError as error:
        deadline.cancel()
        end_with(_exit_code(error), _waited(error, wait_s))
    with engine:
        try:
            for machine in setup.machines:
                outage.call(partial(engine.register, machine))
        except StatewrightError as error:
            deadline.cancel()
            if isinstance(error, StoreError):
                end_with(5, _waited(error, wait_s))
            end_with(1, f"{source}: {error}")
        deadline.cancel()
        yield engine


def _exit_code(error: StatewrightError) -> int:
    """5 for a store that cannot be used (unreachable, or a fault waiting cannot fix:
    docs/operations.md, "What stops a worker"), 2 for a bad URL, 1 for any other fault
    (docs/cli.md's table)."""
    if isinstance(error, StoreError):
        return 5
    return 2 if isinstance(error, ConfigError) else 1


def _waited(error: StatewrightError, wait_s: float) -> str:
    if isinstance(error, StoreUnavailable) and wait_s:
        return f"{error} (waited {wait_s:g} s for it at start; --wait-for-store sets how long)"
    return str(error)
