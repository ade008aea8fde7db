"""The `statewright` command line: one module per noun under `commands/`."""

from __future__ import annotations

import inspect
from importlib.metadata import version
from typing import Annotated

import typer

from statewright.cli.commands import (
    bulk,
    db,
    definition,
    demo,
    diagram,
    instance,
    listing,
    outbox,
    paths,
    project_init,
    prune,
    schedules,
    serve,
    show,
    step,
    tokens,
    verify,
    worker,
)
from statewright.cli.usage import JsonUsageGroup

app = typer.Typer(
    name="statewright",
    help="Durable statecharts for Python: XState v5 machine definitions, run exactly.",
    no_args_is_help=True,
    add_completion=False,
    cls=JsonUsageGroup,  # a usage error is also JSON on stdout when --json was asked for
)


def _show_version(shown: bool) -> None:
    if shown:
        typer.echo(f"statewright {version('statewright')}")
        raise typer.Exit()


@app.callback()
def _options(
    shown: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Show statewright's version and exit.",
        ),
    ] = False,
) -> None:
    """Durable statecharts for Python: XState v5 machine definitions, run exactly."""


app.command("validate")(definition.validate)
app.command("demo")(demo.demo)
app.command("paths")(paths.paths)
app.command("diagram")(diagram.diagram)
app.command("verify")(verify.verify)
app.command("prune")(prune.prune)
app.command("worker")(worker.worker)
app.command("init")(project_init.init)
app.command("start")(instance.start)
app.command("send")(instance.send)
app.command("list")(listing.list_instances)
app.command("show")(show.show)
app.command("history")(show.history)
app.command("accepted")(instance.accepted)
app.command("retry")(step.retry)
app.command("cancel")(instance.cancel)
app.command("dead-letters")(outbox.dead_letters)
app.command("redrive")(outbox.redrive)
app.command("schedules")(schedules.schedules)
app.command("serve")(serve.serve)
app.add_typer(db.app, name="db")
app.add_typer(bulk.app, name="bulk")
app.add_typer(tokens.app, name="tokens")

__all__ = ["app", "main"]


def _reflow(text: str) -> str:
    """`text` (a docstring) with each paragraph on one line: Rich's help keeps a docstring's
    line breaks, so a sentence wrapped at the source's width would break mid-sentence on a
    terminal of another width. Rich wraps the joined lines to the terminal instead."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


def _reflow_help(group: typer.Typer) -> None:
    for command in group.registered_commands:
        callback = command.callback
        if callback is not None and callback.__doc__:
            callback.__doc__ = _reflow(callback.__doc__)
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            _reflow_help(sub.typer_instance)


_reflow_help(app)


def main() -> None:
    """Run the command line."""
    app()
