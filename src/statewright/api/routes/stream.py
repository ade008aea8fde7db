"""The live stream: Server-Sent Events of committed transitions, per instance and per tenant.

Each event is one committed transition (`event: transition`), its `id:` the stream cursor
(the audit row's `stream_seq`), its `data:` a JSON object. A client that reconnects with
`Last-Event-ID` first gets the transitions it missed, read from the audit table, then the
live ones, with none missing and none twice; a gap over `replay_limit` transitions gets
a `resync` event instead (read the current state again, then go on). Idle streams get a
comment every `heartbeat_s` seconds. See docs/api.md, "Live stream".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query
from starlette.requests import Request
from starlette.responses import StreamingResponse

from statewright.api.auth import Caller, bearer, caller_with, credential_of, resolve
from statewright.api.problems import Problem
from statewright.api.routes.common import engine_of, errors
from statewright.api.stream_hub import Resync, StreamHub, Subscription
from statewright.engine.stream import StreamEntry
from statewright.errors import StatewrightError

__all__ = ["EVENT_STREAM", "router"]

router = APIRouter(prefix="/api/v1", tags=["stream"])

EVENT_STREAM = "text/event-stream"
#: Headers that keep proxies from buffering or transforming the stream (nginx buffers
#: unless told `X-Accel-Buffering: no`); it is never compressed.
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

Viewer = Annotated[Caller, Depends(caller_with("viewer"))]
LastEventId = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        description="The `id` of the last event received: the stream resumes after it.",
    ),
]
_DESCRIBED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-Sent Events: `transition` per committed transition (`id:` the "
        "stream cursor, `data:` JSON), `resync` when events were skipped, comments as "
        "heartbeats.",
        "content": {EVENT_STREAM: {"schema": {"type": "string"}}},
    }
}


def hub_of(request: Request) -> StreamHub:
    """The app's stream hub."""
    hub: StreamHub = request.app.state.stream_hub
    return hub


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={**_DESCRIBED, **errors(404)},
    summary="Live stream of the tenant's transitions",
)
async def tenant_stream(
    request: Request,
    caller: Viewer,
    definition: Annotated[
        str | None,
        Query(min_length=1, max_length=200, description="Only this definition's instances."),
    ] = None,
    last_event_id: LastEventId = None,
) -> StreamingResponse:
    """Every transition committed in the token's tenant from now on (after `Last-Event-ID`
    when sent), as Server-Sent Events; a `definition` not stored is 404, naming the near
    miss (misspelt, it would match nothing and say nothing)."""
    if definition is not None:
        await asyncio.to_thread(hub_of(request).engine.definition, definition)
    return await _stream(request, caller, last_event_id, definition_id=definition)


@router.get(
    "/instances/{instance_id}/stream",
    response_class=StreamingResponse,
    responses={**_DESCRIBED, **errors(404)},
    summary="Live stream of one instance's transitions",
)
async def instance_stream(
    request: Request,
    caller: Viewer,
    instance_id: Annotated[str, Path(min_length=1, max_length=200, description="The instance id.")],
    last_event_id: LastEventId = None,
) -> StreamingResponse:
    """Every transition of the instance committed from now on (after `Last-Event-ID` when
    sent), as Server-Sent Events. 404 if the tenant has no such instance."""
    engine = engine_of(request)
    await asyncio.to_thread(engine.get, instance_id, tenant=caller.tenant)  # NotFound: 404
    return await _stream(request, caller, last_event_id, instance_id=instance_id)


def _cursor(last_event_id: str | None) -> int | None:
    if last_event_id is None or not last_event_id.strip():
        return None
    text = last_event_id.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise Problem(
            422,
            "invalid-request",
            "Last-Event-ID names no stream position",
            f"Last-Event-ID {last_event_id[:40]!r} is not an event id of this stream (a whole "
            "number); send the id of the last event received, or no Last-Event-ID",
        )
    return int(text)


