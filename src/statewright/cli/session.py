"""What the day-to-day commands share: their `--url`, `--tenant` and `--json` options, the
engine they open (on the project's store, with its machines when a command runs guards or
actions), JSON output, and errors turned into one line and an exit code scripts can rely on.

Exit codes (docs/cli.md):

    0  done
    1  refused or failed: the event is not accepted, a guard or action raised, the step is
       not waiting for a retry, a definition has faults
    2  bad usage or input: an unknown option, malformed JSON, a bad id, URL or cursor, a
       statewright.toml or implementations file that cannot be loaded (`load_setup`)
    3  not found: no such instance, definition, dead letter or token (in this tenant)
    4  conflict: the instance changed under you, the id is taken, it has finished already,
       the idempotency key was used for another request, a file `init` would overwrite,
       another `prune` is running, a migration blocked by another transaction's lock
    5  the store cannot be used: unreachable, schema out of date, not a statewright database
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from statewright.cli.definition_use import use_definitions
from statewright.cli.machines_file import WorkerSetup, resolve_setup
from statewright.cli.new_store import open_engine
from statewright.cli.project import PROJECT_FILE, Project, find_project, resolve_store_url
from statewright.engine import Engine
from statewright.engine.deciding import DEFAULT_TENANT
from statewright.errors import (
    AsOfAhead,
    ConfigError,
    DefinitionError,
    EventError,
    IdempotencyConflict,
    InstanceExists,
    InstanceNotActive,
    MigrationBlocked,
    NotFound,
    PayloadError,
    PruneRunning,
    StatewrightError,
    StoreError,
    VersionConflict,
)
from statewright.store.url import URL_VARIABLE, parse_sqlite_url, redact_url

__all__ = [
    "JsonOption",
    "Session",
    "check_store_named",
    "TenantOption",
    "UrlOption",
    "error_json",
    "exit_code",
    "fail",
    "load_project",
    "load_setup",
    "open_session",
    "print_json",
    "end_with",
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


def _tenant(value: str | None) -> str | None:
    """A --tenant given blank is refused, not taken for the default tenant."""
    if value is not None and not value.strip():
        raise typer.BadParameter("the tenant is blank; give one, or leave --tenant out")
    return value


TenantOption = Annotated[
    str | None,
    typer.Option(
        "--tenant",
        help="The tenant (default: statewright.toml's, else default).",
        show_default=False,
        callback=_tenant,
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
    (MigrationBlocked, 4),
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
    machines_file: Path | None = None,
    create: bool = False,
    starting: str | None = None,
) -> Iterator[Session]:
    """Open the project's store (see `resolve_store_url`); with `machines`, provide the
    `machines_file`'s machines (`--machines`), else the project's, first, so that their guards
    and actions run here (`definition_use.py`: only the definition a `start` starts may be
    registered). They are read before the store is opened: a broken file changes
    nothing. A `StatewrightError` raised inside ends the command through `fail`.

    `starting` is the definition a `start` starts: the store is created (a missing SQLite
    file) only when the project provides it, and one that neither the store nor the project
    has is not found, naming those there are, before anything is created or registered.
    """
    console = Console(highlight=False, soft_wrap=True)
    project = load_project(as_json)
    setup = load_setup(machines_file, project, as_json) if machines else WorkerSetup([])
    try:
        store_url = resolve_store_url(url, project)
        provided = {machine.id for machine in setup.machines}
        if starting is not None:
            create = starting in provided
            if not create and _is_missing_file(store_url):
                raise _no_definition(starting, provided, project, store_url)
        elif not create:
            check_store_named(url, project, store_url)
        engine = open_engine(store_url, create=create, project=project)
    except StatewrightError as error:
        fail(error, as_json)
    try:
        with engine:
            if starting is not None and not create and not _stored(engine, starting):
                stored = {definition.id for definition in engine.definitions()}
                raise _no_definition(starting, provided | stored, project)
            source = machines_file or (project.file if project else None)
            notes = Console(stderr=True, highlight=False, soft_wrap=True)
            use_definitions(engine, setup.machines, source, starting, notes)
            chosen = tenant or (project.tenant if project else None) or DEFAULT_TENANT
            yield Session(engine, chosen, as_json, console, project)
    except StatewrightError as error:
        fail(error, as_json)


def _stored(engine: Engine, definition_id: str) -> bool:
    """Whether the store holds a definition of this id."""
    try:
        engine.definition(definition_id)
    except (NotFound, PayloadError):
        return False
    return True


def load_project(as_json: bool) -> Project | None:
    """The project of the working folder (`find_project`), for every command that reads it.
    A `statewright.toml` that cannot be used (not TOML, an unknown key, a value of the wrong
    type, a bad store URL) ends the command through `fail`, as any configuration error:
    exit 2, one line naming the file, the key and the fix (with `as_json`, the JSON error
    on stdout too), before anything is opened or written."""
    try:
        return find_project()
    except StatewrightError as error:
        fail(error, as_json)


def load_setup(machines_file: Path | None, project: Project | None, as_json: bool) -> WorkerSetup:
    """What a command that runs definitions registers (`resolve_setup`: the `--machines`
    file, else the project's definitions and implementations file), for every such command
    (`start`, `send`, `bulk send`, `verify`, `worker`, `serve`). A file that cannot be
    loaded (missing, a syntax error, an import that fails, a MACHINES, GUARDS, LISTENERS, ...
    of the wrong shape) ends the command through `fail` as any configuration error: exit 2,
    one line naming the file, the line and the fix; a definition with faults exits 1. Either
    way before the store is opened: a broken file changes nothing."""
    try:
        return resolve_setup(machines_file, project)
    except StatewrightError as error:
        fail(error, as_json)


def _is_missing_file(url: str) -> bool:
    """Whether `url` names a SQLite file that does not exist (a bad URL is `Engine.open`'s
    to report)."""
    if not url.lower().startswith("sqlite:"):
        return False
    try:
        return not Path(parse_sqlite_url(url).path).exists()
    except ConfigError:
        return False


def check_store_named(given: str | None, project: Project | None, store_url: str) -> None:
    """Refuse a command run outside any project with no store named (no --url, no
    STATEWRIGHT_URL) where the default file is missing: the fix is a project or a URL, not
    a database made in this folder.

    Raises:
        StoreError: naming the three places a store is named, and the fixes (exit 5).
    """
    named = given or os.environ.get(URL_VARIABLE) or project is not None
    if named or not _is_missing_file(store_url):
        return
    raise StoreError(
        f"no {PROJECT_FILE} here or above, no --url and no {URL_VARIABLE}, and no store at "
        f"{redact_url(store_url)} (the default): run the command in a project made by "
        '"statewright init", or name the store with --url (e.g. --url sqlite:///path/to/app.db)'
    )


def _no_definition(
    definition_id: str,
    known: set[str],
    project: Project | None,
    missing_store: str | None = None,
) -> NotFound:
    """`start`'s not-found: the definitions there are, and the near miss or the fix."""
    ids = sorted(known)
    there = f"there are: {', '.join(ids)}" if ids else "there are none"
    if project is None:
        there += f"; no {PROJECT_FILE} here or above"
    if missing_store is not None:
        there += f"; no store at {redact_url(missing_store)}, none created"
    close = difflib.get_close_matches(definition_id, ids, n=1)
    if close:
        fix = f"did you mean {close[0]!r}?"
    elif project is None:
        fix = 'make a project with "statewright init", or give the --url of a store that has it'
    elif project.definitions is not None:
        fix = f"add its definition to {project.definitions}, or start one of those"
    else:
        fix = 'add definitions = "definitions" to statewright.toml, with its definition there'
    return NotFound(f"no definition {definition_id!r} to start ({there}); {fix}")


@contextmanager
def as_of_refusal() -> Iterator[None]:
    """Refuse an `--as-of` past the store's current position in the command line's words: the
    engine's message asks for the `as_of` a dry run returned (`"dry_run": true`), the API's.
    A usage error naming the option (exit 2), as for any option value refused."""
    try:
        yield
    except AsOfAhead as error:
        raise typer.BadParameter(
            f"{error.as_of} is past the store's current position {error.position}: give the "
            "--as-of a --dry-run printed (on this store), or leave --as-of out to act on what "
            "matches now; nothing was changed",
            param_hint="--as-of",
        ) from None


def fail(error: StatewrightError, as_json: bool) -> NoReturn:
    """End the command for `error`: its message on stderr (with `as_json`, also a JSON object
    on stdout: `{"error": class name, "message", ...its facts}`), and its exit code."""
    if as_json:
        print_json(error_json(error))
    end_with(exit_code(error), error)


def error_json(error: StatewrightError) -> dict[str, object]:
    """An error as `--json` prints it: `{"error": class name, "message", ...its facts}`."""
    return {"error": type(error).__name__, "message": str(error), **_facts(error)}


def end_with(code: int, message: object) -> NoReturn:
    """End the command: `message` as one line on stderr, and `code` (docs/cli.md's table)."""
    # Escaped: messages quote user data (a schema's "^[a-z]+$") that is not Rich markup.
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    console.print(f"[red]{escape(str(message))}[/red]")
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
