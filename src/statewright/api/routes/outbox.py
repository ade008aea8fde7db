"""The outbox: the messages not delivered yet; the dead letters, listed and put back to be
delivered (one, those a filter matches, or all; `dry_run` only counts, and says as of when,
so that the redrive after it acts on exactly those)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import JSONResponse

from statewright.api.idempotency import Reply, check_key, idempotent
from statewright.api.operation_models import (
    DeadLettersOut,
    PendingMessageOut,
    PendingOutboxOut,
    RedriveIn,
    RedriveOut,
)
from statewright.api.problems import Problem
from statewright.api.routes.common import (
    Cursor,
    IdempotencyKey,
    Limit,
    Operator,
    Viewer,
    answered,
    engine_of,
    errors,
    keyed,
)
from statewright.api.views import dead_letter_out

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["outbox"])

_Filter = Query(min_length=1, max_length=200)


@router.get(
    "/outbox",
    response_model=PendingOutboxOut,
    responses=errors(),
    summary="List the outbox messages not delivered yet",
)
def pending_outbox(
    request: Request, caller: Viewer, cursor: Cursor = None, limit: Limit = 100
) -> PendingOutboxOut:
    """The tenant's outbox messages waiting for a worker's listener, by message id:
    attempts so far, the last error, when the next attempt is due."""
    page = engine_of(request).pending_outbox(tenant=caller.tenant, cursor=cursor, limit=limit)
    return PendingOutboxOut(
        items=[
            PendingMessageOut(
                message_id=m.message_id,
                instance_id=m.instance_id,
                version=m.version,
                event=dict(m.event) if caller.payloads else {"type": m.event.get("type")},
                attempts=m.attempts,
                last_error=m.last_error,
                created_at=m.created_at,
                next_attempt_at=m.next_attempt_at,
            )
            for m in page
        ],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/dead-letters",
    response_model=DeadLettersOut,
    responses=errors(),
    summary="List dead letters",
)
def dead_letters(
    request: Request,
    caller: Viewer,
    instance_id: Annotated[str | None, _Filter] = None,
    event_type: Annotated[str | None, _Filter] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> DeadLettersOut:
    """The tenant's outbox messages whose delivery gave up (of one instance, of one event
    type), by message id: attempts, when it failed, the last error."""
    page = engine_of(request).dead_letters(
        tenant=caller.tenant,
        instance_id=instance_id,
        event_type=event_type,
        cursor=cursor,
        limit=limit,
    )
    return DeadLettersOut(
        items=[dead_letter_out(letter, payloads=caller.payloads) for letter in page],
        next_cursor=page.next_cursor,
    )


@router.post(
    "/dead-letters/redrive",
    response_model=RedriveOut,
    responses=keyed({**errors(403, 404, 413), **answered(200)}),
    summary="Redrive dead letters",
)
def redrive(
    request: Request, body: RedriveIn, caller: Operator, key: IdempotencyKey = None
) -> JSONResponse:
    """Put dead letters back to be delivered now, their attempts reset: the one
    `message_id` names, those `instance_id` and `event_type` match, or with `all` every
    one of the tenant; `dry_run` only counts them and returns `as_of`, the position they
    were counted at. Passed back with the redrive, `as_of` keeps it to the letters dead then
    (less those redriven meanwhile): one dead-lettered since is left alone. Without it, every
    letter matching now. A `message_id` that is no dead letter of the tenant: 404 saying if
    it is pending or delivered instead."""
    key = check_key(key)
    chosen = body.message_id or body.instance_id or body.event_type
    if chosen is None and not body.all:
        raise Problem(
            422,
            "invalid-request",
            "Which dead letters?",
            'name the dead letters: "message_id", "instance_id" or "event_type", or '
            '"all": true for every one of the tenant ("dry_run": true counts them first)',
            errors=[{"field": "body", "message": "no message_id, filter or all"}],
        )
    engine = engine_of(request)

    def handle() -> Reply:
        # A dry run counts the letters dead at a position it returns; a redrive given that
        # position acts on those only (Engine.dead_letter_horizon).
        as_of = body.as_of
        if body.dry_run and as_of is None and body.message_id is None:
            as_of = engine.dead_letter_horizon()
        count = engine.redrive(
            body.message_id,
            tenant=caller.tenant,
            instance_id=body.instance_id,
            event_type=body.event_type,
            dry_run=body.dry_run,
            as_of=as_of,
        )
        redriven = 0 if body.dry_run else count
        out = RedriveOut(redriven=redriven, matched=count, dry_run=body.dry_run, as_of=as_of)
        return Reply(200, out.model_dump())

    return idempotent(request, caller, key, body.model_dump(mode="json"), handle)
