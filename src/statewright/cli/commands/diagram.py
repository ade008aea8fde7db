"""`statewright diagram`: draw a definition's statechart as a standalone SVG file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from statewright.cli.commands.definition import print_faults
from statewright.cli.definition_files import DEFINITION_HELP, definition_file
from statewright.cli.session import load_project
from statewright.definitions import Machine
from statewright.diagram import DiagramUnavailable, diagram_model, layout_model, render_svg
from statewright.errors import DefinitionError

__all__ = ["diagram"]


def diagram(
    definition: Annotated[Path, typer.Argument(help=DEFINITION_HELP)],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to this file instead of standard output."),
    ] = None,
    layout_json: Annotated[
        bool,
        typer.Option(
            "--layout-json",
            help="Write the laid-out geometry (every state box, edge and label) as JSON "
            "instead of the SVG.",
        ),
    ] = False,
) -> None:
    """Draw the definition's statechart as SVG, exactly as the web console draws it.

    Compound and parallel states are nested boxes (a parallel state's regions dashed), every
    compound state has an initial marker, final states a double border; transitions are
    labelled orthogonal arrows (APPROVE, after 48h, done: payment, a guard's name in
    brackets). The layout is elkjs's, run in an embedded V8 (the package's "diagram" extra:
    mini-racer) or with node on PATH. The SVG stands alone: its styles are inside it.

    Example: statewright diagram examples/order/order.json -o order.svg
    """
    errors = Console(stderr=True, highlight=False, soft_wrap=True)
    project = None if definition.exists() else load_project(False)  # it may be an id
    shown = definition  # as messages name the definition: the file found for an id
    try:
        file = definition_file(definition, project)
        shown = definition if definition.exists() else file
        machine = Machine.load(file)
    except DefinitionError as error:
        print_faults(errors, f"{shown}: {len(error.faults)} fault(s)", error.faults)
        raise typer.Exit(1) from None
    model = diagram_model(machine)
    try:
        text = json.dumps(layout_model(model), indent=1) if layout_json else render_svg(model)
    except DiagramUnavailable as error:
        errors.print(f"[red]✗[/red] {escape(str(error))}")
        raise typer.Exit(1) from None
    if output is None:
        sys.stdout.write(text + "\n")
        return
    try:
        output.write_text(text + "\n", encoding="utf-8")
    except OSError as error:
        errors.print(
            f"[red]✗[/red] cannot write {output}: {error.strerror}; choose another -o path"
        )
        raise typer.Exit(2) from None
    errors.print(
        f"[green]✓[/green] {output}: {len(model['states'])} states, "
        f"{len(model['transitions'])} transitions"
    )
