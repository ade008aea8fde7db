"""`statewright demo --offline`: the order example stepped in memory on a virtual clock,
printing every state it passes (no store, no server: the chart alone)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from statewright.chart import Effect, Emit, ScheduleTimer, StartStep
from statewright.chart.implementations import UserFunction
from statewright.definitions import Machine
from statewright.errors import StatewrightError
from statewright.testing import Actor

__all__ = ["walk_through"]

#: (order input, then the script: events to send or time to let pass)
_SCENARIOS: list[tuple[str, dict[str, object], list[dict[str, object] | str]]] = [
    (
        "a small order is approved automatically",
        {"orderId": "A-1001", "amount": 250},
        [{"type": "RESERVED"}, {"type": "SHIPPED", "tracking": "TRK-1"}],
    ),
    (
        "a large order waits 48 hours, escalates, and a manager approves it",
        {"orderId": "A-1002", "amount": 2500},
        [
            "48h",
            {"type": "APPROVE", "by": "manager"},
            {"type": "SHIPPED", "tracking": "TRK-2"},
            {"type": "RESERVED"},
        ],
    ),
    (
        "the card is declined; the order goes to manual review and is cancelled",
        {"orderId": "A-1003", "amount": 7000},
        [{"type": "APPROVE", "by": "ann"}, {"type": "CANCEL"}],
    ),
]


def walk_through(example: Path) -> None:
    """Step the order workflow of the `example` folder (order.json and steps.py) through
    three orders in memory, printing each state."""
    console = Console(highlight=False)
    try:
        machine = Machine.load(example / "order.json", actors=_load_actors(example / "steps.py"))
    except (StatewrightError, OSError) as error:
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            f"cannot load the order example from {example}: {error}; run the demo from the "
            "repository root, or give --examples the repository's examples folder",
            style="red",
            markup=False,
        )
        raise typer.Exit(1) from None
    for title, order_input, script in _SCENARIOS:
        console.rule(f"[bold]{order_input['orderId']}[/bold]: {title}")
        actor = Actor(machine, input=order_input).start()
        _show(console, actor, 0)
        for step in script:
            seen = len(actor.macrosteps)
            if isinstance(step, str):
                console.print(f"  [dim]... {step} pass ...[/dim]")
                actor.advance(step)
            else:
                actor.send(step)
            _show(console, actor, seen)
        output = actor.snapshot.output
        console.print(f"  [bold]{actor.snapshot.status}[/bold], output {output}\n")


def _show(console: Console, actor: Actor, seen: int) -> None:
    """Print each macrostep since `seen`: the event, the state reached, what it asked for."""
    for step in actor.macrosteps[seen:]:
        microsteps = step.microsteps
        label = microsteps[0].event if microsteps else "(ignored)"
        snapshot = step.snapshot
        # Without "#", which XState keeps for state ids; as `validate`'s tree shows tags.
        shown = ", ".join(sorted(snapshot.tags))
        tags = f" [cyan]\\[tags: {escape(shown)}][/cyan]" if snapshot.tags else ""
        console.print(f"  [green]{label}[/green] → [bold]{snapshot.value}[/bold]{tags}")
        for effect in step.effects:
            text = _describe(effect)
            if text:
                console.print(f"      [dim]{text}[/dim]")


def _describe(effect: Effect) -> str:
    if isinstance(effect, ScheduleTimer):
        return f"timer {effect.id} in {effect.delay_ms / 3_600_000:g} h"
    if isinstance(effect, StartStep):
        return f"step {effect.src} started with {effect.input}"
    if isinstance(effect, Emit):
        return f"outbox message {dict(effect.event)}"
    return ""


def _load_actors(path: Path) -> dict[str, UserFunction]:
    spec = importlib.util.spec_from_file_location("statewright_example_order_steps", path)
    if spec is None or spec.loader is None:
        raise OSError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    actors = getattr(module, "ACTORS", None)
    if not isinstance(actors, dict):
        raise OSError(f"{path} defines no ACTORS dict")
    return actors
