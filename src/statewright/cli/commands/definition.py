"""`statewright validate`: check a definition and show its states and transitions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.tree import Tree

from statewright.chart.nodes import StateNode, Transition
from statewright.definitions import Machine
from statewright.errors import DefinitionError

__all__ = ["render_tree", "validate"]


def validate(
    path: Annotated[Path, typer.Argument(help="A machine definition: .json, .yaml or .yml.")],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only faults.")] = False,
    strict: Annotated[
        bool,
        typer.Option(help="Also fail when guards, actions, delays or steps are not provided."),
    ] = False,
) -> None:
    """Validate a machine definition: every fault with its JSON path and a fix.

    On success, print its states and transitions. Implementations the definition names (guards,
    actions, delays, steps) are Python code provided at run time; they are listed, and only
    fail the check with --strict.
    """
    console = Console(highlight=False, soft_wrap=True)
    try:
        machine = Machine.load(path)
    except DefinitionError as error:
        console.print(f"[red]✗[/red] {path}: {len(error.faults)} fault(s)")
        for fault in error.faults:
            console.print(f"  [bold]{fault.path or '(machine)'}[/bold]: {fault.message}")
            if fault.fix:
                console.print(f"    [dim]fix:[/dim] {fault.fix}")
        raise typer.Exit(1) from None
    missing = machine.missing_implementations
    console.print(f"[green]✓[/green] {path}: machine {machine.id!r}, {len(machine.states)} states")
    if missing:
        label = "[red]missing[/red]" if strict else "[yellow]to provide at run time[/yellow]"
        console.print(f"  implementations {label}:")
        for fault in missing:
            console.print(f"    {fault.path}: {fault.message}")
    if not quiet:
        console.print(render_tree(machine))
    if strict and missing:
        raise typer.Exit(1)


def render_tree(machine: Machine) -> Tree:
    """A Rich tree of the machine's states with their transitions."""
    tree = Tree(_label(machine.root))
    _add_children(tree, machine.root)
    return tree


def _add_children(branch: Tree, node: StateNode) -> None:
    for event, transitions in node.transitions.items():
        for transition in transitions:
            branch.add(_transition_label(event, transition))
    for transition in node.always:
        branch.add(_transition_label("(always)", transition))
    for invoke in node.invoke:
        branch.add(f"[magenta]invoke[/magenta] {invoke.src} (id {invoke.id})")
    for child in node.children.values():
        _add_children(branch.add(_label(child)), child)


def _label(node: StateNode) -> str:
    kind = "" if node.type in ("atomic", "compound") else f" [dim]({node.type})[/dim]"
    initial = ""
    if node.type == "compound" and node.initial and node.initial.targets:
        initial = f" [dim]initial: {node.initial.targets[0].key}[/dim]"
    tags = f" [cyan]#{' #'.join(node.tags)}[/cyan]" if node.tags else ""
    return f"[bold]{node.key}[/bold]{kind}{initial}{tags}"


def _transition_label(event: str, transition: Transition) -> str:
    if transition.targets is None:
        target = "(stays)"
    else:
        target = ", ".join(t.id for t in transition.targets)
    guard = f" [yellow]if {transition.guard_label}[/yellow]" if transition.guard else ""
    return f"[green]{event}[/green] → {target}{guard}"
