"""Bulk operations over a filter of the tenant's instances (the filters of the instance
list, or `all`): send one event, cancel, or retry waiting steps, each instance in its own
transaction; `dry_run` only counts the matches, and returns `as_of`, the position it counted
at: a bulk given it acts on no instance changed since (those are `changed`). The answer: how
many matched, the ids done, and each refused one with the problem it would have been alone."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse

from statewright.api.idempotency import Reply, check_key, idempotent
from statewright.api.operation_models import (
    BulkCancelIn,
    BulkFilterIn,
    BulkOut,
    BulkRetryIn,
    BulkSendIn,
    RefusedOut,
    SkippedOut,
)
from statewright.api.problems import Problem, problem_of
from statewright.api.routes.common import (
    IdempotencyKey,
    InstanceFilters,
    Operator,
    answered,
    engine_of,
    errors,
    keyed,
)
from statewright.engine import BulkResult, Engine
from statewright.engine.bulk import BulkFilters

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/bulk", tags=["bulk"])
_RESPONSES = keyed({**errors(403, 404, 413), **answered(200)})


@router.post("/send", response_model=BulkOut, responses=_RESPONSES, summary="Bulk send")
def bulk_send(
    request: Request, body: BulkSendIn, caller: Operator, key: IdempotencyKey = None
) -> JSONResponse:
    """Send `event` to every instance matched, as `POST /api/v1/instances/{id}/events` would
    (the per-event roles are checked per instance). With an Idempotency-Key, each instance
    gets the engine key `<key>/<id>`, so a bulk sent again sends nothing twice."""
    key = check_key(key)
    engine = engine_of(request)
    filters = _filters(body, engine)
    event = body.event.model_dump(mode="json")

    def handle() -> Reply:
        return _reply(
            engine.bulk_send(
                event,
                tenant=caller.tenant,
                actor=caller.token.actor,
                idempotency_key=key,
                roles=caller.token.roles,
                dry_run=body.dry_run,
                as_of=body.as_of,
                **filters,
            )
        )

    return idempotent(request, caller, key, body.model_dump(mode="json"), handle)


@router.post("/cancel", response_model=BulkOut, responses=_RESPONSES, summary="Bulk cancel")
def bulk_cancel(
    request: Request, body: BulkCancelIn, caller: Operator, key: IdempotencyKey = None
) -> JSONResponse:
    """Cancel every instance matched; those that had finished already are refused
    (`instance-not-active`)."""
    key = check_key(key)
    engine = engine_of(request)
    filters = _filters(body, engine)

    def handle() -> Reply:
        return _reply(
            engine.bulk_cancel(
                tenant=caller.tenant,
                reason=body.reason,
                actor=caller.token.actor,
                dry_run=body.dry_run,
                as_of=body.as_of,
                **filters,
            )
        )

    return idempotent(request, caller, key, body.model_dump(mode="json"), handle)


@router.post("/retry", response_model=BulkOut, responses=_RESPONSES, summary="Bulk retry")
def bulk_retry(
    request: Request, body: BulkRetryIn, caller: Operator, key: IdempotencyKey = None
) -> JSONResponse:
    """Make the waiting steps of every instance matched due now; an instance with none
    waiting is refused (`step-not-retryable` with its `reason`)."""
    key = check_key(key)
    engine = engine_of(request)
    filters = _filters(body, engine)

    def handle() -> Reply:
        return _reply(
            engine.bulk_retry(
                tenant=caller.tenant, dry_run=body.dry_run, as_of=body.as_of, **filters
            )
        )

    return idempotent(request, caller, key, body.model_dump(mode="json"), handle)


def _filters(body: BulkFilterIn, engine: Engine) -> BulkFilters:
    """The engine's filters; a body with none and without `all` is refused (a bulk over
    every instance is said, never implied), as is a state or tag no definition has."""
    filters = InstanceFilters(
        body.definition, body.status, body.runtime_status, body.state, body.tag
    ).checked(engine)
    if not body.all and all(value is None for value in filters.values()):
        raise Problem(
            422,
            "invalid-request",
            "Which instances?",
            'name the instances: "definition", "state", "tag", "status" or '
            '"runtime_status", or "all": true for every one of the tenant ("dry_run": true '
            "counts them first)",
            errors=[{"field": "body", "message": "no filter and not all"}],
        )
    return filters


def _reply(result: BulkResult) -> Reply:
    refused = []
    for instance_id, error in result.refused.items():
        problem = problem_of(error)
        refused.append(
            RefusedOut(
                instance_id=instance_id,
                type=problem.type,
                detail=problem.detail,
                reason=getattr(error, "reason", None),
            )
        )
    body = BulkOut(
        matched=result.matched,
        done=list(result.done),
        refused=refused,
        dry_run=result.dry_run,
        changed=list(result.changed),
        as_of=result.as_of,
        would_act=result.would_act,
        would_skip=[
            SkippedOut(reason=s.reason, count=s.count, detail=s.detail) for s in result.would_skip
        ],
        guarded=result.guarded,
    )
    return Reply(200, body.model_dump(mode="json"))
