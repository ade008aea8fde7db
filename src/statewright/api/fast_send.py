"""The hot routes' short way: `POST /api/v1/instances/{id}/events` (and a start), well
formed, answered before FastAPI's layers (its error and telemetry middleware, the app's own
middleware, the routing, dependency solving) and sent through the app's send lane
(`send_lane.py`).

A send is the request the API answers most, and on a small machine the server's CPU per
request is what bounds the send rate. `FastSend` is the outermost layer of the app
(`app.py`: FastAPI's `__call__`, unless FastAPI's own telemetry is on) and answers the
common case itself: a POST to the send path with `Content-Type: application/json`, a
`Content-Length` within the body limit, a bearer token and a body that is a plain event. It
keeps what the outer layers give: the request is counted in the metrics under the route's
template, every error is the app's own problem+json (rendered by its exception handlers),
and an unexpected exception is logged and answered with the app's 500 problem.

Without an Idempotency-Key (and with a well-formed If-Match or none) the request is queued
on the send lane, which checks the token, sends and builds the response in its thread,
batched with the sends arriving meanwhile. With a key (or a malformed If-Match) it does
what the route does (`routes.instances.send`: the token checked first, then the key and
If-Match, then the engine) in a thread of a pool.

A start (`POST /api/v1/instances`, `POST /api/v1/instances/{id}`) is taken alike when its
body is plainly a start (`start_lane.start_of`) and it has no Idempotency-Key: it is queued
on the start lane (`start_lane.py`, batches through `Engine.start_many`) and answered with
the route's 201 or the app's own problem. A keyed start whose body is plainly one does what
its route does (`routes.instances.start_generated` or `start_chosen`: the token, then the
key, then the engine) in a thread of a pool, as a keyed send.

Under `serve`, most sends and starts the lanes take are queued before this layer, by the
HTTP protocol itself (`protocol_sends.py`), which answers them with `answer` when they fail.

Anything else (no or another content type, a chunked or oversized body, JSON that does not
parse or is not a plain event, no bearer token, a path id out of bounds) goes the full way
unchanged, its body replayed, so every refusal is the route's own: the same 401, 413 or 422
problem as before.

Under a root path (`serve --root-path`, `root_path.py`) the send path is matched as the
router matches it, on the request's path without the prefix (Starlette's `get_route_path`):
uvicorn puts the prefix in front of `path` and `raw_path`, so a problem's `instance` and the
access line name the full path either way, and a path with the prefix twice goes the full
way to its 404.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from fastapi.routing import APIRoute
from starlette._utils import get_route_path  # what the router matches (FastAPI's too)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from statewright.api.auth import Credential, DeferredCaller
from statewright.api.limits import client_key
from statewright.api.metrics import Metrics
from statewright.api.models import StartIn, json_data
from statewright.api.problems import Problem
from statewright.api.root_path import root_of
from statewright.api.routes import instances
from statewright.api.routes.common import expected_version
from statewright.api.send_lane import Job, LaneJob
from statewright.api.start_lane import StartJob, start_of
from statewright.engine.payload import MAX_DEPTH
from statewright.errors import StatewrightError

__all__ = [
    "ROUTE_PATH",
    "SEND_ROUTE",
    "FastSend",
    "answer",
    "event_of",
    "expected_of",
    "parsed",
    "plain_request",
    "start_job",
]

#: The start and send paths; `[^/]` as the routes' `{instance_id}`, 1 to 200 as their
#: `InstanceId`.
_PATHS = re.compile(r"/api/v1/instances(?:/([^/]{1,200})(/events)?)?")
#: The longest event type `EventIn` takes (`api/models.py`).
_TYPE_MAX = 200


def _route(name: str) -> APIRoute:
    return next(r for r in instances.router.routes if isinstance(r, APIRoute) and r.name == name)


#: What the metrics read of `scope["route"]`: the route and its template.
SEND_ROUTE = _route("send_event")
_START_GENERATED = _route("start_generated")
_START_CHOSEN = _route("start_chosen")
#: The send route's template, as the metrics count it.
ROUTE_PATH: str = SEND_ROUTE.path


class FastSend:
    """ASGI app answering well-formed sends and starts itself; the rest goes to `app`, the
    full way.

    `api` is the FastAPI application whose state (engine, metrics, limits, send lane) and
    exception handlers serve; without, the request's `scope["app"]`.
    """

    def __init__(self, app: ASGIApp, api: Starlette | None = None) -> None:
        self.app = app
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        api = self.api if self.api is not None else scope["app"]
        state = api.state
        plain = plain_request(scope, state.max_body_bytes)
        if plain is None:
            await self.app(scope, receive, send)
            return
        route, instance_id, secret, headers = plain
        body = await _read(receive)
        if body is None:  # the client went away
            return
        if route is not SEND_ROUTE:
            if b"idempotency-key" in headers:
                key = _text(headers.get(b"idempotency-key"))
                await _keyed_start(self.app, api, scope, receive, send, started, plain, body, key)
            else:
                await _start(self.app, api, scope, receive, send, started, plain, body)
            return
        assert instance_id is not None
        event = event_of(body)
        if event is None:
            await self.app(scope, _replay(body, receive), send)
            return
        key = _text(headers.get(b"idempotency-key"))
        if_match = _text(headers.get(b"if-match"))
        job: LaneJob | None = None
        error: BaseException | None = None
        if key is None:
            expected = _expected(if_match)
            if expected is not False:
                client = client_key(scope.get("client"))
                job = LaneJob(secret, instance_id, event, expected, _loop(), client=client)
                try:
                    await state.send_lane.run(job)
                except Exception as failed:  # a bug: the app's 500, logged
                    job, error = None, failed
        if job is None and error is None:  # a key, or a malformed If-Match: as the route
            sent = (secret, instance_id, event)
            await _keyed(api, scope, receive, send, started, sent, key, if_match)
            return
        await answer(api, scope, receive, send, started, job, error)


async def _start(
    app: ASGIApp,
    api: Starlette,
    scope: Scope,
    receive: Receive,
    send: Send,
    started: float,
    plain: Plain,
    body: bytes,
) -> None:
    """A start: through the start lane if its body is plainly one, else the full way."""
    route, instance_id, secret, _ = plain
    job = start_job(secret, instance_id, scope, body, _loop())
    if job is None:
        await app(scope, _replay(body, receive), send)
        return
    error: BaseException | None = None
    try:
        await api.state.start_lane.run(job)
    except Exception as failed:  # a bug: the app's 500, logged
        error = failed
    await answer(api, scope, receive, send, started, None if error else job, error, route)


def start_job(
    secret: str,
    instance_id: str | None,
    scope: Scope,
    body: bytes,
    loop: asyncio.AbstractEventLoop,
    on_answer: Callable[[StartJob], None] | None = None,
) -> StartJob | None:
    """The start lane's job for a start whose body is plainly a start; else None."""
    start = start_of(parsed(body), body)
    if start is None:
        return None
    client = client_key(scope.get("client"))
    return StartJob(secret, instance_id, start, root_of(scope), loop, on_answer, client)


