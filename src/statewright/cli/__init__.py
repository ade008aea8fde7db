"""The `statewright` command line: one module per noun under `commands/`."""

from __future__ import annotations

import typer

from statewright.cli.commands import db, definition, demo, paths, verify, worker

app = typer.Typer(
    name="statewright",
    help="Durable statecharts for Python: XState v5 machine definitions, run exactly.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("validate")(definition.validate)
app.command("demo")(demo.demo)
app.command("paths")(paths.paths)
app.command("verify")(verify.verify)
app.command("worker")(worker.worker)
app.add_typer(db.app, name="db")

__all__ = ["app", "main"]


def main() -> None:
    """Run the command line."""
    app()
