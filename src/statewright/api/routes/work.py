"""The work instances wait on: their unfinished step runs (per instance or per tenant),
retrying one now, the failed attempts kept for the history, and their pending timers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.requests import Request
from starlette.responses import JSONResponse

from statewright.api.idempotency import Reply, check_key, idempotent
from statewright.api.operation_models import StepAttemptOut, StepAttemptsOut, StepsOut, TimersOut
from statewright.api.routes.common import (
    Cursor,
    IdempotencyKey,
    InstanceId,
    Limit,
    Operator,
    Viewer,
    answered,
    engine_of,
    errors,
    keyed,
)
from statewright.api.views import step_out, timer_out

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["work"])

StepStatus = Annotated[
    str | None,
    Query(min_length=1, max_length=200, description="pending, running or retrying."),
]
InvokeId = Annotated[str, Path(min_length=1, max_length=200, description="The step's invoke id.")]


@router.get("/steps", response_model=StepsOut, responses=errors(), summary="The tenant's step runs")
def tenant_steps(
    request: Request,
    caller: Viewer,
    status: StepStatus = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> StepsOut:
    """The tenant's unfinished step runs by (instance id, invoke id): status, attempts,
    last error, next attempt."""
    page = engine_of(request).steps(tenant=caller.tenant, status=status, cursor=cursor, limit=limit)
    return StepsOut(
        items=[step_out(run, payloads=caller.payloads) for run in page],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/instances/{instance_id}/steps",
    response_model=StepsOut,
    responses=errors(404),
    summary="An instance's step runs",
)
def instance_steps(
    request: Request,
    instance_id: InstanceId,
    caller: Viewer,
    status: StepStatus = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> StepsOut:
    """The instance's unfinished step runs by invoke id."""
    page = engine_of(request).steps(
        instance_id, tenant=caller.tenant, status=status, cursor=cursor, limit=limit
    )
    return StepsOut(
        items=[step_out(run, payloads=caller.payloads) for run in page],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/instances/{instance_id}/step-attempts",
    response_model=StepAttemptsOut,
    responses=errors(404),
    summary="An instance's failed step attempts",
)
def step_attempts(request: Request, instance_id: InstanceId, caller: Viewer) -> StepAttemptsOut:
    """Every failed attempt of the instance's step runs (finished runs' too), in the order
    they ended: which attempt, its error, when it started and ended."""
    found = engine_of(request).step_attempts(instance_id, tenant=caller.tenant)
    return StepAttemptsOut(
        items=[
            StepAttemptOut(
                invoke_id=a.invoke_id,
                src=a.src,
                started_version=a.started_version,
                attempt=a.attempt,
                error_type=a.error_type,
                error_message=a.error_message,
                started_at=a.started_at,
                ended_at=a.ended_at,
            )
            for a in found
        ]
    )


@router.post(
    "/instances/{instance_id}/steps/{invoke_id}/retry",
    response_model=StepsOut,
    responses=keyed({**errors(403, 404, 409, 413), **answered(200)}),
    summary="Retry a step now",
)
def retry_step(
    request: Request,
    instance_id: InstanceId,
    invoke_id: InvokeId,
    caller: Operator,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Make a step that waits for its next attempt (after a failure) due now: a worker that
    provides it takes it at once, its attempt count and retry policy unchanged. 200 with the
    step as it now stands. Anything else is 409 `step-not-retryable` whose `reason` says
    why (`running`, `pending`, `finished`, `gave_up`, `no_step`, `not_active`): nothing
    was changed, and nothing is reported as done."""
    key = check_key(key)
    engine = engine_of(request)

    def handle() -> Reply:
        runs = engine.retry_step(instance_id, invoke_id, tenant=caller.tenant)
        items = [step_out(run, payloads=caller.payloads) for run in runs]
        body = StepsOut(items=items, next_cursor=None)
        return Reply(200, body.model_dump(mode="json"))

    return idempotent(request, caller, key, {}, handle)


@router.get("/timers", response_model=TimersOut, responses=errors(), summary="The tenant's timers")
def tenant_timers(
    request: Request, caller: Viewer, cursor: Cursor = None, limit: Limit = 100
) -> TimersOut:
    """The tenant's pending timers by (instance id, timer id), with their due times."""
    page = engine_of(request).timers(tenant=caller.tenant, cursor=cursor, limit=limit)
    return TimersOut(
        items=[timer_out(timer, payloads=caller.payloads) for timer in page],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/instances/{instance_id}/timers",
    response_model=TimersOut,
    responses=errors(404),
    summary="An instance's timers",
)
def instance_timers(
    request: Request,
    instance_id: InstanceId,
    caller: Viewer,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> TimersOut:
    """The instance's pending timers by timer id, with their due times."""
    page = engine_of(request).timers(instance_id, tenant=caller.tenant, cursor=cursor, limit=limit)
    return TimersOut(
        items=[timer_out(timer, payloads=caller.payloads) for timer in page],
        next_cursor=page.next_cursor,
    )
