"""`statewright validate`: check a definition and show its states and transitions."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

from statewright.chart import Machine as ChartMachine
from statewright.chart.implementations import Implementations
from statewright.chart.nodes import StateNode, Transition
from statewright.cli.definition_files import DEFINITION_HELP, definition_file
from statewright.cli.machines_file import (
    load_machines_or_implementations,
    project_implementations,
    shown_path,
)
from statewright.cli.project import PROJECT_FILE
from statewright.cli.session import JsonOption, error_json, load_project, print_json
from statewright.definitions import Machine
from statewright.engine.registry import storable_faults
from statewright.errors import DefinitionError, Fault, StatewrightError

__all__ = ["render_tree", "validate"]

_KINDS = ("guards", "actions", "actors", "delays")


def validate(
    path: Annotated[Path, typer.Argument(help=DEFINITION_HELP)],
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only faults and warnings, not the states.")
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            help="Also fail on warnings, and when guards, actions, delays or steps are not "
            "provided."
        ),
    ] = False,
    machines: Annotated[
        Path | None,
        typer.Option(
            help="A Python file defining MACHINES = [...] (the machine with the definition's "
            "id), or a project's implementations file defining GUARDS, ACTIONS, ACTORS, "
            "DELAYS: check the definition against those implementations."
        ),
    ] = None,
    implementations: Annotated[
        str | None,
        typer.Option(
            help="module:attr naming a Machine, an Implementations or a dict of kind -> "
            "name -> function (guards, actions, actors, delays) to check the definition "
            "against."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Validate a machine definition: every fault with its JSON path and a fix.

    On success, print its states and transitions. Implementations the definition names (guards,
    actions, delays, steps) are Python code provided at run time; they are listed, and only
    fail the check with --strict. With --machines or --implementations (in a project, with
    neither, against its statewright.toml's implementations file) they are checked: a
    missing guard, action or delay fails (Engine.register would refuse the definition), a
    missing step is listed (workers provide steps). An "after" key that reads as a duration
    statewright cannot parse ("1 minute") always fails. Warnings (what XState accepts but is
    probably a mistake, such as a raised event no state handles) are printed with their
    path and a fix; only --strict fails on them.

    With --json: one object with "valid", "machine", "states", and the "faults", "warnings"
    and "missing" implementations, each with its "path", "message" and "fix", and what it
    was "checked_against".

    Exit status: 0 valid, 1 faults (or, with --strict, warnings or missing implementations),
    2 a bad option.

    Example: statewright validate definitions/order.json --machines implementations.py
    """
    console = Console(highlight=False, soft_wrap=True)
    by_project = machines is None and implementations is None
    # In a project: its implementations file, as if given with --machines; PATH may be an id.
    project = load_project(as_json) if by_project or not path.exists() else None
    from_project = None
    if by_project:
        try:
            machines = from_project = project_implementations(project)
        except StatewrightError as error:
            _refuse_python_side(error, as_json)
    checked = machines is not None or implementations is not None
    against = _checked_against(machines, implementations)
    machine: ChartMachine | None = None
    warnings: tuple[Fault, ...] = ()
    shown = path  # as messages name the definition: the file found for an id
    try:
        file = definition_file(path, project)
        shown = path if path.exists() else file
        machine = _load(file, machines, implementations)
    except DefinitionError as error:
        # Loading stops at structural faults, and lists the missing implementations with them.
        machine_id = error.machine_id
        faults = tuple(fault for fault in error.faults if fault not in error.missing)
        missing = error.missing
        if checked:  # Engine.register would refuse the definition for these too
            faults += tuple(fault for fault in missing if not fault.message.startswith("actor "))
            missing = tuple(fault for fault in missing if fault not in faults)
        head = f"{shown}: {len(faults)} fault(s)"
        failed = True
    except StatewrightError as error:  # the --machines file could not be loaded
        _refuse_python_side(error, as_json)
    else:
        machine_id = machine.id
        faults = storable_faults(machine) + (
            machine.unrunnable_faults if checked else machine.misspelt_durations
        )
        missing = tuple(fault for fault in machine.missing_implementations if fault not in faults)
        warnings = machine.warnings
        what = "Engine.register refuses it" if checked else "it cannot be registered"
        head = f"{shown}: {len(faults)} fault(s) ({what})"
        failed = bool(faults) or (strict and bool(missing or warnings))
    if as_json:
        print_json(
            {
                "path": str(shown),
                "valid": not failed,
                "machine": machine_id,
                "states": None if machine is None else len(machine.states),
                "faults": faults,
                "warnings": warnings,
                "missing": missing,
                "checked_against": against,
            }
        )
    elif faults or machine is None:
        print_faults(console, head, faults)
        if machine_id is not None:  # the definition was read, and checked
            _print_checked_against(console, against, by_project=from_project is not None)
        _print_missing(console, missing, strict=strict, checked=checked)
    else:
        states = len(machine.states)
        console.print(f"[green]✓[/green] {shown}: machine {machine.id!r}, {states} states")
        _print_checked_against(console, against, by_project=from_project is not None)
        if warnings:
            _print_warnings(console, warnings, strict=strict)
        _print_missing(console, missing, strict=strict, checked=checked)
        if not quiet:
            console.print(render_tree(machine))
    if failed:
        raise typer.Exit(1)


