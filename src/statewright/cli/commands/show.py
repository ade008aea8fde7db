"""`statewright show` (one instance whole: business state beside runtime status, context,
pending timers, steps, the events it accepts, its history as a timeline) and `history`."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from statewright.cli.render import at, instance_data, one_line, state_text
from statewright.cli.session import JsonOption, TenantOption, UrlOption, open_session, print_json
from statewright.cli.tables import print_table, text, whole
from statewright.engine import Engine
from statewright.engine.views import AuditEntry, StepAttempt
from statewright.engine.work_views import PendingTimer, StepRun

__all__ = ["history", "show"]

InstanceArgument = Annotated[str, typer.Argument(help="The instance id.")]


def show(
    instance_id: InstanceArgument,
    url: UrlOption = None,
    tenant: TenantOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show an instance whole: its state, context, timers, steps, accepted events, history.

    Business state and runtime status side by side, the context, pending timers with due
    times, steps with attempts and last error, the events it accepts now, and its history as
    a timeline.

    Example: statewright show A-1
    """
    with open_session(url, tenant, as_json) as session:
        engine, who = session.engine, session.tenant
        instance = engine.get(instance_id, tenant=who)
        timers = engine.timers(instance_id, tenant=who, limit=1000)
        steps = engine.steps(instance_id, tenant=who, limit=1000)
        accepted = engine.accepted(instance_id, tenant=who)
        entries = engine.history(instance_id, tenant=who, attempts=True)
        if as_json:
            print_json(
                {
                    **instance_data(instance),
                    "timers": list(timers),
                    "steps": list(steps),
                    "accepted": accepted.events,
                    "history": [_entry_data(e) for e in entries],
                }
            )
            return
        console = session.console
        side = Table(
            text("business state"),
            text("runtime status"),
            whole("version"),
            whole("definition"),
            box=None,
        )
        runtime = instance.runtime_status
        if instance.waiting_for:
            runtime += f" (waiting for {instance.waiting_for})"
        side.add_row(
            f"[bold]{state_text(instance.value)}[/bold] ({instance.status})",
            runtime,
            str(instance.version),
            f"{instance.definition_id} v{instance.definition_version}",
        )
        console.print(f"[bold]{instance.id}[/bold] (tenant {instance.tenant})")
        print_table(console, side)
        console.print("[dim]context[/dim]")
        console.print(json.dumps(instance.context, indent=2, ensure_ascii=False))
        _timers(console, timers, engine)
        _steps(console, steps)
        if accepted.events:
            names = ", ".join(e.type + ("?" if e.guarded else "") for e in accepted.events)
            console.print(f"[dim]accepts now[/dim] {names}  [dim](? : guarded)[/dim]")
        console.print("[dim]history[/dim]")
        print_table(console, _timeline(entries))


def history(
    instance_id: InstanceArgument,
    attempts: Annotated[
        bool, typer.Option("--attempts", help="Also the failed step attempts, in time order.")
    ] = False,
    url: UrlOption = None,
    tenant: TenantOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every committed transition of an instance, oldest first, as a timeline.

    Example: statewright history A-1 --attempts
    """
    with open_session(url, tenant, as_json) as session:
        if attempts:
            entries: list[AuditEntry | StepAttempt] = session.engine.history(
                instance_id, tenant=session.tenant, attempts=True
            )
        else:
            entries = list(session.engine.history(instance_id, tenant=session.tenant))
        if as_json:
            print_json([_entry_data(e) for e in entries])
            return
        print_table(session.console, _timeline(entries))


def _entry_data(entry: AuditEntry | StepAttempt) -> dict[str, object]:
    import dataclasses

    return {"kind": entry.kind, **dataclasses.asdict(entry)}


def _timers(console: Console, timers: list[PendingTimer], engine: Engine) -> None:
    if not timers:
        console.print("[dim]timers[/dim] none pending")
        return
    now = engine.clock.now()
    table = Table(
        whole("timer"),
        whole("due at"),
        whole("in"),
        text("event"),
        title="pending timers",
        title_justify="left",
    )
    for timer in timers:
        due = timer.due_at
        table.add_row(
            timer.timer_id,
            at(due),
            _duration(due - now),
            one_line(timer.event, 40),
        )
    print_table(console, table)


def _steps(console: Console, steps: list[StepRun]) -> None:
    if not steps:
        console.print("[dim]steps[/dim] none running")
        return
    table = Table(
        whole("step"),
        whole("src"),
        whole("status"),
        whole("attempts"),
        whole("next attempt"),
        text("last error"),
        title="steps",
        title_justify="left",
    )
    for run in steps:
        most = run.max_attempts
        due = at(run.next_attempt_at) if run.status != "running" else "-"
        tries = f"{run.attempts}" + (f" of {most}" if most else "")
        table.add_row(run.invoke_id, run.src, run.status, tries, due, run.last_error or "")
    print_table(console, table)


def _timeline(entries: list[AuditEntry] | list[AuditEntry | StepAttempt]) -> Table:
    table = Table(
        whole("v"),
        whole("at"),
        text("event"),
        text("by"),
        text("from → to"),
        whole("runtime"),
        box=None,
    )
    for entry in entries:
        if isinstance(entry, StepAttempt):
            table.add_row(
                "",
                at(entry.ended_at),
                f"[red]✗ {entry.invoke_id} attempt {entry.attempt}[/red]",
                "",
                f"{entry.error_type}: {entry.error_message}",
                "",
            )
            continue
        payload = {k: v for k, v in entry.event.items() if k != "type"}
        event = str(entry.event.get("type"))
        if payload:
            event += " " + one_line(payload, 50)
        moved = (
            state_text(entry.to_value)
            if entry.from_value is None
            else f"{state_text(entry.from_value)} → {state_text(entry.to_value)}"
        )
        table.add_row(
            str(entry.seq), at(entry.at), event, entry.actor or "", moved, entry.runtime_status
        )
    return table


def _duration(ms: int) -> str:
    """How long until then: `47h 59m`, `5m 3s`, `due now`."""
    if ms <= 0:
        return "due now"
    days, rest = divmod(ms // 1000, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {seconds}s" if minutes else f"{seconds}s"
