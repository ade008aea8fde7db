"""The web console's login: an API token exchanged for a session cookie, read, and ended.

`POST /api/v1/session` with `{"token": "sw_..."}` answers 201 with the session's info
(including its CSRF secret) and sets the `sw_session` cookie (HttpOnly, SameSite=Strict,
Path=/ (the root path under `serve --root-path`), and Secure when the request came over
https). `GET` reads the info of the caller (a bearer token's has no `csrf`); `DELETE` ends
the session and clears the cookie.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from statewright.api.auth import SESSION_COOKIE, check_csrf
from statewright.api.limits import AuthFailures, client_key
from statewright.api.problems import Problem
from statewright.api.root_path import root_of
from statewright.api.routes.common import Viewer, engine_of, errors
from statewright.engine.sessions import DEFAULT_SESSION_MS, Session
from statewright.engine.tokens import Token

__all__ = ["SessionIn", "SessionOut", "cookie_path", "router"]

router = APIRouter(prefix="/api/v1", tags=["session"])


class SessionIn(BaseModel):
    """Log in with an API token."""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=200, description="An API token: sw_...")


class SessionOut(BaseModel):
    """Who the caller is: the token's tenant, role and name, and the session's CSRF secret."""

    tenant: str
    role: str
    roles: list[str] = Field(description="The role and the token's extra event roles.")
    name: str
    token: str = Field(description="The token's prefix (as `statewright tokens list` shows).")
    payloads: bool = Field(description="Whether context and event payloads are shown to it.")
    csrf: str | None = Field(
        description="Send it as X-CSRF-Token with every request but GET made with the "
        "session cookie; null for a bearer token."
    )
    expires_at: int | None = Field(description="When the session ends (Unix ms); null: never.")


def cookie_path(request: Request) -> str:
    """The session cookie's `Path`: the app's root path (`/` at the root of a host name),
    so that the browser sends it to this app's pages and API only."""
    return root_of(request.scope) or "/"


def _info(token: Token, session: Session | None) -> SessionOut:
    return SessionOut(
        tenant=token.tenant,
        role=token.role,
        roles=sorted(token.roles),
        name=token.name,
        token=token.prefix,
        payloads=token.payloads,
        csrf=None if session is None else session.csrf,
        expires_at=None if session is None else session.expires_at,
    )


@router.post(
    "/session",
    status_code=201,
    response_model=SessionOut,
    responses=errors(413),
    summary="Log in: a session cookie for an API token",
)
def login(request: Request, body: SessionIn) -> JSONResponse:
    """Exchange an API token for a session cookie acting as it (401 for a token that is
    not valid, 429 when the token is over its rate or the client's address has sent too
    many tokens that are not valid). The token's secret is not kept: the
    session refers to the token's row."""
    lifetime_ms: int = getattr(request.app.state, "session_ms", DEFAULT_SESSION_MS)
    engine, secret = engine_of(request), body.token.strip()
    failures: AuthFailures = request.app.state.auth_failures
    address = client_key(request.scope.get("client"))
    failures.check(address, secret)  # 429 before the store is read
    token = engine.authenticate(secret)
    if token is None:
        failures.failed(address, secret)
    else:
        failures.succeeded(secret)
    # A login counts against its token's rate, as every request of the session will: no
    # one holding a token makes sessions (rows in the store) faster than it may call.
    made = None
    if token is not None:
        request.app.state.limiter.check(token.prefix)
        made = engine.create_session(secret, lifetime_ms=lifetime_ms)
    if made is None:
        raise Problem(
            401,
            "unauthorized",
            "A valid API token is needed",
            "the API token is not valid (unknown, mistyped or revoked); "
            '"statewright tokens list" shows the active ones, "tokens create" makes one',
        )
    session, session_id = made
    response = JSONResponse(_info(session.token, session).model_dump(), status_code=201)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=lifetime_ms // 1000,
        path=cookie_path(request),
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/session", response_model=SessionOut, responses=errors(), summary="Who is logged in")
def current(caller: Viewer) -> SessionOut:
    """The caller's tenant, role and name, and (with the session cookie) its CSRF secret."""
    return _info(caller.token, caller.session)


@router.delete(
    "/session",
    status_code=204,
    responses=errors(403),
    summary="Log out: end the session, clear the cookie",
)
def logout(request: Request) -> Response:
    """End the session of the cookie (which needs X-CSRF-Token, as every non-GET request
    with it) and clear the cookie. A request without a live session just clears it."""
    engine = engine_of(request)
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        session = engine.resolve_session(session_id)
        if session is not None:
            check_csrf(request, session)
            engine.delete_session(session_id)
    response = Response(status_code=204)
    response.delete_cookie(
        SESSION_COOKIE,
        path=cookie_path(request),
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response
