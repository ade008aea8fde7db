"""`statewright verify`: replay every instance's audit log and compare with its snapshot."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from statewright.cli.session import JsonOption, UrlOption, open_session, print_json

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
    as_json: JsonOption = False,
) -> None:
    """Replay every instance's audit log and check it rebuilds the stored snapshot.

    Guards and actions run again: they must be free of outside side effects. In a project
    made by "statewright init" it needs no flags: statewright.toml names the store, the
    definitions and the implementations.

    Example: statewright verify --url sqlite:///app.db --machines machines.py
    """
    mismatched: list[dict[str, str]] = []
    with open_session(url, None, as_json, machines=True, machines_file=machines) as session:
        engine, console = session.engine, session.console
        total = engine.count_instances()
        with Progress(console=console, transient=True, disable=as_json) as progress:
            task = progress.add_task("verifying", total=total)
            for result in engine.verify_all():
                if not result.ok:
                    problem = str(result.problem)
                    where = {"tenant": result.tenant, "instance_id": result.instance_id}
                    mismatched.append({**where, "problem": problem})
                    if not as_json:
                        console.print(
                            f"[red]✗[/red] {result.tenant}/{result.instance_id}: {problem}"
                        )
                progress.advance(task)
        if as_json:
            print_json(
                {"instances": total, "matching": total - len(mismatched), "mismatched": mismatched}
            )
        else:
            console.print(f"{total - len(mismatched)} of {total} instances match their audit log")
    if mismatched:
        raise typer.Exit(1)