async def answer(
    api: Starlette,
    scope: Scope,
    receive: Receive,
    send: Send,
    started: float,
    job: Job | None,
    error: BaseException | None = None,
    route: APIRoute = SEND_ROUTE,
) -> None:
    """Answer a send or start its lane answered (`job`) or that failed before (`error`), as
    `route` would: its response, or the app's own handler's for its error; counted in the
    metrics."""
    scope["app"] = api
    scope["route"] = route
    response: Any = None
    try:
        if job is not None:
            response = job.response
            error = job.error
        if response is None:
            response = await _handled(Request(scope, receive), error)
    except Exception as failed:  # a bug: the app's 500, logged
        response = await _handled(Request(scope, receive), failed)
    await _respond(api, scope, receive, send, started, response)


async def _keyed(
    api: Starlette,
    scope: Scope,
    receive: Receive,
    send: Send,
    started: float,
    sent: tuple[str, str, dict[str, Any]],
    key: str | None,
    if_match: str | None,
) -> None:
    """A send with an Idempotency-Key (or a malformed If-Match), as the route sends it, in a
    thread of a pool."""
    scope["app"] = api
    scope["route"] = SEND_ROUTE
    secret, instance_id, event = sent
    request = Request(scope, receive)
    try:
        deferred = DeferredCaller(request, Credential(bearer=secret), "operator")
        try:
            response = await _loop().run_in_executor(
                _senders(),
                instances.send,
                request,
                deferred,
                instance_id,
                event,
                key,
                if_match,
            )
        except (Problem, StatewrightError) as error:
            response = await _handled(request, error)
    except Exception as error:  # a bug: the app's 500, logged
        response = await _handled(Request(scope, receive), error)
    await _respond(api, scope, receive, send, started, response)