def _refuse_python_side(error: StatewrightError, as_json: bool) -> NoReturn:
    """End the command for implementations that cannot be loaded: exit 2, the error on
    stderr and, with `as_json`, as JSON on stdout."""
    if as_json:
        print_json(error_json(error))
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[red]✗[/red] {error}")
    raise typer.Exit(2) from None


def _checked_against(machines: Path | None, implementations: str | None) -> list[str]:
    """What the definition is checked against: the file, the module:attr, or both."""
    found = [str(shown_path(machines))] if machines is not None else []
    return found + ([implementations] if implementations is not None else [])


def _print_checked_against(console: Console, against: list[str], *, by_project: bool) -> None:
    if not against:
        return
    given = f" ({PROJECT_FILE}'s implementations)" if by_project else ""
    console.print(f"  checked against {' and '.join(against)}{given}")


def _load(file: Path, machines: Path | None, implementations: str | None) -> ChartMachine:
    """The machine in `file`, provided with the --machines / --implementations side.

    Raises:
        DefinitionError: the definition has faults; what it lists as not provided is what the
            Python side, when given, leaves unprovided.
        StatewrightError: the --machines file or the implementations module cannot be loaded.
    """
    try:
        machine = Machine.load(file)
    except DefinitionError as error:
        if error.machine_id is None or (machines is None and implementations is None):
            raise
        # A definition with structural faults is never provided with the Python side, so the
        # faults list every implementation as missing: load it again with that side, so that
        # only what it leaves unprovided is listed.
        python_side = _python_side(error.machine_id, machines, implementations)
        Machine.load(file, **{kind: getattr(python_side, kind) for kind in _KINDS})
        raise
    return with_python_side(machine, machines, implementations)


def print_faults(console: Console, head: str, faults: tuple[Fault, ...]) -> None:
    console.print(f"[red]✗[/red] {head}")
    for fault in faults:
        console.print(f"  [bold]{fault.path or '(machine)'}[/bold]: {fault.message}")
        if fault.fix:
            console.print(f"    [dim]fix:[/dim] {fault.fix}")


def _print_missing(
    console: Console, missing: tuple[Fault, ...], *, strict: bool, checked: bool
) -> None:
    """List the implementations not provided: never faults, though --strict fails on them."""
    if not missing:
        return
    if strict:
        label = "[red]missing[/red]"
    elif checked:
        label = "[yellow]to run on workers that provide them[/yellow]"
    else:
        label = "[yellow]to provide at run time[/yellow]"
    console.print(f"  implementations {label}:")
    for fault in missing:
        console.print(f"    {fault.path}: {fault.message}")


def _print_warnings(console: Console, warnings: tuple[Fault, ...], *, strict: bool) -> None:
    count = f"{len(warnings)} warning{'s' if len(warnings) != 1 else ''}"
    label = "[red]failing --strict[/red]" if strict else "[yellow]it loads and runs[/yellow]"
    console.print(f"  {count} ({label}):")
    for warning in warnings:
        console.print(f"    [bold]{warning.path or '(machine)'}[/bold]: {warning.message}")
        if warning.fix:
            console.print(f"      [dim]fix:[/dim] {warning.fix}")


def with_python_side(
    machine: ChartMachine, machines: Path | None, implementations: str | None
) -> ChartMachine:
    """`machine` provided with the --machines / --implementations side, when either is given.

    Raises:
        DefinitionError: the implementations leave names of the definition unprovided.
        StatewrightError: the --machines file or the implementations module cannot be loaded.
    """
    if machines is None and implementations is None:
        return machine
    python_side = _python_side(machine.id, machines, implementations)
    return machine.provide(**{kind: getattr(python_side, kind) for kind in _KINDS})


