"""`statewright tokens`: create, list and revoke the API tokens `statewright serve` accepts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from statewright.cli.project import Project, resolve_store_url
from statewright.cli.session import check_store_named, fail, load_project
from statewright.cli.tables import print_table, text, whole
from statewright.engine import Engine
from statewright.engine.engine import DEFAULT_TENANT
from statewright.engine.tokens import ROLES, Token
from statewright.errors import StatewrightError
from statewright.store.url import DEFAULT_URL, URL_VARIABLE

__all__ = ["app"]

app = typer.Typer(
    help="Create, list and revoke API tokens (each bound to one tenant and one role).",
    no_args_is_help=True,
    add_completion=False,
)

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar=URL_VARIABLE,
        help="The store URL (default: $STATEWRIGHT_URL, then statewright.toml's url, then "
        f"{DEFAULT_URL}).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


@app.command()
def create(
    role: Annotated[
        str,
        typer.Option(help=f"One of {', '.join(ROLES)}: read; also start and send; everything."),
    ] = "viewer",
    tenant: Annotated[
        str | None,
        typer.Option(
            help="The tenant the token sees (default: statewright.toml's, else default).",
            show_default=False,
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            help="Who or what uses it; audit rows name it as the actor (default: none).",
            show_default=False,
        ),
    ] = None,
    event_role: Annotated[
        list[str] | None,
        typer.Option(
            "--event-role",
            help='An extra role for events whose transition names it ("statewright": '
            '{"roles": ["approver"]}); repeat for several.',
        ),
    ] = None,
    no_payloads: Annotated[
        bool,
        typer.Option("--no-payloads", help="Withhold contexts and event payloads from it."),
    ] = False,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a token and print it; it is shown this once (only its digest is stored).

    Example: statewright tokens create --tenant acme --role operator --event-role approver
    """
    _not_blank(
        tenant,
        "--tenant",
        "name the tenant, or leave --tenant out for the default (statewright.toml's, else default)",
    )
    _not_blank(name, "--name", "give a name, or leave --name out for a token without one")
    project = load_project(as_json)
    with _engine(url, project, as_json) as engine:
        try:
            token, secret = engine.create_token(
                tenant=tenant or (project.tenant if project else None) or DEFAULT_TENANT,
                role=role,
                name=name or "",
                event_roles=event_role or (),
                payloads=not no_payloads,
            )
        except StatewrightError as error:
            _refused(error, as_json)
    if as_json:
        typer.echo(json.dumps({**_as_dict(token), "token": secret}))
        return
    typer.echo(secret)
    typer.echo(
        f"token {token.prefix}: tenant {token.tenant}, role {token.role}; shown this once: "
        "keep it in your secret store (send it as 'Authorization: Bearer <token>')",
        err=True,
    )


@app.command("list")
def list_tokens(
    tenant: Annotated[
        str | None, typer.Option(help="Only this tenant's tokens (default: all).")
    ] = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the tokens (never their secrets), revoked ones included.

    Example: statewright tokens list --tenant acme --json
    """
    with _engine(url, load_project(as_json), as_json) as engine:
        try:
            tokens = engine.tokens(tenant=tenant)
        except StatewrightError as error:
            _refused(error, as_json)
    if as_json:
        typer.echo(json.dumps([_as_dict(token) for token in tokens]))
        return
    table = Table(
        whole("prefix"),
        whole("tenant"),
        whole("role"),
        text("event roles"),
        whole("payloads"),
        text("name"),
        whole("created (UTC)"),
        whole("revoked"),
        box=None,
    )
    for token in tokens:
        table.add_row(
            token.prefix,
            token.tenant,
            token.role,
            ", ".join(token.event_roles),
            "yes" if token.payloads else "no",
            token.name,
            _time(token.created_at),
            _time(token.revoked_at) if token.revoked_at else "",
        )
    print_table(Console(highlight=False, soft_wrap=True), table)


@app.command()
def revoke(
    prefix: Annotated[str, typer.Argument(help="The token's prefix (as listed) or the token.")],
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Revoke a token: from now on it authenticates nothing (no restart needed).

    Example: statewright tokens revoke 3f9c2a7b1d04
    """
    with _engine(url, load_project(as_json), as_json) as engine:
        try:
            token = engine.revoke_token(prefix)
        except StatewrightError as error:
            _refused(error, as_json)
    if as_json:
        typer.echo(json.dumps(_as_dict(token)))
    else:
        typer.echo(f"token {token.prefix} (tenant {token.tenant}) is revoked")


def _not_blank(value: str | None, option: str, fix: str) -> None:
    """Refuse an option given as "" or spaces (an unset shell variable, say): it would
    otherwise stand for the default silently, or be stored blank."""
    if value is not None and not value.strip():
        raise typer.BadParameter(f"{value!r} is blank; {fix}", param_hint=option)


def _engine(url: str | None, project: Project | None, as_json: bool) -> Engine:
    """The store as every command finds it (`--url`, STATEWRIGHT_URL, statewright.toml).
    One that cannot be opened ends the command as it ends every other: exit 5 (unreachable,
    no such SQLite file, schema out of date, not a statewright database), 2 for a bad URL."""
    try:
        store_url = resolve_store_url(url, project)
        check_store_named(url, project, store_url)
        return Engine.open(store_url, create=False)
    except StatewrightError as error:
        fail(error, as_json)


def _refused(error: StatewrightError, as_json: bool) -> NoReturn:
    """End the command for `error` with the table's code, as every command ends: an unknown
    role 2, an unknown prefix 3, a store that fails meanwhile 5."""
    fail(error, as_json)


def _as_dict(token: Token) -> dict[str, object]:
    return {
        "prefix": token.prefix,
        "tenant": token.tenant,
        "role": token.role,
        "event_roles": list(token.event_roles),
        "payloads": token.payloads,
        "name": token.name,
        "created_at": token.created_at,
        "revoked_at": token.revoked_at,
    }


def _time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