async def _keyed_start(
    app: ASGIApp,
    api: Starlette,
    scope: Scope,
    receive: Receive,
    send: Send,
    started: float,
    plain: Plain,
    body: bytes,
    key: str | None,
) -> None:
    """A start with an Idempotency-Key whose body is plainly a start, as its route starts it,
    in a thread of a pool; any other body the full way."""
    route, instance_id, secret, _ = plain
    start = start_of(parsed(body), body)
    try:
        model = None if start is None else StartIn(**start)
    except ValueError:  # (pydantic's refusal) the route's own 422
        model = None
    if model is None:
        await app(scope, _replay(body, receive), send)
        return
    scope["app"] = api
    scope["route"] = route
    request = Request(scope, receive)
    try:
        deferred = DeferredCaller(request, Credential(bearer=secret), "operator")
        started_by = (
            functools.partial(instances.start_generated, request, model, deferred, key)
            if instance_id is None
            else functools.partial(
                instances.start_chosen, request, instance_id, model, deferred, key
            )
        )
        try:
            response = await _loop().run_in_executor(_senders(), started_by)
        except (Problem, StatewrightError) as error:
            response = await _handled(request, error)
    except Exception as error:  # a bug: the app's 500, logged
        response = await _handled(Request(scope, receive), error)
    await _respond(api, scope, receive, send, started, response)


async def _respond(
    api: Starlette, scope: Scope, receive: Receive, send: Send, started: float, response: Any
) -> None:
    """Send `response`, timed and counted in the metrics under the route's template."""
    metrics: Metrics = api.state.metrics
    template = scope["route"].path
    status = 500
    try:
        status = response.status_code
        metrics.time("POST", template, time.perf_counter() - started)
        await response(scope, receive, send)
    finally:
        metrics.count("POST", template, status)


#: (route, instance id: None for a generated one, bearer secret, headers by lowercase name).
Plain = tuple[APIRoute, str | None, str, dict[bytes, bytes]]


def plain_request(scope: Scope, max_body_bytes: int) -> Plain | None:
    """The route, instance id (None for a start under a generated one), bearer secret and
    headers by lowercase name of a POST to the send or a start path (under the request's
    root path, if any) with a bearer token, `Content-Type: application/json` and a
    `Content-Length` of at most `max_body_bytes`; None for any other request (the full
    way's)."""
    if scope["method"] != "POST":
        return None
    matched = _PATHS.fullmatch(get_route_path(scope))
    if matched is None:
        return None
    headers = _headers(scope)
    secret = _bearer(headers.get(b"authorization"))
    length = headers.get(b"content-length", b"")
    if (
        secret is None
        or not _is_json(headers.get(b"content-type"))
        or not length.isdigit()
        or int(length) > max_body_bytes  # the body limit's 413, the full way
    ):
        return None
    instance_id, events = matched.groups()
    if events:
        return SEND_ROUTE, instance_id, secret, headers
    return _START_CHOSEN if instance_id else _START_GENERATED, instance_id, secret, headers


def expected_of(headers: dict[bytes, bytes]) -> int | Literal[False] | None:
    """The version the request's `If-Match` names (None for none or `*`); False for a
    malformed one."""
    return _expected(_text(headers.get(b"if-match")))


