"""What operators do to instances beside sending events: cancel one (`If-Match` honoured),
and count the tenant's instances per business state."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import JSONResponse

from statewright.api.idempotency import Reply, check_key, idempotent
from statewright.api.models import TransitionOut
from statewright.api.operation_models import CancelIn, StateCountOut, StateCountsOut
from statewright.api.routes.common import (
    IdempotencyKey,
    IfMatch,
    InstanceFilters,
    InstanceId,
    Operator,
    Viewer,
    answered,
    engine_of,
    errors,
    etag,
    expected_version,
    instance_filters,
    keyed,
)
from statewright.api.views import transition_out

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["instances"])


@router.get(
    "/state-counts",
    response_model=StateCountsOut,
    responses=errors(404),
    summary="Count instances per business state",
)
def state_counts(
    request: Request,
    caller: Viewer,
    filters: Annotated[InstanceFilters, Depends(instance_filters)],
) -> StateCountsOut:
    """How many of the tenant's instances are in each business state, per definition, with
    the filters of the instance list; `total` is their sum."""
    engine = engine_of(request)
    counts = engine.count_by_state(tenant=caller.tenant, **filters.checked(engine))
    return StateCountsOut(
        items=[
            StateCountOut(definition=c.definition_id, state=c.state, value=c.value, count=c.count)
            for c in counts
        ],
        total=sum(c.count for c in counts),
    )


@router.post(
    "/instances/{instance_id}/cancel",
    response_model=TransitionOut,
    responses=keyed({**errors(403, 404, 409, 412, 413), **answered(200, "ETag")}),
    summary="Cancel an instance",
)
def cancel(
    request: Request,
    instance_id: InstanceId,
    caller: Operator,
    body: CancelIn | None = None,
    key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Stop the instance: status `stopped`, its pending timers and steps cancelled in the
    same transaction, an audit row `{"type": "xstate.stop", "reason"}` naming the token.
    200 with the transition and the new `ETag`. An instance that has finished already: 409
    `instance-not-active`, nothing changed; a stale `If-Match`: 412."""
    key = check_key(key)
    expected = expected_version(if_match)
    reason = body.reason if body is not None else None
    engine = engine_of(request)

    def handle() -> Reply:
        entry = engine.cancel(
            instance_id,
            tenant=caller.tenant,
            reason=reason,
            actor=caller.token.actor,
            expected_version=expected,
        )
        return Reply(
            200,
            transition_out(entry, payloads=caller.payloads).model_dump(mode="json"),
            {"ETag": etag(entry.seq)},
        )

    return idempotent(request, caller, key, {"reason": reason, "if_match": expected}, handle)
