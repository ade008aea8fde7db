"""`statewright verify`: replay every instance's audit log and compare with its snapshot."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from statewright.cli.session import UrlOption, open_session
from statewright.engine import Engine
from statewright.errors import StatewrightError

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
        total = engine.store.count_instances()
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("verifying", total=total)
            for tenant, instance_id in _all_instances(engine):
                try:
                    result = engine.verify(instance_id, tenant=tenant)
                    problem = None if result.ok else result.problem
                except StatewrightError as error:
                    problem = str(error)
                if problem:
                    failures += 1
                    console.print(f"[red]✗[/red] {tenant}/{instance_id}: {problem}")
                progress.advance(task)
        console.print(f"{total - failures} of {total} instances match their audit log")
    if failures:
        raise typer.Exit(1)


def _all_instances(engine: Engine) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for tenant in engine.store.tenants():
        after: str | None = None
        while True:
            page = engine.store.list_instances(tenant, after_id=after, limit=500)
            found.extend((record.tenant, record.id) for record in page)
            if len(page) < 500:
                break
            after = page[-1].id
    return found
