"""Instances: start (a generated or caller-chosen id), get (`ETag` = version), list, history,
the events accepted now, and send an event (`If-Match` → 412 when stale)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from starlette.requests import Request
from starlette.responses import JSONResponse

from statewright.api.auth import Caller, DeferredCaller
from statewright.api.idempotency import Reply, check_key, idempotent
from statewright.api.models import (
    AcceptedOut,
    EventIn,
    HistoryOut,
    InstanceOut,
    InstancesOut,
    StartIn,
    TransitionOut,
)
from statewright.api.root_path import root_of
from statewright.api.routes.common import (
    DeferredOperator,
    IdempotencyKey,
    IfMatch,
    InstanceFilters,
    InstanceId,
    Viewer,
    answered,
    engine_of,
    errors,
    etag,
    expected_version,
    instance_filters,
    keyed,
    location,
)
from statewright.api.views import accepted, accepted_events_out, instance_out, transition_out
from statewright.errors import InstanceExists

__all__ = ["router", "send"]

router = APIRouter(prefix="/api/v1", tags=["instances"])

#: Ids made from an Idempotency-Key: a start retried after its response was lost finds its
#: instance instead of making a second one.
_KEYED_IDS = uuid.UUID("0b6f5bb4-5f8e-4d36-9a53-5f1f8e0c7a21")


@router.post(
    "/instances",
    status_code=201,
    response_model=InstanceOut,
    responses=keyed({**errors(403, 404, 409, 413), **answered(201, "Location", "ETag")}),
    summary="Start an instance under a generated id",
)
def start_generated(
    request: Request, body: StartIn, deferred: DeferredOperator, key: IdempotencyKey = None
) -> JSONResponse:
    """Start an instance of `definition`; its id is generated (from the Idempotency-Key,
    when one is sent). 201 with `Location` and `ETag`."""
    caller = deferred.caller()
    key = check_key(key)
    keyed = None if key is None else uuid.uuid5(_KEYED_IDS, f"{caller.tenant}\0{key}").hex
    return _start(request, caller, body, keyed or uuid.uuid4().hex, key, keyed=keyed is not None)


@router.post(
    "/instances/{instance_id}",
    status_code=201,
    response_model=InstanceOut,
    responses=keyed({**errors(403, 404, 409, 413), **answered(201, "Location", "ETag")}),
    summary="Start an instance under a chosen id",
)
def start_chosen(
    request: Request,
    instance_id: InstanceId,
    body: StartIn,
    deferred: DeferredOperator,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Start an instance of `definition` under `instance_id` (409 if the id is taken in the
    tenant). 201 with `Location` and `ETag`."""
    caller = deferred.caller()
    return _start(request, caller, body, instance_id, check_key(key), keyed=False)


def _start(
    request: Request,
    caller: Caller,
    body: StartIn,
    instance_id: str,
    key: str | None,
    *,
    keyed: bool,
) -> JSONResponse:
    engine, root = engine_of(request), root_of(request.scope)

    def handle() -> Reply:
        try:
            instance = engine.start(
                body.definition,
                input=body.input,
                instance_id=instance_id,
                tenant=caller.tenant,
                actor=caller.token.actor,
                version=body.version,
            )
        except InstanceExists:
            if not keyed:
                raise
            # Started by this very request, whose response was lost before it was kept.
            instance = engine.get(instance_id, tenant=caller.tenant)
        return Reply(
            201,
            instance_out(instance, payloads=caller.payloads).model_dump(mode="json"),
            {"Location": location(instance.id, root), "ETag": etag(instance.version)},
        )

    return idempotent(request, caller, key, body.model_dump(mode="json"), handle)


