"""The hot route answered inside `serve`'s HTTP protocol: a plain send is queued on the send
lane as soon as its body is in, and its 200 written when the lane answers, without an ASGI
task, the app's layers or uvicorn's response machinery in between.

`fast_send.py` answers a send before FastAPI's layers; what is left of a send's CPU outside
the engine is then mostly uvicorn's per-request work around the app: a task and a coroutine
per request, a future awaited, the response's messages checked and its head assembled. On a
small machine that bounds the send rate. Here the protocol (`http_protocol.Protocol`, on
httptools) takes a request `fast_send` would queue on the lane itself:
`POST /api/v1/instances/{id}/events` on HTTP/1.1 with a bearer token,
`Content-Type: application/json`, a `Content-Length` within the body limit and uvicorn's
read buffer, no Idempotency-Key, no or a well-formed If-Match, no `Expect: 100-continue`,
no proxy headers, and a body that is a plain event; when FastAPI's own telemetry is off
(`_Api.short_way_on`), uvicorn limits no concurrency, and uvicorn is a release this was
tested with (`TESTED_UVICORN`). Under a root path (`serve --root-path`) the send path is
matched without it, as the router matches it (`fast_send.plain_send`): uvicorn's `path`
and `raw_path` carry the prefix, so the access line and a problem's `instance` name it.

A plain start (`POST /api/v1/instances[/{id}]`, the same conditions but If-Match, a body
plainly a start) is taken alike, queued on the start lane and answered with its 201.

It keeps every behaviour of the way through the app: the 200's bytes are those uvicorn
writes for the lane's response (the server's default headers, `connection: close` when the
connection is not kept alive), the access line is uvicorn's (`AccessLogger`), the metrics
count and time it under the route's template, the keep-alive timer and pipelined requests
go on as uvicorn's own response completion does. Everything else is handed to uvicorn as an
ASGI task with the body already read: a request that turns out not to be a plain event goes
the full way (`fast_send` and the route), and an answer that is not a 200 (a refused token,
a conflict, a bug) is rendered by the app's own handlers (`fast_send.answer`), as is a 200
while the connection's writing is paused.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import uvicorn
from fastapi.routing import APIRoute
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

try:
    from uvicorn.protocols.http.httptools_impl import (
        HEADER_RE,
        HEADER_VALUE_RE,
        STATUS_LINE,
    )
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _HttpTools

    HTTPTOOLS: Any = _HttpTools
except ImportError:  # no httptools: uvicorn's h11 protocol, and every send the full way
    HTTPTOOLS = None

from statewright.api.access_log import ACCESS_MESSAGE
from statewright.api.fast_send import (
    SEND_ROUTE,
    FastSend,
    answer,
    event_of,
    expected_of,
    plain_request,
    start_job,
)
from statewright.api.limits import client_key
from statewright.api.response_headers import with_response_headers
from statewright.api.root_path import route_path
from statewright.api.send_lane import Job, LaneJob, Sent

if TYPE_CHECKING:
    from statewright.api.app import _Api

__all__ = ["TESTED_UVICORN", "ShortSend", "short_way_app", "take"]

#: The uvicorn releases (major.minor) whose protocol internals this module was tested
#: against (it takes part in their request cycle); with any other every send takes the
#: full way, which only costs speed.
TESTED_UVICORN = frozenset({"0.55"})

#: Headers whose presence leaves a request to the full way (uvicorn's proxy headers
#: middleware reads them; the 100-continue answer is uvicorn's receive's).
_LEFT = frozenset((b"x-forwarded-for", b"x-forwarded-proto", b"idempotency-key"))
#: Header names uvicorn's response start treats specially.
_SPECIAL = frozenset((b"content-length", b"transfer-encoding", b"connection"))


def short_way_app(protocol: Any) -> _Api | None:
    """The app whose sends `protocol` may answer itself: uvicorn's httptools protocol, no
    concurrency limit, the app (under uvicorn's proxy headers middleware at most) one with
    the short way; else None."""
    if (
        HTTPTOOLS is None
        or not isinstance(protocol, HTTPTOOLS)
        or protocol.limit_concurrency is not None
        or ".".join(uvicorn.__version__.split(".")[:2]) not in TESTED_UVICORN
    ):
        return None
    app = protocol.app
    if type(app) is ProxyHeadersMiddleware:
        app = app.app
    found = getattr(app, "fast_send", None)
    return app if isinstance(found, FastSend) else None


def take(api: _Api, protocol: Any, cycle: Any) -> ShortSend | None:
    """A `ShortSend` for the request of `cycle`, its head just parsed, if it is one the
    protocol answers itself; else None (the full way's)."""
    scope = cycle.scope
    if (
        scope["http_version"] != "1.1"
        or cycle.waiting_for_100_continue
        or api.root_path  # FastAPI's own (deprecated) root path: the app applies it
        or not api.short_way_on()
    ):
        return None
    plain = plain_request(scope, min(api.state.max_body_bytes, HIGH_WATER_LIMIT))
    if plain is None:
        return None
    route, instance_id, secret, headers = plain
    if not _LEFT.isdisjoint(headers):
        return None
    expected = None
    if route is SEND_ROUTE:
        expected = expected_of(headers)
        if expected is False:
            return None
    return ShortSend(api, protocol, cycle, route, secret, instance_id, expected)


class ShortSend:
    """One send or start the protocol answers itself, from its body's arrival to its
    response."""

    __slots__ = (
        "api",
        "cycle",
        "expected",
        "instance_id",
        "protocol",
        "route",
        "secret",
        "started",
    )

    def __init__(
        self,
        api: _Api,
        protocol: Any,
        cycle: Any,
        route: APIRoute,
        secret: str,
        instance_id: str | None,
        expected: int | None,
    ) -> None:
        self.started = time.perf_counter()
        self.api = api
        self.protocol = protocol
        self.cycle = cycle
        self.route = route
        self.secret = secret
        self.instance_id = instance_id
        self.expected = expected

    def body_complete(self) -> None:
        """The body is in: queue it on its lane, or hand the request to uvicorn."""
        try:
            job = self._job(bytes(self.cycle.body))
            if job is None:  # the full way, its body already read
                self.protocol.start_task(self.cycle, self.protocol.app)
                return
            lanes = self.api.state
            (lanes.send_lane if isinstance(job, LaneJob) else lanes.start_lane).submit(job)
        except Exception as error:  # a bug: the app's 500, logged
            self._through_app(None, error)

    def _job(self, body: bytes) -> Job | None:
        """The lane's job for the request; None if its body is not plainly a send or a
        start (the full way's)."""
        scope = self.cycle.scope
        loop = self.protocol.loop
        if self.route is not SEND_ROUTE:
            return start_job(self.secret, self.instance_id, scope, body, loop, self.answered)
        event = event_of(body)
        if event is None:
            return None
        assert self.instance_id is not None
        client = client_key(scope.get("client"))
        return LaneJob(
            self.secret, self.instance_id, event, self.expected, loop, self.answered, client
        )

    def answered(self, job: Job) -> None:
        """The lane's answer (on the event loop): a success written here, anything else by
        the app's handlers."""
        cycle = self.cycle
        response = job.response
        if response is None or cycle.flow.write_paused:
            self._through_app(job, None)
            return
        head = _head(response.status_code, cycle.default_headers)
        if head is None:
            self._through_app(job, None)
            return
        metrics = self.api.state.metrics
        template = self.route.path
        try:
            metrics.time("POST", template, time.perf_counter() - self.started)
            if not cycle.disconnected:
                try:
                    _write(cycle, head, response)
                except Exception as error:  # as uvicorn meets an app's failure mid-response
                    cycle.logger.error("Exception in ASGI application\n", exc_info=error)
                    cycle.transport.close()
        finally:
            metrics.count("POST", template, response.status_code)

    def _through_app(self, job: Job | None, error: BaseException | None) -> None:
        """Answer in an ASGI task of uvicorn's, as `fast_send` answers."""
        api, started, route = self.api, self.started, self.route

        async def answered(scope: Any, receive: Any, send: Any) -> None:
            sending = with_response_headers(send, route_path(scope))  # as `app.py` adds them
            await answer(api, scope, receive, sending, started, job, error, route)

        self.protocol.start_task(self.cycle, answered)


def _write(cycle: Any, head: bytes, response: Sent) -> None:
    """What uvicorn's `RequestResponseCycle.send` does for `response`'s two messages."""
    scope = cycle.scope
    cycle.response_started = True
    cycle.waiting_for_100_continue = False
    if cycle.access_log:
        cycle.access_logger.info(
            ACCESS_MESSAGE,
            get_client_addr(scope),
            scope["method"],
            get_path_with_query_string(scope),
            scope["http_version"],
            response.status_code,
        )
    parts = [head]
    for name, value in response.raw_headers:
        parts += (name, b": ", value, b"\r\n")
    if not cycle.keep_alive:
        parts.append(b"connection: close\r\n")
    parts += (b"\r\n", response.body)
    cycle.transport.write_now(b"".join(parts))
    cycle.response_complete = True
    cycle.message_event.set()
    if not cycle.keep_alive:
        cycle.transport.close()
    cycle.on_response()


_heads: tuple[object, bytes | None] = (None, None)


def _head(status: int, default_headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """The status line of `status` and the server's default headers, as uvicorn writes
    them; None when uvicorn would treat one of them specially or refuse it (the headers made
    once per list: the server replaces it each second, for its `date`)."""
    global _heads
    seen, made = _heads
    if seen is not default_headers:
        parts: list[bytes] = []
        for name, value in default_headers:
            lowered = name.lower()
            if HEADER_RE.search(name) or HEADER_VALUE_RE.search(value) or lowered in _SPECIAL:
                made = None
                break
            parts += (lowered, b": ", value, b"\r\n")
        else:
            made = b"".join(parts)
        _heads = (default_headers, made)
    return None if made is None else STATUS_LINE[status] + made
