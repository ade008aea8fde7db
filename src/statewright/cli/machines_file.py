"""Loading `MACHINES = [...]` from a Python file, for commands that run definitions needing
Python implementations."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import typer

from statewright.chart import Machine

__all__ = ["load_machines"]


def load_machines(path: Path) -> list[Machine]:
    """The `MACHINES` list a Python file defines.

    Raises:
        typer.BadParameter: the file cannot be imported or defines no MACHINES list.
    """
    spec = importlib.util.spec_from_file_location("statewright_cli_machines", path)
    if spec is None or spec.loader is None:
        raise typer.BadParameter(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    machines = getattr(module, "MACHINES", None)
    if not isinstance(machines, list) or not all(isinstance(m, Machine) for m in machines):
        raise typer.BadParameter(
            f"{path} defines no MACHINES list of machines; add MACHINES = [Machine.load(...), ...]"
        )
    return machines
