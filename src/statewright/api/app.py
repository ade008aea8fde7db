"""`create_app(engine)`: the HTTP API over one engine, as a FastAPI application.

    engine = Engine.open("sqlite:///app.db")
    app = create_app(engine)            # serve it with uvicorn: `statewright serve`

Every route but liveness and readiness needs an API token (`auth.py`) and sees only its
tenant. Errors are `application/problem+json` (`problems.py`); bodies over `max_body_bytes`
are refused with 413, malformed ones with 422; each token may send `rate` requests a second
(bursts of `burst`), then 429; each client address may send `auth_failures` credentials that
are not valid a minute, then 429 before the store is read.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Match, Mount
from starlette.types import Receive, Scope, Send

from statewright.api.auth import DEFERRED_STATE, DeferredCaller
from statewright.api.fast_send import FastSend
from statewright.api.head import HeadAsGet
from statewright.api.invalid_requests import invalid_request
from statewright.api.limits import AuthFailures, BodyLimit, RateLimiter
from statewright.api.metrics import Metrics, MetricsMiddleware
from statewright.api.problems import Problem, problem_of, problem_response
from statewright.api.response_headers import with_response_headers
from statewright.api.root_path import root_of, route_path
from statewright.api.routes import (
    bulk,
    definitions,
    diagrams,
    instances,
    operations,
    outbox,
    schedules,
    service,
    session,
    stream,
    work,
    workers,
)
from statewright.api.send_lane import SendLane
from statewright.api.start_lane import StartLane
from statewright.api.stream_hub import StreamHub, StreamSettings
from statewright.engine import Engine
from statewright.engine.sessions import DEFAULT_SESSION_MS
from statewright.errors import StatewrightError

__all__ = ["ApiSettings", "create_app"]

log = logging.getLogger("statewright.api")


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiSettings:
    """The API's limits."""

    #: Largest request body accepted (bytes); larger ones get 413.
    max_body_bytes: int = 1024 * 1024
    #: Requests a second each token may send (0: no limit), and the burst it may save up.
    rate: float = 50.0
    burst: int = 100
    #: Failed authentications each client address may make a minute (0: no limit).
    auth_failures: int = 20
    #: The live stream's heartbeat, poll interval, replay and queue bounds.
    stream: StreamSettings = field(default_factory=StreamSettings)
    #: How long a console session lasts after login (ms), and whether to serve the console.
    session_ms: int = DEFAULT_SESSION_MS
    console: bool = True


