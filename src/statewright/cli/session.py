"""What the day-to-day commands share: their `--url`, `--tenant` and `--json` options, the
engine they open (on the project's store, with its machines when a command runs guards or
actions), JSON output, and errors turned into one line and an exit code scripts can rely on.

Exit codes (docs/cli.md):

    0  done
    1  refused or failed: the event is not accepted, a guard or action raised, the step is
       not waiting for a retry, a definition has faults
    2  bad usage or input: an unknown option, malformed JSON, a bad id, URL or cursor
    3  not found: no such instance, definition, step or dead letter (in this tenant)
    4  conflict: the instance changed under you, the id is taken, it has finished already,
       the idempotency key was used for another request, a file `init` would overwrite,
       another `prune` is running
    5  the store cannot be used: unreachable, schema out of date, not a statewright database
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from statewright.cli.machines_file import load_project_setup
from statewright.cli.project import Project, find_project, resolve_store_url
from statewright.engine import Engine
from statewright.engine.deciding import DEFAULT_TENANT
from statewright.errors import (
    ConfigError,
    DefinitionError,
    EventError,
    IdempotencyConflict,
    InstanceExists,
    InstanceNotActive,
    NotFound,
    PayloadError,
    PruneRunning,
    StatewrightError,
    StoreError,
    VersionConflict,
)

__all__ = [
    "JsonOption",
    "Session",
    "TenantOption",
    "UrlOption",
    "exit_code",
    "fail",
    "open_session",
    "print_json",
]

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="The store URL (default: $STATEWRIGHT_URL, then statewright.toml's url, then "
        "sqlite:///statewright.db).",
        show_default=False,
    ),
]
TenantOption = Annotated[
    str | None,
    typer.Option(
        "--tenant",
        help="The tenant (default: statewright.toml's, else default).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]

#: Exit code per error class; the first class an error is an instance of wins.
_EXIT_CODES: tuple[tuple[type[StatewrightError], int], ...] = (
    (NotFound, 3),
    (VersionConflict, 4),
    (InstanceExists, 4),
    (InstanceNotActive, 4),
    (IdempotencyConflict, 4),
    (PruneRunning, 4),
    (PayloadError, 2),
    (EventError, 2),
    (ConfigError, 2),
    (StoreError, 5),
    (DefinitionError, 1),
)


def exit_code(error: StatewrightError) -> int:
    """The exit code for an error (see the module docstring); 1 for any other refusal."""
    for kind, code in _EXIT_CODES:
        if isinstance(error, kind):
            return code
    return 1


@dataclass(slots=True)
class Session:
    """An open engine and how to answer: the tenant, JSON or text, the console."""

    engine: Engine
    tenant: str
    as_json: bool
    console: Console
    project: Project | None


@contextmanager
def open_session(
    url: str | None,
    tenant: str | None,
    as_json: bool,
    *,
    machines: bool = False,
    create: bool = False,
) -> Iterator[Session]:
    """Open the project's store (see `resolve_store_url`); with `machines`, register the
    project's machines first, so that their guards and actions run here. A `StatewrightError`
    raised inside ends the command through `fail`."""
    console = Console(highlight=False, soft_wrap=True)
    try:
        project = find_project()
        engine = Engine.open(resolve_store_url(url, project), create=create)
    except StatewrightError as error:
        fail(error, as_json)
    try:
        with engine:
            if machines and project is not None:
                setup = load_project_setup(project.definitions, project.implementations)
                for machine in setup.machines:
                    engine.register(machine)
            chosen = tenant or (project.tenant if project else None) or DEFAULT_TENANT
            yield Session(engine, chosen, as_json, console, project)
    except StatewrightError as error:
        fail(error, as_json)


def fail(error: StatewrightError, as_json: bool) -> NoReturn:
    """End the command for `error`: its message on stderr (with `as_json`, also a JSON object
    on stdout: `{"error": class name, "message", ...its facts}`), and its exit code."""
    code = exit_code(error)
    if as_json:
        print_json({"error": type(error).__name__, "message": str(error), **_facts(error)})
    # Escaped: messages quote user data (a schema's "^[a-z]+$") that is not Rich markup.
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[red]{escape(str(error))}[/red]")
    raise typer.Exit(code)


def print_json(data: object) -> None:
    """Print `data` as indented JSON on stdout (dataclasses as objects, tuples as arrays)."""
    sys.stdout.write(json.dumps(_plain(data), indent=2, ensure_ascii=False, default=str) + "\n")


def _plain(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _facts(error: StatewrightError) -> dict[str, object]:
    """The attributes a program reads off an error (`accepted`, `state`, `reason`, ...)."""
    facts = {}
    for name in ("instance_id", "state", "event", "accepted", "expected", "found", "status"):
        if hasattr(error, name):
            facts[name] = _plain(getattr(error, name))
    for name in ("invoke_id", "reason", "version", "event_type", "errors", "holder"):
        if hasattr(error, name):
            facts[name] = getattr(error, name)
    if isinstance(error, DefinitionError):
        facts["faults"] = [str(fault) for fault in error.faults]
    return facts