def _expected(if_match: str | None) -> int | Literal[False] | None:
    """The version `If-Match` names (None for none or `*`); False for a malformed one (the
    full way refuses it, after the token's check)."""
    try:
        return expected_version(if_match)
    except Problem:
        return False


#: Threads sending at once, at most (as many as the thread pool of FastAPI's sync routes).
_SENDERS = 40
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _senders() -> ThreadPoolExecutor:
    """The threads the sends run in, one pool per process (made at the first send).

    The send blocks, so it runs in a thread (and the engine's group commit gathers the
    concurrent senders, each in a thread of its own). A pool of the standard library hands
    a call over and its result back for less of the event loop's CPU than anyio's
    `to_thread`, which FastAPI's sync routes use (a queue in C, no cancel scope, no
    capacity limiter: the pool's size is the limit).
    """
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(_SENDERS, thread_name_prefix="statewright-send")
    return _pool


_loop = asyncio.get_running_loop


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """The request's headers by lowercase name, the first of each (as Starlette's `get`)."""
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        found.setdefault(name, value)
    return found


def _bearer(value: bytes | None) -> str | None:
    """The secret of `Authorization: Bearer <secret>` (as `HTTPBearer` reads it), or None."""
    if not value:
        return None
    scheme, _, secret = value.decode("latin-1").partition(" ")
    secret = secret.strip()
    return secret if scheme.lower() == "bearer" and secret else None


def _is_json(value: bytes | None) -> bool:
    """Whether the content type is `application/json` (parameters aside)."""
    return value is not None and value.split(b";")[0].strip().lower() == b"application/json"


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


async def _read(receive: Receive) -> bytes | None:
    """The whole body; None if the client disconnected."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def event_of(body: bytes) -> dict[str, Any] | None:
    """The event, as the route reads it (`json.loads`, then `EventIn`, dumped): a JSON object
    whose `type` is a string of 1 to 200 characters, its type first; None for anything else
    (the route then refuses it, or reads it its own way: NaN, a type of another kind,
    nesting deeper than the engine's `MAX_DEPTH`, which `EventIn` refuses as the request's
    fault, `invalid-request`, where the engine would call it `invalid-input`)."""
    parsed_body = parsed(body)
    if type(parsed_body) is not dict:
        return None
    kind = parsed_body.get("type")
    if type(kind) is not str or not 0 < len(kind) <= _TYPE_MAX:
        return None
    if body.count(b"{") + body.count(b"[") > MAX_DEPTH:  # rare: only then can it be too deep
        try:
            json_data(parsed_body, "the event")
        except ValueError:
            return None
    return {"type": kind, **parsed_body}


def parsed(body: bytes) -> object:
    """The body as the routes read it (`json.loads`), with NaN and Infinity refused; None
    for a body that is not such JSON (the route's to refuse or read its own way: not JSON,
    not UTF-8, nested too deep, NaN, a number too large for a float such as 1e309, a
    `\\uD800`-style escape, which may leave a lone surrogate), so that each refusal is the
    route's whichever way the body came."""
    if not body or _SURROGATE_ESCAPE.search(body):
        return None
    try:  # `json.loads(body, parse_constant=..., parse_float=...)`, its decoder made once
        return _decode(body.decode(json.detect_encoding(body), "surrogatepass"))
    except Exception:
        return None


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON data")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} is too large for a float")
    return value


_decode = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite).decode
#: An escape of a UTF-16 surrogate (`\uD800` to `\uDFFF`).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _replay(body: bytes, receive: Receive) -> Receive:
    """`receive` with the body already read given first."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


async def _handled(request: Request, error: BaseException | None) -> Any:
    """The response of the app's own handler for `error` (as its exception layer finds it),
    called while `error` is being handled, so that a handler logging it logs its traceback
    (an error of the lane's thread is handed over, not raised here)."""
    assert error is not None
    handlers = request.app.exception_handlers
    for kind in type(error).__mro__:
        if kind in handlers:
            try:
                raise error
            except BaseException:
                return await handlers[kind](request, error)
    raise error
