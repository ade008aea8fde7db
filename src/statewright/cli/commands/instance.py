"""`statewright start`, `send`, `cancel` and `accepted`: what changes one instance, and what
it accepts now."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from statewright.cli.render import (
    event_type,
    fields_text,
    instance_data,
    parse_fields,
    parse_json,
    state_text,
    typed_as,
)
from statewright.cli.session import (
    JsonOption,
    TenantOption,
    UrlOption,
    open_session,
    print_json,
)
from statewright.cli.tables import print_table, text, whole
from statewright.engine.permissions import ADMIN_ROLE

__all__ = ["accepted", "cancel", "send", "start"]

ActorOption = Annotated[
    str | None, typer.Option("--actor", help="Who does it, for the audit row.", show_default=False)
]


def start(
    definition: Annotated[str, typer.Argument(help="The definition id, e.g. order.")],
    instance_id: Annotated[
        str | None, typer.Option("--id", help="The instance id (default: a new random one).")
    ] = None,
    input: Annotated[
        str | None, typer.Option("--input", help="The start input, as JSON.", show_default=False)
    ] = None,
    version: Annotated[
        int | None,
        typer.Option(
            "--version", min=1, help="Start on this definition version (default: latest)."
        ),
    ] = None,
    actor: ActorOption = None,
    url: UrlOption = None,
    tenant: TenantOption = None,
    as_json: JsonOption = False,
) -> None:
    """Start an instance of a definition.

    Example: statewright start order --id A-1 --input '{"orderId": "A-1", "amount": 2500}'
    """
    data = parse_json(input, "--input") if input is not None else None
    with open_session(url, tenant, as_json, machines=True, starting=definition) as session:
        instance = session.engine.start(
            definition,
            input=data,
            instance_id=instance_id,
            tenant=session.tenant,
            actor=actor,
            version=version,
        )
        if as_json:
            print_json(instance_data(instance))
            return
        session.console.print(
            f"{instance.id} started: [bold]{state_text(instance.value)}[/bold] "
            f"({instance.runtime_status}), {instance.definition_id} "
            f"v{instance.definition_version}, version {instance.version}"
        )


def send(
    instance_id: Annotated[str, typer.Argument(help="The instance id.")],
    event: Annotated[
        str, typer.Argument(help="The event type, e.g. APPROVE.", callback=event_type)
    ],
    fields: Annotated[
        list[str] | None,
        typer.Argument(help="Event fields as key=value (values read as JSON when they are)."),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option("--data", help="Event fields as a JSON object.", show_default=False),
    ] = None,
    actor: ActorOption = None,
    idempotency_key: Annotated[
        str | None,
        typer.Option(
            "--idempotency-key",
            help="Send it once: the same key and event again answers with the first result.",
            show_default=False,
        ),
    ] = None,
    expected_version: Annotated[
        int | None,
        typer.Option(
            "--expected-version",
            min=0,
            help="Refuse (exit 4) if the instance moved past this version.",
            show_default=False,
        ),
    ] = None,
    url: UrlOption = None,
    tenant: TenantOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send an event to an instance.

    Exits 1 with the events it accepts if it does not accept this one, and 2 naming each
    field that fails the event's schema (see `statewright accepted`).

    Example: statewright send A-1 APPROVE by=ann --actor ann
    """
    body: dict[str, object] = {}
    if data is not None:
        parsed = parse_json(data, "--data")
        if not isinstance(parsed, dict):
            raise typer.BadParameter('--data must be a JSON object, e.g. \'{"by": "ann"}\'')
        body.update(parsed)
    body.update(parse_fields(fields or []))
    body["type"] = typed_as(body.get("type"), event)
    with open_session(url, tenant, as_json, machines=True) as session:
        entry = session.engine.send(
            instance_id,
            body,
            tenant=session.tenant,
            actor=actor,
            idempotency_key=idempotency_key,
            expected_version=expected_version,
        )
        if as_json:
            print_json(entry)
            return
        session.console.print(
            f"{instance_id} version {entry.version}: {state_text(entry.from_value)} → "
            f"[bold]{state_text(entry.to_value)}[/bold] ({entry.runtime_status})"
        )


def cancel(
    instance_id: Annotated[str, typer.Argument(help="The instance id.")],
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why, for the audit row.", show_default=False)
    ] = None,
    actor: ActorOption = None,
    url: UrlOption = None,
    tenant: TenantOption = None,
    as_json: JsonOption = False,
) -> None:
    """Stop an instance: its pending timers and steps are cancelled, its status is stopped.

    An instance that has finished already is left alone (exit 4).

    Example: statewright cancel A-1 --reason "customer called" --actor ann
    """
    with open_session(url, tenant, as_json) as session:
        engine = session.engine
        timers = len(engine.timers(instance_id, tenant=session.tenant, limit=1000))
        steps = len(engine.steps(instance_id, tenant=session.tenant, limit=1000))
        entry = engine.cancel(instance_id, tenant=session.tenant, reason=reason, actor=actor)
        if as_json:
            print_json(entry)
            return
        session.console.print(
            f"{instance_id} stopped at version {entry.version} in "
            f"{state_text(entry.to_value)}: {timers} timer(s) and {steps} step(s) cancelled"
        )


def accepted(
    instance_id: Annotated[str, typer.Argument(help="The instance id.")],
    role: Annotated[
        str | None,
        typer.Option(
            "--role",
            help="Only the events this role may send: those whose transitions name it or no "
            "role (admin: every one).",
            show_default=False,
        ),
    ] = None,
    url: UrlOption = None,
    tenant: TenantOption = None,
    as_json: JsonOption = False,
) -> None:
    """The events an instance accepts now, with the fields each takes.

    Guarded ones may still refuse a given payload. The fields come from the JSON Schema its
    definition declares (in full with --json).

    Example: statewright accepted A-1 --role approver
    """
    with open_session(url, tenant, as_json) as session:
        found = session.engine.accepted(instance_id, tenant=session.tenant)
        events = [
            e
            for e in found.events
            if role in (None, ADMIN_ROLE) or e.roles is None or role in e.roles
        ]
        if as_json:
            print_json({**_header(found), "events": events})
            return
        console = session.console
        console.print(
            f"{instance_id} (version {found.version}) is in "
            f"[bold]{state_text(found.value)}[/bold] ({found.status})"
        )
        if not events:
            console.print("it accepts no event now" + (f" from role {role}" if role else ""))
            return
        table = Table(
            whole("event"),
            whole("guard"),
            text("roles"),
            text("leads to"),
            text("fields (schema)"),
        )
        for event in events:
            table.add_row(
                event.type + (" (wildcard)" if event.wildcard else ""),
                "guarded" if event.guarded else "",
                ", ".join(event.roles) if event.roles else "anyone",
                ", ".join(event.targets) or "(stays)",
                escape(fields_text(event.schema)) or "(any)",
            )
        print_table(console, table)


def _header(found: object) -> dict[str, object]:
    return {
        name: getattr(found, name)
        for name in ("tenant", "instance_id", "version", "value", "status")
    }
