"""`statewright bulk send|cancel|retry`: one operation for every instance a filter matches,
or with --dry-run only how many it matches."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from statewright.cli.instance_filters import check_instance_filters
from statewright.cli.render import event_type, parse_fields, parse_json, typed_as
from statewright.cli.session import (
    JsonOption,
    Session,
    TenantOption,
    UrlOption,
    as_of_refusal,
    open_session,
    print_json,
)
from statewright.engine import BulkResult
from statewright.engine.bulk import BulkFilters

__all__ = ["app"]

app = typer.Typer(
    help="Send, cancel or retry every instance a filter matches (--dry-run: count them).",
    no_args_is_help=True,
    add_completion=False,
)

Definition = Annotated[str | None, typer.Option("--definition", "-d", help="Of this definition.")]
State = Annotated[str | None, typer.Option("--state", "-s", help="In this business state.")]
Tag = Annotated[str | None, typer.Option("--tag", help="In a state carrying this tag.")]
Status = Annotated[str | None, typer.Option("--status", help="active, done, error, stopped.")]
Runtime = Annotated[str | None, typer.Option("--runtime-status", help="e.g. retrying.")]
Every = Annotated[bool, typer.Option("--all", help="Every instance of the tenant.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Only count the matches.")]
AsOf = Annotated[
    int | None,
    typer.Option(
        "--as-of",
        min=0,
        help="Only the instances unchanged since a --dry-run counted them (the position shown).",
    ),
]
Actor = Annotated[str | None, typer.Option("--actor", help="Who does it, for the audit rows.")]


def _filters(
    definition: str | None,
    state: str | None,
    tag: str | None,
    status: str | None,
    runtime_status: str | None,
    every: bool,
) -> BulkFilters:
    filters: BulkFilters = {
        "definition_id": definition,
        "state": state,
        "tag": tag,
        "status": status,
        "runtime_status": runtime_status,
    }
    if not every and not any(filters.values()):
        raise typer.BadParameter(
            "filter with --definition, --state, --tag, --status or --runtime-status, "
            "or pass --all to act on every instance of the tenant"
        )
    return filters


def _report(session: Session, result: BulkResult, verb: str) -> None:
    """Print what the bulk operation did; exit 1 if it refused any instance."""
    if session.as_json:
        print_json(
            {
                "matched": result.matched,
                "dry_run": result.dry_run,
                "as_of": result.as_of,
                "done": list(result.done),
                "changed": list(result.changed),
                "refused": {
                    instance_id: {"error": type(error).__name__, "message": str(error)}
                    for instance_id, error in result.refused.items()
                },
                "would_act": result.would_act,
                "would_skip": [
                    {"reason": s.reason, "count": s.count, "detail": s.detail}
                    for s in result.would_skip
                ],
                "guarded": result.guarded,
            }
        )
    elif result.dry_run:
        session.console.print(f"{result.matched} instance(s) match: nothing {verb} (dry run)")
        if result.would_act is not None and result.matched:
            session.console.print(escape(_would(result, verb)))
        if result.matched and result.as_of is not None:
            session.console.print(
                f"to act on these and no instance changed since, add --as-of {result.as_of} "
                "(without --dry-run)"
            )
    else:
        changed = f", {len(result.changed)} changed since the count, left alone"
        session.console.print(
            f"{result.matched} matched: {len(result.done)} {verb}, {len(result.refused)} refused"
            + (changed if result.changed else "")
        )
        for instance_id, error in result.refused.items():
            text = str(error)  # most messages name their instance first: not twice
            shown = text if text.startswith(f"{instance_id}") else f"{instance_id}: {text}"
            session.console.print(f"  {escape(shown)}", style="red")
    if result.refused:
        raise typer.Exit(1)


def _would(result: BulkResult, verb: str) -> str:
    """`9 would be cancelled; 3 skipped: 2 done already, 1 stopped already`."""
    text = f"{result.would_act} would be {verb}"
    if result.guarded:
        text += f" ({result.guarded} only if their guards allow)"
    skipped = sum(s.count for s in result.would_skip)
    if skipped:
        text += f"; {skipped} skipped: " + ", ".join(
            f"{s.count} {s.detail}" for s in result.would_skip
        )
    return text


@app.command()
def send(
    event: Annotated[str, typer.Argument(help="The event type.", callback=event_type)],
    fields: Annotated[list[str] | None, typer.Argument(help="Event fields as key=value.")] = None,
    data: Annotated[str | None, typer.Option("--data", help="Event fields as JSON.")] = None,
    idempotency_key: Annotated[
        str | None,
        typer.Option(
            "--idempotency-key",
            help="Run it once: each instance gets KEY/<id>, so a rerun sends nothing twice.",
        ),
    ] = None,
    actor: Actor = None,
    definition: Definition = None,
    state: State = None,
    tag: Tag = None,
    status: Status = None,
    runtime_status: Runtime = None,
    every: Every = False,
    dry_run: DryRun = False,
    as_of: AsOf = None,
    url: UrlOption = None,
    tenant: TenantOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send an event to every instance the filters match; exit 1 if any refused it.

    Example: statewright bulk send APPROVE by=ops --state pending_approval --dry-run
    """
    filters = _filters(definition, state, tag, status, runtime_status, every)
    body: dict[str, object] = {}
    if data is not None:
        parsed = parse_json(data, "--data")
        if not isinstance(parsed, dict):
            raise typer.BadParameter("--data must be a JSON object")
        body.update(parsed)
    body.update(parse_fields(fields or []))
    body["type"] = typed_as(body.get("type"), event)
    with open_session(url, tenant, as_json, machines=not dry_run) as session:
        check_instance_filters(session, definition, state, tag)
        with as_of_refusal():
            result = session.engine.bulk_send(
                body,
                tenant=session.tenant,
                actor=actor,
                idempotency_key=idempotency_key,
                dry_run=dry_run,
                as_of=as_of,
                **filters,
            )
        _report(session, result, "sent")


