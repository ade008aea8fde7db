"""`statewright paths`: the shortest event path to every state a definition can reach."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import yaml
from rich.console import Console
from rich.table import Table

from statewright.chart import Machine as ChartMachine
from statewright.cli.commands.definition import print_faults, with_python_side
from statewright.cli.definition_files import DEFINITION_HELP, definition_file
from statewright.cli.machines_file import project_implementations
from statewright.cli.session import end_with, error_json, load_project, print_json
from statewright.cli.tables import print_table, text, whole
from statewright.definitions import Machine
from statewright.errors import DefinitionError, PathError, StatewrightError
from statewright.testing.path_options import state_filter
from statewright.testing.paths import DEFAULT_LIMIT, format_event, format_value
from statewright.testing.paths import Path as TestPath
from statewright.testing.paths import paths as find_paths

__all__ = ["paths"]

_SERIALIZE = ("full", "xstate", "value")


def paths(
    definition: Annotated[Path, typer.Argument(help=DEFINITION_HELP)],
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="Only paths to states matching this: a state value ('payment', "
            "'fulfilment.shipping.preparing', or JSON), or a state id ('#order.payment').",
        ),
    ] = None,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Continue from every reached state matching this (same forms as --to).",
        ),
    ] = None,
    events: Annotated[
        Path | None,
        typer.Option(
            help="A JSON or YAML file of sample events: event type -> list of events, e.g. "
            '{"APPROVE": [{"by": "ann"}]}. Types not listed are sent as {"type": T}.'
        ),
    ] = None,
    input: Annotated[str | None, typer.Option(help="The machine's input, as JSON.")] = None,
    simple: Annotated[
        bool, typer.Option(help="Every simple path (no state twice), not one shortest path.")
    ] = False,
    serialize: Annotated[
        str,
        typer.Option(
            help="What makes two snapshots one state: full (value, context, status, "
            "history), xstate (value and context) or value."
        ),
    ] = "full",
    limit: Annotated[
        int, typer.Option(help="Give up after finding this many states (or simple paths).")
    ] = DEFAULT_LIMIT,
    machines: Annotated[
        Path | None,
        typer.Option(
            help="A Python file defining MACHINES = [...]: explore with the implementations "
            "of the machine with the definition's id."
        ),
    ] = None,
    implementations: Annotated[
        str | None,
        typer.Option(
            help="module:attr naming a Machine, an Implementations or a dict of kind -> "
            "name -> function, to explore with."
        ),
    ] = None,
    context: Annotated[
        bool, typer.Option("--context", help="Show each state's context in the table.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the paths as JSON.")] = False,
) -> None:
    """Show the shortest event path to every state the definition can reach.

    The machine is explored with its pure chart, as XState's @xstate/graph getShortestPaths
    does: in each state every event the active states handle is sent (a timer as
    xstate.after.<delay>.<state id>, a step's result as xstate.done.actor.<id> or
    xstate.error.actor.<id>), with guards evaluated on the sample events of --events. Guards
    and actions written in Python come from --machines or --implementations, or, in a
    project, from its statewright.toml's implementations file.

    Example: statewright paths examples/order/order.json --events examples/order/sample-events.json
    """
    console = Console(highlight=False, soft_wrap=True)
    if serialize not in _SERIALIZE:
        raise typer.BadParameter(
            f"{serialize!r} is not one of {', '.join(_SERIALIZE)}", param_hint="--serialize"
        )
    by_project = machines is None and implementations is None
    # In a project: its implementations file, as `start`, and DEFINITION may be an id.
    project = load_project(as_json) if by_project or not definition.exists() else None
    shown = definition  # as messages name the definition: the file found for an id
    try:
        if by_project:
            machines = project_implementations(project)
        file = definition_file(definition, project)
        shown = definition if definition.exists() else file
        machine = with_python_side(Machine.load(file), machines, implementations)
        from_state = _state_option(from_) if from_ is not None else None
        to_state = _state_option(to) if to is not None else None
        # Checked here first, so that an unknown state is reported under the option's name.
        for spec, option in ((from_state, "--from"), (to_state, "--to")):
            if spec is not None:
                state_filter(machine, spec, option)
        start_input = _json_option(input, "--input") if input is not None else None
        _check_start(machine, start_input, input)
        found = find_paths(
            machine,
            events=_read_events(events) if events is not None else None,
            input=start_input,
            from_state=from_state,
            to_state=to_state,
            simple=simple,
            serialize=serialize,  # type: ignore[arg-type]
            limit=limit,
        )
    except DefinitionError as error:
        if as_json:  # stdout is the script's: the error as JSON there, the faults on stderr
            print_json({"error": type(error).__name__, "message": str(error),
                        "faults": [str(fault) for fault in error.faults]})  # fmt: skip
            console = Console(stderr=True, highlight=False, soft_wrap=True)
        print_faults(console, f"{shown}: {len(error.faults)} fault(s)", error.faults)
        raise typer.Exit(1) from None
    except PathError as error:  # exit 1: a state no machine state matches, or the limit
        _refuse(error, as_json, 1)
    except StatewrightError as error:  # the --machines file could not be loaded: exit 2
        _refuse(error, as_json, 2)
    if as_json:
        typer.echo(json.dumps([path.to_json() for path in found], indent=2, default=repr))
        return
    print_table(console, _table(machine, found, simple, context))
    if not found:
        console.print(
            "[yellow]no reachable state matches --to[/yellow]; check the state, or give "
            "sample events (--events) whose guards let the machine get there"
        )


def _check_start(machine: ChartMachine, start_input: Any, given: str | None) -> None:
    """Refuse to explore a machine whose start fails, as `statewright start` refuses to start
    it: the exploration would hold one state in error, and the cause would be lost.

    Raises:
        PathError: naming the cause (the error the start got) and `--input` as the fix.
    """
    try:
        snapshot = machine.initial_transition(start_input).snapshot
    except DefinitionError:
        raise
    except StatewrightError as error:
        cause: object = error
    else:
        if snapshot.status != "error":
            return
        cause = snapshot.error
    started = "with no --input" if given is None else f"with --input '{given}'"
    raise PathError(
        f"machine {machine.id!r} cannot start {started}: {cause}; give the input its "
        "definition reads: --input '{...}'"
    )


def _table(machine: ChartMachine, found: list[TestPath], simple: bool, with_context: bool) -> Table:
    kind = "simple" if simple else "shortest"
    columns = [text("state"), *([text("context")] if with_context else [])]
    columns += [whole("steps", justify="right"), text("events")]
    table = Table(*columns, title=f"{machine.id}: {len(found)} {kind} path(s)")
    for path in found:
        snapshot = path.snapshot
        state = format_value(snapshot.value)
        if snapshot.status != "active":
            state += f" ({snapshot.status})"
        row = [state]
        if with_context:
            row.append(json.dumps(dict(snapshot.context), sort_keys=True, default=repr))
        events = " → ".join(format_event(event) for event in path.events) or "(start)"
        table.add_row(*row, str(len(path)), events)
    return table


def _read_events(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise typer.BadParameter(
            f"cannot read {path}: {error.strerror}; check the path", param_hint="--events"
        ) from None
    try:
        return yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    except (ValueError, yaml.YAMLError) as error:
        raise typer.BadParameter(
            f"{path} is not valid {'YAML' if path.suffix != '.json' else 'JSON'}: {error}",
            param_hint="--events",
        ) from None


def _json_option(text: str, name: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise typer.BadParameter(
            f"{text!r} is not JSON ({error}); write e.g. '{{\"amount\": 2500}}'",
            param_hint=name,
        ) from None


def _state_option(text: str) -> Any:
    """A state value as text (`a.b`, `#id`), or as JSON when it starts with `{`."""
    return _json_option(text, "--to/--from") if text.lstrip().startswith("{") else text


def _refuse(error: StatewrightError, as_json: bool, code: int) -> NoReturn:
    """End the command for `error` as every command ends: one line on stderr and, with
    `--json`, the JSON error object on stdout."""
    if as_json:
        print_json(error_json(error))
    end_with(code, error)