@router.get(
    "/instances",
    response_model=InstancesOut,
    responses=errors(404),
    summary="List instances",
)
def list_instances(
    request: Request,
    caller: Viewer,
    filters: Annotated[InstanceFilters, Depends(instance_filters)],
    id_prefix: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="Whose id starts with this (case-sensitive): `A-10` finds `A-10`, "
            "`A-100`, ...",
        ),
    ] = None,
    cursor: Annotated[
        str | None,
        Query(min_length=1, max_length=2000, description="The `next_cursor` of the last page."),
    ] = None,
    after: Annotated[
        str | None,
        Query(min_length=1, max_length=200, description="The `next` (an id) of the last page."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> InstancesOut:
    """The tenant's instances by id, filtered (and by the start of their id); page on with
    `cursor` = the last `next_cursor` and the same filters (or `after` = the last `next`)."""
    engine = engine_of(request)
    found = engine.list(
        tenant=caller.tenant,
        id_prefix=id_prefix,
        cursor=cursor,
        after=after,
        limit=limit,
        **filters.checked(engine),
    )
    return InstancesOut(
        items=[instance_out(instance, payloads=caller.payloads) for instance in found],
        next_cursor=found.next_cursor,
        next=found[-1].id if found.next_cursor is not None else None,
    )


@router.get(
    "/instances/{instance_id}",
    response_model=InstanceOut,
    responses={**errors(404), **answered(200, "ETag")},
    summary="Get an instance",
)
def get_instance(request: Request, instance_id: InstanceId, caller: Viewer) -> JSONResponse:
    """The instance as it stands; its `ETag` is its version (for `If-Match` on a send)."""
    instance = engine_of(request).get(instance_id, tenant=caller.tenant)
    return JSONResponse(
        instance_out(instance, payloads=caller.payloads).model_dump(mode="json"),
        headers={"ETag": etag(instance.version)},
    )


@router.get(
    "/instances/{instance_id}/history",
    response_model=HistoryOut,
    responses=errors(404),
    summary="An instance's history",
)
def history(request: Request, instance_id: InstanceId, caller: Viewer) -> HistoryOut:
    """Every committed transition of the instance, oldest first."""
    entries = engine_of(request).history(instance_id, tenant=caller.tenant)
    return HistoryOut(items=[transition_out(e, payloads=caller.payloads) for e in entries])


@router.get(
    "/instances/{instance_id}/accepted",
    response_model=AcceptedOut,
    responses=errors(404),
    summary="The events an instance accepts now",
)
def accepted_events(request: Request, instance_id: InstanceId, caller: Viewer) -> AcceptedOut:
    """The event types the instance's current state handles (`accepted_events`) and, per
    type, whether a guard decides it, the roles that may send it, where it leads, and
    whether this caller's token may send it (`allowed`)."""
    instance = engine_of(request).get(instance_id, tenant=caller.tenant)
    found = accepted(instance)
    return AcceptedOut(
        instance_id=instance.id,
        version=instance.version,
        value=instance.value,
        status=instance.status,
        accepted_events=list(found.types),
        events=accepted_events_out(found, caller),
    )


@router.post(
    "/instances/{instance_id}/events",
    response_model=TransitionOut,
    responses=keyed({**errors(403, 404, 409, 412, 413), **answered(200, "ETag")}),
    summary="Send an event",
)
def send_event(
    request: Request,
    instance_id: InstanceId,
    body: EventIn,
    deferred: DeferredOperator,
    key: IdempotencyKey = None,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Send an event; 200 with the committed transition and the new `ETag`. Not accepted in
    the current state: 409 with `state` and `accepted_events`; a transition whose roles the
    token lacks: 403, nothing written; a stale `If-Match`: 412 with `current_version`; fields
    that fail the schema the definition declares for the event: 422 with `errors`
    (`[{"path": "items[2].sku", "message": ...}]`), nothing written."""
    return send(request, deferred, instance_id, body.model_dump(mode="json"), key, if_match)


def send(
    request: Request,
    deferred: DeferredCaller,
    instance_id: str,
    event: dict[str, Any],
    key: str | None,
    if_match: str | None,
) -> JSONResponse:
    """Send `event` as the request's caller (blocking: call it in a thread). The route's
    work, also done by `fast_send.FastSend` for a well-formed request with an
    Idempotency-Key (the send lane, `send_lane.py`, answers those without one alike).

    Raises:
        Problem: 401, 429 or 403 for the token, 422 for a malformed key, 412 for a
            malformed `If-Match`; the engine's errors as they come (the app maps them).
    """
    caller = deferred.caller()
    key = check_key(key)
    expected = expected_version(if_match)
    engine = engine_of(request)

    def handle() -> Reply:
        entry = engine.send(
            instance_id,
            event,
            tenant=caller.tenant,
            actor=caller.token.actor,
            idempotency_key=key,
            expected_version=expected,
            roles=caller.token.roles,
        )
        return Reply(
            200,
            transition_out(entry, payloads=caller.payloads).model_dump(mode="json"),
            {"ETag": etag(entry.version)},
        )

    return idempotent(request, caller, key, {"event": event, "if_match": expected}, handle)