def _python_side(
    machine_id: str, machines: Path | None, implementations: str | None
) -> Implementations:
    """The implementations to check `machine_id` against: those of the machine with that
    id in the --machines file (or, for an implementations file as `init` writes it, its
    GUARDS, ACTIONS, ACTORS and DELAYS), laid under those --implementations names."""
    found = Implementations(guards={}, actions={}, actors={}, delays={})
    if machines is not None:
        machines_or_provided = load_machines_or_implementations(machines)
        if isinstance(machines_or_provided, dict):
            found = found.merged(**machines_or_provided)
        else:
            found = _machine_of(machine_id, machines, machines_or_provided).implementations
    if implementations is not None:
        extra = _import_implementations(implementations)
        found = found.merged(**{kind: getattr(extra, kind) for kind in _KINDS})
    return found


def _machine_of(machine_id: str, machines: Path, loaded: list[Machine]) -> Machine:
    by_id = {machine.id: machine for machine in loaded}
    if machine_id not in by_id:
        raise typer.BadParameter(
            f"{machines} defines no machine {machine_id!r} in MACHINES (it defines "
            f"{', '.join(sorted(by_id)) or 'none'}); add it, or check the definition's id",
            param_hint="--machines",
        )
    return by_id[machine_id]


def _import_implementations(spec: str) -> Implementations:
    """Import `module:attr`: a Machine, an Implementations, or a dict of kind -> mapping."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise typer.BadParameter(
            f"{spec!r} is not module:attr; write e.g. myapp.orders:MACHINE",
            param_hint="--implementations",
        )
    # The current folder is importable, as `python -m` has it, while the module loads.
    folder = os.getcwd()
    added = folder not in sys.path and "" not in sys.path
    if added:
        sys.path.insert(0, folder)
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # an ImportError, or whatever the module raised on import
        raise typer.BadParameter(
            f"cannot import {module_name!r}: {type(error).__name__}: {error}; check the "
            "module name and run from the folder it is importable from",
            param_hint="--implementations",
        ) from None
    finally:
        if added:
            sys.path.remove(folder)
    value = module
    for part in attr.split("."):
        if not hasattr(value, part):
            raise typer.BadParameter(
                f"module {module_name!r} has no {attr!r}; check the name after the colon",
                param_hint="--implementations",
            )
        value = getattr(value, part)
    if isinstance(value, ChartMachine):
        return value.implementations
    if isinstance(value, Implementations):
        return value
    if isinstance(value, Mapping) and set(value) <= set(_KINDS):
        kinds = {kind: value.get(kind) or {} for kind in _KINDS}
        empty = Implementations(guards={}, actions={}, actors={}, delays={})
        return empty.merged(**kinds)
    if isinstance(value, Mapping):
        # A dict of one kind (implementations:ACTORS): its keys are names, not kinds.
        keys = ", ".join(sorted(map(str, value))[:3]) or "none"
        what = f"a dict keyed by {keys}, not by kind"
    else:
        what = f"a {type(value).__name__}"
    raise typer.BadParameter(
        f"{spec} is {what}; point it at a Machine, an Implementations or a dict of kind -> "
        'name -> function such as {"guards": {...}, "actors": {...}} (for a file with '
        "GUARDS, ACTIONS, ACTORS, DELAYS, as init writes it, use --machines FILE)",
        param_hint="--implementations",
    )


def render_tree(machine: ChartMachine) -> Tree:
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
    if node.type == "history":
        kind = f" [dim]({_history_label(node)})[/dim]"
    elif node.type in ("parallel", "final"):
        kind = f" [dim]({node.type})[/dim]"
    else:
        kind = ""
    initial = ""
    if node.type == "compound" and node.initial and node.initial.targets:
        initial = f" [dim]initial: {node.initial.targets[0].key}[/dim]"
    # Without "#": XState writes a state id so ("#order.review"), never a tag.
    tags = ""
    if node.tags:
        tags = f" [cyan]{escape('[tags: ' + ', '.join(node.tags) + ']')}[/cyan]"
    return f"[bold]{node.key}[/bold]{kind}{initial}{tags}"


def _history_label(node: StateNode) -> str:
    """`history: deep, default → m.a.b`: its mode, and where it goes with nothing remembered
    (its own target, or else its parent's initial state, as the chart resolves it)."""
    default = node.initial.targets if node.initial else None
    goes = f", default → {', '.join(t.id for t in default)}" if default else ""
    return f"history: {node.history}{goes}"


def _transition_label(event: str, transition: Transition) -> str:
    if transition.targets is None:
        target = "(stays)"
    else:
        target = ", ".join(t.id for t in transition.targets)
    # Only a reentering transition exits and re-enters a target it is already in (or its
    # source, for a self-transition): shown, or the two would read the same.
    reenter = " [dim](reenter)[/dim]" if transition.reenter else ""
    guard = f" [yellow]if {transition.guard_label}[/yellow]" if transition.guard else ""
    return f"[green]{event}[/green] → {target}{reenter}{guard}"
