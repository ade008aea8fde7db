"""`statewright db`: create, upgrade and inspect the database schema."""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer

from statewright.cli.project import find_project, resolve_store_url
from statewright.errors import StatewrightError
from statewright.store import SCHEMA_VERSION, open_store
from statewright.store.url import DEFAULT_URL, URL_VARIABLE, redact_url

__all__ = ["app", "migrate", "status"]

app = typer.Typer(
    help="Create, upgrade and inspect the database schema.",
    no_args_is_help=True,
    add_completion=False,
)

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar=URL_VARIABLE,
        help="The store: sqlite:///relative.db, sqlite:////absolute.db or "
        "postgresql://user@host:5432/dbname (default: $STATEWRIGHT_URL, then "
        f"statewright.toml's url, then {DEFAULT_URL}).",
        show_default=False,
    ),
]


@app.command()
def migrate(
    url: UrlOption = None,
    share: Annotated[
        bool,
        typer.Option(
            "--share",
            help="Add statewright's tables to a database that holds another application's.",
        ),
    ] = False,
) -> None:
    """Apply every pending migration (an empty database gets the whole schema).

    Example: statewright db migrate --url postgresql://app@db:5432/app
    """
    url = _url(url)
    shown = redact_url(url)
    try:
        store = open_store(url)
        try:
            tables = [] if share else store.foreign_tables()
            if tables:
                _fail(
                    f"{shown} is not a statewright database: it holds tables of another "
                    f"application ({', '.join(tables[:3])}); check the URL, or pass --share "
                    "to add statewright's tables beside them"
                )
            applied = store.migrate()
            version = store.schema_version()
        finally:
            store.close()
    except StatewrightError as error:
        _fail(error)
    for number in applied:
        typer.echo(f"applied migration {number:04d} to {shown}")
    if version > SCHEMA_VERSION:
        _fail(f"{shown} is at schema {version}, newer than this version's {SCHEMA_VERSION}; "
              "upgrade statewright")  # fmt: skip
    if applied:
        typer.echo(f"{shown} is now at schema {version}")
    else:
        typer.echo(f"{shown} is up to date (schema {version})")


@app.command()
def status(url: UrlOption = None) -> None:
    """Show the database's schema version and the one this version of statewright needs;
    exit 1 unless they are the same (a SQLite file is never created here).

    Example: statewright db status --url sqlite:///app.db
    """
    url = _url(url)
    shown = redact_url(url)
    try:
        store = open_store(url, create=False)
        try:
            version = store.schema_version()
        finally:
            store.close()
    except StatewrightError as error:
        _fail(error)
    if version == SCHEMA_VERSION:
        typer.echo(f"{shown} is up to date (schema {version})")
    elif version < SCHEMA_VERSION:
        typer.echo(
            f"{shown} is at schema {version} and this version needs {SCHEMA_VERSION}; "
            f'run "statewright db migrate --url {shown}"'
        )
        raise typer.Exit(1)
    else:
        typer.echo(
            f"{shown} is at schema {version}, newer than this version's {SCHEMA_VERSION}; "
            "upgrade statewright"
        )
        raise typer.Exit(1)


def _url(given: str | None) -> str:
    """The store as every command finds it (`--url`, STATEWRIGHT_URL, statewright.toml)."""
    try:
        return resolve_store_url(given, find_project())
    except StatewrightError as error:
        _fail(error)


def _fail(error: StatewrightError | str) -> NoReturn:
    typer.echo(f"error: {error}", err=True)
    raise typer.Exit(1)