async def _stream(
    request: Request,
    caller: Caller,
    last_event_id: str | None,
    *,
    instance_id: str | None = None,
    definition_id: str | None = None,
) -> StreamingResponse:
    after = _cursor(last_event_id)
    hub = hub_of(request)
    filters = {"tenant": caller.tenant, "instance_id": instance_id, "definition_id": definition_id}
    # The credential the caller was let in with (a bearer token or the console's cookie).
    credential = credential_of(request, await bearer(request))

    async def still_valid() -> bool:
        try:
            found = await asyncio.to_thread(resolve, hub.engine, credential)
        except StatewrightError:
            return False  # the store is unreachable: the client's reconnect gets a 503
        return found is not None and found[0].prefix == caller.token.prefix

    events = _events(hub, filters, after, still_valid, payloads=caller.payloads)
    return StreamingResponse(events, media_type=EVENT_STREAM, headers=STREAM_HEADERS)


async def _events(
    hub: StreamHub,
    filters: dict[str, Any],
    after: int | None,
    still_valid: Callable[[], Awaitable[bool]],
    *,
    payloads: bool,
) -> AsyncIterator[str]:
    """The stream's text: the retry hint, the replay, then live events and heartbeats. The
    subscription is made here, so that it ends with the stream (the client went away, or
    the server stops), whenever that is. The token (or console session) is checked again
    before each batch of events and each heartbeat: a revoked one ends the stream (its
    reconnect gets 401)."""
    settings = hub.settings
    subscription = await hub.subscribe(**filters)
    try:
        yield f"retry: {settings.retry_ms}\n\n"
        if after is not None:
            for item in await _replay(hub, subscription, after):
                yield _format(item, payloads=payloads)
        stopping = asyncio.ensure_future(hub.stopping.wait())
        try:
            while not hub.stopping.is_set():
                ready = asyncio.ensure_future(subscription.ready.wait())
                try:  # the client going away cancels this wait: the task must end with it
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait(
                            {ready, stopping},
                            timeout=settings.heartbeat_s,
                            return_when=asyncio.FIRST_COMPLETED,
                        )
                finally:
                    ready.cancel()
                if hub.stopping.is_set() or not await still_valid():
                    break
                items = subscription.take()
                if not items:
                    yield ": heartbeat\n\n"
                for item in items:
                    yield _format(item, payloads=payloads)
        finally:
            stopping.cancel()
    finally:
        hub.unsubscribe(subscription)


async def _replay(
    hub: StreamHub, subscription: Subscription, after: int
) -> list[StreamEntry | Resync]:
    """What a client reconnecting after cursor `after` missed, up to the subscription's
    start (the live events take over from there): the transitions, or a `resync`."""
    start = subscription.start
    if after > start:
        # Another server's reader may be ahead of this one's: the id is good if it is
        # settled here too; else it is from another database (or one restored from backup).
        if after <= await asyncio.to_thread(hub.engine.stream_horizon):
            subscription.skip_through(after)
            return []
        return [Resync(start, "unknown-cursor")]
    if after == start:
        return []
    limit = hub.settings.replay_limit
    entries = await asyncio.to_thread(
        hub.engine.audit_since,
        after,
        tenant=subscription.tenant,
        through=start,
        instance_id=subscription.instance_id,
        definition_id=subscription.definition_id,
        limit=limit + 1,
    )
    if len(entries) > limit:
        return [Resync(start, "gap-too-large")]
    return list(entries)


def _format(item: StreamEntry | Resync, *, payloads: bool) -> str:
    """One event as Server-Sent Events text."""
    if isinstance(item, Resync):
        data: dict[str, Any] = {
            "reason": item.reason,
            "cursor": item.cursor,
            "detail": "transitions up to this event's id were not sent: read the current "
            "state again (GET the instance or list), then go on with this stream",
        }
        return f"id: {item.cursor}\nevent: resync\ndata: {json.dumps(data)}\n\n"
    event = item.event if payloads else {"type": item.event.get("type")}
    data = {
        "cursor": item.cursor,
        "instance_id": item.instance_id,
        "definition": item.definition_id,
        "version": item.version,
        "type": item.event.get("type"),
        "event": event,
        "from_value": item.from_value,
        "to_value": item.to_value,
        "status": item.status,
        "runtime_status": item.runtime_status,
        "actor": item.actor,
        "at": item.at,
    }
    return f"id: {item.cursor}\nevent: transition\ndata: {json.dumps(data)}\n\n"