def create_app(engine: Engine, settings: ApiSettings | None = None) -> FastAPI:
    """The API over `engine` (which the caller opens and closes)."""
    settings = settings or ApiSettings()
    app = _Api(
        title="statewright",
        summary="Durable statecharts: start instances, send them events, read their history.",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served by routes/service.py, behind a token
        # A trailing "/" is a 404 naming the path without it, not a redirect to an absolute
        # URL built from what this process sees (http:// behind a TLS proxy).
        redirect_slashes=False,
    )
    app.state.engine = engine
    app.state.limiter = RateLimiter(settings.rate, settings.burst)
    app.state.max_body_bytes = settings.max_body_bytes
    app.state.auth_failures = AuthFailures(settings.auth_failures)
    app.state.send_lane = SendLane(engine, app.state.limiter, app.state.auth_failures)
    app.state.start_lane = StartLane(engine, app.state.limiter, app.state.auth_failures)
    app.state.metrics = Metrics(engine.work_summary)
    app.state.stream_hub = StreamHub(engine, settings.stream)
    app.state.session_ms = settings.session_ms
    routers = (
        service.router,
        session.router,
        definitions.router,
        diagrams.router,
        instances.router,
        operations.router,
        work.router,
        outbox.router,
        bulk.router,
        stream.router,
        workers.router,
        schedules.router,
    )
    for router in routers:
        app.include_router(router)
    if settings.console:
        from statewright.console import mount_console

        mount_console(app)  # its /static/ holds /static/vendor/, for the docs page too
    else:
        from statewright.console import mount_vendor

        mount_vendor(app)  # only Swagger UI's files (and elkjs), for the docs page
    _handle_errors(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(HeadAsGet)  # inside the metrics, which count a HEAD as HEAD
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    return app


class _Api(FastAPI):
    """FastAPI with the hot route, a well-formed send, answered before its outer layers
    (`fast_send.py`), unless FastAPI's own telemetry is on (it wraps every request then)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._fast_send = FastSend(super().__call__, self)
        self._telemetry_on = False
        self._telemetry_seen = -1.0  # when `_telemetry_on` was last looked up

    @property
    def fast_send(self) -> FastSend:
        """The short way of the hot route (the protocol's own short way answers with it)."""
        return self._fast_send

    def short_way_on(self) -> bool:
        """Whether sends may be answered before FastAPI's layers: not while FastAPI's own
        telemetry is on (looked up at most once a second). A root path (the server's, as
        `serve --root-path` sets it) is no reason: the short ways match the path as the
        router does."""
        now = time.monotonic()
        if now - self._telemetry_seen >= 1.0:  # a lookup costs more than the rest: once a second
            self._telemetry_seen = now
            # FastAPI's own OpenTelemetry, in the versions that have it.
            native = getattr(self, "_native_telemetry", None)
            self._telemetry_on = native is not None and bool(native.enabled())
        return not self._telemetry_on

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.root_path:  # FastAPI's own (deprecated) setting, as its `__call__` applies it
            scope["root_path"] = self.root_path
        if scope["type"] == "http":
            send = with_response_headers(send, route_path(scope))
        if self.short_way_on():
            await self._fast_send(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def _handle_errors(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def problem(request: Request, error: Problem) -> JSONResponse:
        return problem_response(request, error)

    @app.exception_handler(StatewrightError)
    async def engine_error(request: Request, error: StatewrightError) -> JSONResponse:
        found = problem_of(error, if_match="if-match" in request.headers)
        if found.status >= 500:
            log.error("%s %s: %s", request.method, request.url.path, error)
        return problem_response(request, found)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        deferred: DeferredCaller | None = getattr(request.state, DEFERRED_STATE, None)
        if deferred is not None:
            # The token first, as on every other route: without a valid one, 401.
            try:
                await run_in_threadpool(deferred.caller)
            except Problem as refused:
                return problem_response(request, refused)
            except StatewrightError as failed:
                return await engine_error(request, failed)
        return problem_response(
            request, invalid_request(error, request.headers.get("content-type"))
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        return problem_response(request, _http_problem(request, error))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return problem_response(
            request,
            Problem(
                500,
                "internal-error",
                "Internal server error",
                "the server failed on this request; the server log names the cause: please "
                "report it",
            ),
        )


def _http_problem(request: Request, error: HTTPException) -> Problem:
    """The problem of an error raised by the HTTP layers themselves (routing, reading the
    body), in the API's own terms."""
    status, headers = error.status_code, dict(error.headers or {})
    path, root = request.url.path, root_of(request.scope)
    if status == 404:
        hint = f"the OpenAPI document at {root}/api/openapi.json lists them"
        if len(path) > 1 and path.endswith("/"):
            hint = f"drop the trailing slash ({path.rstrip('/') or '/'}); {hint}"
        if root and path.startswith(f"{root}{root}/"):
            hint = (
                f"the path starts with the root path {root} twice: have the proxy strip "
                f"{root} before passing the request on (nginx: a '/' after the address in "
                f"proxy_pass, as in 'proxy_pass http://127.0.0.1:8000/;'); {hint}"
            )
        return Problem(404, "not-found", "Not found", f"no route {path}; {hint}")
    if status == 405:
        named = headers.pop("Allow", "") or headers.pop("allow", "")
        allowed = _with_head(", ".join(_path_methods(request)) or named)
        if allowed:
            headers["Allow"] = allowed
        return Problem(
            405,
            "method-not-allowed",
            "Method not allowed",
            f"{request.method} is not allowed on {path}; it takes {allowed or 'other methods'}",
            headers=headers,
        )
    if status == 400 and error.detail == _UNREADABLE_BODY:
        # FastAPI's own answer to a body `json.loads` cannot read (bytes that are not UTF-8,
        # JSON nested past Python's recursion limit): the API's "not JSON", as documented.
        return Problem(
            422,
            "invalid-request",
            "Invalid request",
            "the body could not be read as JSON; send UTF-8 JSON of the documented shape, "
            "nested at most 64 levels deep",
            errors=[{"field": "body", "message": "not readable as JSON"}],
        )
    return Problem(
        status,
        "body-too-large" if status == 413 else "http-error",
        "Request body too large" if status == 413 else "HTTP error",
        str(error.detail),
        headers=headers,
    )


#: The order methods are named in an `Allow` list.
_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _path_methods(request: Request) -> list[str]:
    """The methods the routes on the request's path take, in `_METHOD_ORDER`. The router's
    405 names those of the first route it matched only, where a path has several (`GET` and
    `POST` on /api/v1/instances are two routes). Each method is tried on the routes as
    routing tries it (`BaseRoute.matches`); mounts (static files) take any method there and
    answer for themselves, so they are left to their own `Allow`."""
    routes = [route for route in request.app.router.routes if not isinstance(route, Mount)]
    return [
        method
        for method in _METHOD_ORDER
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    ]


def _with_head(allowed: str) -> str:
    """An `Allow` list with HEAD after GET (the routes name GET; `head.HeadAsGet` answers
    HEAD wherever they take it)."""
    methods = [method.strip() for method in allowed.split(",") if method.strip()]
    if "GET" in methods and "HEAD" not in methods:
        methods.insert(methods.index("GET") + 1, "HEAD")
    return ", ".join(methods)


#: FastAPI's detail for a body it could not parse (`fastapi.routing`).
_UNREADABLE_BODY = "There was an error parsing the body"
