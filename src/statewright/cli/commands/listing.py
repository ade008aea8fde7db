"""`statewright list`: a tenant's instances by definition, business state or tag, status and
the start of their id, page by page; `--count` counts them per business state."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from statewright.cli.instance_filters import check_instance_filters
from statewright.cli.render import at, instance_data, state_text
from statewright.cli.session import (
    JsonOption,
    TenantOption,
    UrlOption,
    open_session,
    print_json,
)
from statewright.cli.tables import print_table, text, whole

__all__ = ["list_instances"]


def list_instances(
    definition: Annotated[
        str | None, typer.Option("--definition", "-d", help="Of this definition id only.")
    ] = None,
    state: Annotated[
        str | None,
        typer.Option("--state", "-s", help="In this business state (review, or review.legal)."),
    ] = None,
    tag: Annotated[
        str | None, typer.Option("--tag", help="In a state that carries this tag.")
    ] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="active, done, error or stopped.")
    ] = None,
    runtime_status: Annotated[
        str | None,
        typer.Option(
            "--runtime-status", help="active, waiting, running, retrying, done, error, stopped."
        ),
    ] = None,
    id_prefix: Annotated[
        str | None,
        typer.Option("--id-prefix", help="Whose id starts with this (case-sensitive)."),
    ] = None,
    count: Annotated[
        bool, typer.Option("--count", help="Count instances per business state instead.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="Page size.")] = 50,
    cursor: Annotated[
        str | None,
        typer.Option("--cursor", help="The next page: the cursor the previous page printed."),
    ] = None,
    url: UrlOption = None,
    tenant: TenantOption = None,
    as_json: JsonOption = False,
) -> None:
    """List instances, filtered, by id; or, with --count, how many are in each state.

    Example: statewright list --definition order --state paying --runtime-status retrying
    """
    if count and id_prefix is not None:
        raise typer.BadParameter(
            "--count counts by business state, not by id; drop --id-prefix or --count"
        )
    filters = {
        "definition_id": definition,
        "status": status,
        "runtime_status": runtime_status,
        "state": state,
        "tag": tag,
    }
    with open_session(url, tenant, as_json) as session:
        engine = session.engine
        check_instance_filters(session, definition, state, tag)
        if count:
            counts = engine.count_by_state(tenant=session.tenant, **filters)
            if as_json:
                print_json([{**vars_of(c), "state": c.state} for c in counts])
                return
            table = Table(whole("definition"), text("state"), whole("instances"))
            for row in counts:
                table.add_row(row.definition_id, row.state, str(row.count))
            print_table(session.console, table)
            session.console.print(f"{sum(c.count for c in counts)} in all")
            return
        page = engine.list(
            tenant=session.tenant, id_prefix=id_prefix, cursor=cursor, limit=limit, **filters
        )
        if as_json:
            print_json(
                {
                    "instances": [instance_data(i) for i in page],
                    "next_cursor": page.next_cursor,
                }
            )
            return
        table = Table(
            whole("id"),
            whole("definition"),
            text("state"),
            whole("status"),
            whole("runtime"),
            whole("updated"),
        )
        for instance in page:
            table.add_row(
                instance.id,
                f"{instance.definition_id} v{instance.definition_version}",
                state_text(instance.value),
                instance.status,
                instance.runtime_status,
                at(instance.updated_at),
            )
        print_table(session.console, table)
        if page.next_cursor:
            session.console.print(f"more: add --cursor {page.next_cursor}")


def vars_of(value: object) -> dict[str, object]:
    """A dataclass's fields as a dict."""
    import dataclasses

    assert dataclasses.is_dataclass(value) and not isinstance(value, type)
    return dataclasses.asdict(value)
