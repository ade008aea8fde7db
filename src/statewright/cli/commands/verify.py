"""`statewright verify`: replay every instance's audit log and compare with its snapshot."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from statewright.cli.session import UrlOption, open_session

__all__ = ["verify"]


def verify(
    url: UrlOption = None,
    machines: Annotated[
        Path | None,
        typer.Option(
            help="A Python file defining MACHINES = [...], for definitions that need "
            "Python implementations. Default: the definitions and implementations "
            "statewright.toml names.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Replay every instance's audit log and check it rebuilds the stored snapshot.

    Guards and actions run again: they must be free of outside side effects. In a project
    made by "statewright init" it needs no flags: statewright.toml names the store, the
    definitions and the implementations.

    Example: statewright verify --url sqlite:///app.db --machines machines.py
    """
    failures = 0
    with open_session(url, None, False, machines=True, machines_file=machines) as session:
        engine, console = session.engine, session.console
        total = engine.count_instances()
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("verifying", total=total)
            for result in engine.verify_all():
                if not result.ok:
                    failures += 1
                    console.print(
                        f"[red]✗[/red] {result.tenant}/{result.instance_id}: {result.problem}"
                    )
                progress.advance(task)
        console.print(f"{total - failures} of {total} instances match their audit log")
    if failures:
        raise typer.Exit(1)
