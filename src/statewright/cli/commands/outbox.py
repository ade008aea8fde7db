"""`statewright dead-letters` and `redrive`: outbox messages whose delivery gave up, and
putting them back to be delivered."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from statewright.cli.render import at, one_line
from statewright.cli.session import (
    JsonOption,
    TenantOption,
    UrlOption,
    as_of_refusal,
    open_session,
    print_json,
)
from statewright.cli.tables import print_table, text, whole

__all__ = ["dead_letters", "redrive"]

InstanceFilter = Annotated[
    str | None, typer.Option("--instance", help="Of this instance only.", show_default=False)
]
TypeFilter = Annotated[
    str | None,
    typer.Option("--event-type", help="Of this event type only.", show_default=False),
]


def dead_letters(
    instance: InstanceFilter = None,
    event_type: TypeFilter = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="Page size.")] = 50,
    cursor: Annotated[
        str | None,
        typer.Option("--cursor", help="The next page: the cursor the previous page printed."),
    ] = None,
    url: UrlOption = None,
    tenant: TenantOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the outbox messages whose delivery gave up (dead letters), by message id.

    Example: statewright dead-letters --event-type order.paid
    """
    with open_session(url, tenant, as_json) as session:
        page = session.engine.dead_letters(
            tenant=session.tenant,
            instance_id=instance,
            event_type=event_type,
            cursor=cursor,
            limit=limit,
        )
        if as_json:
            print_json({"dead_letters": list(page), "next_cursor": page.next_cursor})
            return
        if not page:
            session.console.print("no dead letters")
            return
        table = Table(
            whole("message"),
            whole("instance"),
            text("event"),
            whole("attempts"),
            whole("failed at"),
            text("last error"),
        )
        for letter in page:
            table.add_row(
                letter.message_id,
                letter.instance_id,
                one_line(letter.event, 40),
                str(letter.attempts),
                at(letter.failed_at),
                letter.last_error or "",
            )
        print_table(session.console, table)
        if page.next_cursor:
            session.console.print(f"more: add --cursor {page.next_cursor}")


def redrive(
    message_id: Annotated[
        str | None, typer.Argument(help="The dead letter's message id.", show_default=False)
    ] = None,
    instance: InstanceFilter = None,
    event_type: TypeFilter = None,
    every: Annotated[
        bool,
        typer.Option("--all", help="Every dead letter of the tenant (that the filters match)."),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count what would be redriven.")
    ] = False,
    as_of: Annotated[
        int | None,
        typer.Option(
            "--as-of",
            min=0,
            help="Only the letters dead when a --dry-run counted them (the position it printed).",
        ),
    ] = None,
    url: UrlOption = None,
    tenant: TenantOption = None,
    as_json: JsonOption = False,
) -> None:
    """Put dead letters back to be delivered now, their attempts reset.

    One by its message id, or those --instance / --event-type match, or --all.

    Example: statewright redrive --event-type order.paid --dry-run
    """
    if message_id is None and instance is None and event_type is None and not every:
        raise typer.BadParameter(
            "name a message id, or filter with --instance / --event-type, or pass --all "
            "to redrive every dead letter"
        )
    with open_session(url, tenant, as_json) as session:
        if dry_run and as_of is None and message_id is None:
            # The position first, then the count: a later redrive --as-of acts on these only.
            as_of = session.engine.dead_letter_horizon()
        with as_of_refusal():
            count = session.engine.redrive(
                message_id,
                tenant=session.tenant,
                instance_id=instance,
                event_type=event_type,
                dry_run=dry_run,
                as_of=as_of,
            )
        if as_json:
            print_json(
                {
                    "redriven": 0 if dry_run else count,
                    "matched": count,
                    "dry_run": dry_run,
                    "as_of": as_of,
                }
            )
            return
        verb = "would be redriven (dry run)" if dry_run else "redriven: due for delivery now"
        session.console.print(f"{count} dead letter(s) {verb}")
        if dry_run and as_of is not None and count:
            session.console.print(
                f"to redrive these and no letter dead since, add --as-of {as_of} "
                "(without --dry-run)"
            )