@app.command()
def cancel(
    reason: Annotated[str | None, typer.Option("--reason", help="Why, for the audit rows.")] = None,
    actor: Actor = None,
    definition: Definition = None,
    state: State = None,
    tag: Tag = None,
    status: Status = None,
    runtime_status: Runtime = None,
    every: Every = False,
    dry_run: DryRun = False,
    as_of: AsOf = None,
    url: UrlOption = None,
    tenant: TenantOption = None,
    as_json: JsonOption = False,
) -> None:
    """Cancel every instance the filters match; exit 1 if any had finished already.

    Example: statewright bulk cancel --definition order --state pending_approval --reason closed
    """
    filters = _filters(definition, state, tag, status, runtime_status, every)
    with open_session(url, tenant, as_json) as session:
        check_instance_filters(session, definition, state, tag)
        with as_of_refusal():
            result = session.engine.bulk_cancel(
                tenant=session.tenant,
                reason=reason,
                actor=actor,
                dry_run=dry_run,
                as_of=as_of,
                **filters,
            )
        _report(session, result, "cancelled")


@app.command()
def retry(
    definition: Definition = None,
    state: State = None,
    tag: Tag = None,
    status: Status = None,
    runtime_status: Runtime = None,
    every: Every = False,
    dry_run: DryRun = False,
    as_of: AsOf = None,
    url: UrlOption = None,
    tenant: TenantOption = None,
    as_json: JsonOption = False,
) -> None:
    """Make the waiting steps of every instance the filters match due now.

    Exit 1 if one of them had none waiting.

    Example: statewright bulk retry --runtime-status retrying
    """
    filters = _filters(definition, state, tag, status, runtime_status, every)
    with open_session(url, tenant, as_json) as session:
        check_instance_filters(session, definition, state, tag)
        with as_of_refusal():
            result = session.engine.bulk_retry(
                tenant=session.tenant, dry_run=dry_run, as_of=as_of, **filters
            )
        _report(session, result, "retried")
