"""Loading `MACHINES = [...]` from a Python file, for commands that run definitions needing
Python implementations."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import typer

from statewright.chart import Machine

__all__ = ["load_machines", "load_worker_setup"]


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


def load_worker_setup(
    path: Path,
) -> tuple[list[Machine], dict[str, object], list[object]]:
    """`MACHINES`, and optionally `LISTENERS` (event pattern -> function) and `SCHEDULES`
    (schedule configurations), from a Python file."""
    machines = load_machines(path)
    spec = importlib.util.spec_from_file_location("statewright_cli_worker_setup", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    listeners = getattr(module, "LISTENERS", {})
    schedules = getattr(module, "SCHEDULES", [])
    if not isinstance(listeners, dict) or not isinstance(schedules, list):
        raise typer.BadParameter(
            f"{path}: LISTENERS must be a dict of pattern -> function "
            "and SCHEDULES a list of schedule configurations"
        )
    return machines, listeners, schedules
