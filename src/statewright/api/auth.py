"""Who calls: the bearer token of every request, checked against the store each time (a
revocation counts at once), its tenant (every query is scoped to it) and its role.

A client address that has sent too many credentials that are not valid (`AuthFailures`,
`serve --auth-failures` a minute) is answered 429 before its next credential is read from
the store, unless that credential authenticated before: guessing costs the store nothing,
and a client behind the same address with a real token keeps working.

A request may instead carry the web console's session cookie (`sw_session`, made by
`POST /api/v1/session`): it acts as the session's token. With the cookie, every request but
GET and HEAD must also send the session's CSRF secret as `X-CSRF-Token`, else 403: a page of
another site cannot read that secret, so it cannot forge a request the cookie would carry. A
request with a bearer token needs no CSRF secret (no browser adds that header by itself).

Roles, each including the one before: `viewer` reads (instances, definitions, history,
metrics, the OpenAPI document); `operator` also starts instances and sends events;
`admin` also sends every event whatever roles its transition names. A transition that
names `"statewright": {"roles": [...]}` admits the tokens whose role or extra event roles
(`tokens create --event-role approver`) are among them; the engine checks that on the
transition the event takes (`engine/permissions.py`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from statewright.api.limits import AuthFailures, RateLimiter, client_key
from statewright.api.problems import Problem
from statewright.api.root_path import root_of
from statewright.engine import Engine
from statewright.engine.sessions import Session
from statewright.engine.tokens import ROLES, Token

__all__ = [
    "CSRF_HEADER",
    "DEFERRED_STATE",
    "SESSION_COOKIE",
    "Caller",
    "Credential",
    "DeferredCaller",
    "admit",
    "authorize",
    "bearer",
    "bearer_refused",
    "caller_with",
    "check_csrf",
    "credential_of",
    "deferred_caller_with",
    "resolve",
]

#: The OpenAPI security scheme: `Authorization: Bearer sw_...`.
bearer = HTTPBearer(auto_error=False, description="An API token: statewright tokens create")
_RANK = {role: rank for rank, role in enumerate(ROLES)}
#: The web console's session cookie, and the header carrying its CSRF secret.
SESSION_COOKIE = "sw_session"
CSRF_HEADER = "X-CSRF-Token"
#: The methods that change nothing, so need no CSRF secret.
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated caller of one request."""

    token: Token
    #: The console session the request came with (None for a bearer token).
    session: Session | None = None

    @property
    def tenant(self) -> str:
        """The tenant every query of this request is scoped to."""
        return self.token.tenant

    @property
    def payloads(self) -> bool:
        """Whether context and event payloads may be shown to it."""
        return self.token.payloads


def _unauthorized(detail: str) -> Problem:
    return Problem(
        401,
        "unauthorized",
        "A valid API token is needed",
        detail,
        headers={"WWW-Authenticate": 'Bearer realm="statewright"'},
    )


def _check_role(role: str) -> None:
    if role not in _RANK:  # fails when the routes are declared
        raise ValueError(f"unknown role {role!r}; the roles are {', '.join(ROLES)}")


@dataclass(frozen=True, slots=True)
class Credential:
    """What a request authenticates with: a bearer secret, else a session cookie."""

    bearer: str | None = None
    session_id: str | None = None


def credential_of(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Credential:
    """The credential the request carries: its bearer token, else its session cookie.

    Raises:
        Problem: 401 when there is neither.
    """
    if credentials is not None and credentials.scheme.lower() == "bearer":
        return Credential(bearer=credentials.credentials)
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        return Credential(session_id=session_id)
    raise _unauthorized(
        "send an API token as 'Authorization: Bearer sw_...'; "
        '"statewright tokens create" makes one (or log in to the console at '
        f"{root_of(request.scope)}/login)"
    )


def resolve(engine: Engine, credential: Credential) -> tuple[Token, Session | None] | None:
    """The active token (and session) a credential stands for; None if it is not valid
    (unknown, wrong, revoked, expired or logged out). Blocking: reads the store."""
    if credential.bearer is not None:
        token = engine.authenticate(credential.bearer)
        return None if token is None else (token, None)
    session = engine.resolve_session(credential.session_id or "")
    return None if session is None else (session.token, session)


def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Token:
    """The active token the request carries.

    Raises:
        Problem: 401 for no token, a malformed, unknown, wrong or revoked one (one answer
            for all, so that a caller learns nothing about which).
    """
    return _token(request, credential_of(request, credentials))[0]


def bearer_refused() -> Problem:
    """The 401 for a bearer token that is not valid (one answer for every reason)."""
    return _unauthorized(
        "the API token is not valid (unknown, mistyped or revoked); "
        '"statewright tokens list" shows the active ones, "tokens create" makes one'
    )


def _token(request: Request, credential: Credential) -> tuple[Token, Session | None]:
    engine: Engine = request.app.state.engine
    failures: AuthFailures = request.app.state.auth_failures
    address = client_key(request.scope.get("client"))
    secret = credential.bearer if credential.bearer is not None else credential.session_id or ""
    failures.check(address, secret)  # 429 before the store is read
    found = resolve(engine, credential)
    if found is None:
        failures.failed(address, secret)
        if credential.bearer is None:
            raise _unauthorized(
                "the console session has ended (logged out, expired, or its token revoked); "
                f"log in again at {root_of(request.scope)}/login"
            )
        raise bearer_refused()
    failures.succeeded(secret)
    token, session = found
    if session is not None:
        check_csrf(request, session)
    return token, session


def check_csrf(request: Request, session: Session) -> None:
    """Refuse a state-changing request made with the session cookie but without the
    session's CSRF secret.

    Raises:
        Problem: 403 naming the header, for a method other than GET or HEAD whose
            `X-CSRF-Token` is missing or wrong.
    """
    if request.method in _SAFE_METHODS or session.csrf_matches(request.headers.get(CSRF_HEADER)):
        return
    raise Problem(
        403,
        "csrf-failed",
        f"The {CSRF_HEADER} header is missing or wrong",
        f"a {request.method} request with the console's session cookie must send the "
        f"session's CSRF secret as the {CSRF_HEADER} header (the `csrf` of "
        "GET /api/v1/session); nothing was done",
        header=CSRF_HEADER,
    )


def authorize(request: Request, credential: Credential, role: str) -> Caller:
    """The caller of `credential`, counted against its rate, holding `role` or a higher one.

    Raises:
        Problem: 429 (too many failed authentications from the client's address), 401 (no
            valid token), 403 (no CSRF secret with a cookie), 429 (over its rate), 403 (its
            role is too low).
    """
    token, session = _token(request, credential)
    return admit(request.app.state.limiter, token, role, session)


def admit(limiter: RateLimiter, token: Token, role: str, session: Session | None = None) -> Caller:
    """The caller of an authenticated `token`, counted against its rate, holding `role` or a
    higher one.

    Raises:
        Problem: 429 (over its rate), 403 (its role is too low).
    """
    limiter.check(token.prefix)
    if _RANK.get(token.role, -1) < _RANK[role]:
        raise Problem(
            403,
            "role-too-low",
            "The token's role may not do this",
            f"this needs a token with role {role} or higher; token {token.prefix} has "
            f'role {token.role}: "statewright tokens create --role {role}" makes one',
            required_role=role,
        )
    return Caller(token, session)


def caller_with(role: str) -> Callable[..., Caller]:
    """A dependency: the caller, whose token must hold `role` or a higher one."""
    _check_role(role)

    def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Caller:
        return authorize(request, credential_of(request, credentials), role)

    return dependency


class DeferredCaller:
    """The caller of a request whose token is checked in the route's own thread.

    A sync dependency runs in the thread pool, a hop that costs about as much CPU as a
    send's own work; the hot routes (a send, a start) take this one instead, and call
    `caller()` before anything else. Until then only the credential's presence is checked.
    The 422 of a request failing validation checks the token first (`app.py`), so a
    caller without a valid token still learns nothing but 401, 429 or 403.
    """

    __slots__ = ("_credential", "_found", "_request", "_role")

    def __init__(self, request: Request, credential: Credential, role: str) -> None:
        self._request = request
        self._credential = credential
        self._role = role
        self._found: Caller | None = None

    def caller(self) -> Caller:
        """The authenticated caller (the store is read once; blocking: call it in a thread).

        Raises:
            Problem: 401, 429 or 403, as `caller_with`'s dependency.
        """
        if self._found is None:
            self._found = authorize(self._request, self._credential, self._role)
        return self._found


#: Where a request's `DeferredCaller` is kept (`request.state`), for the 422 handler.
DEFERRED_STATE = "deferred_caller"


def deferred_caller_with(role: str) -> Callable[..., Awaitable[DeferredCaller]]:
    """A dependency like `caller_with(role)` whose token check the route makes itself."""
    _check_role(role)

    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> DeferredCaller:
        found = DeferredCaller(request, credential_of(request, credentials), role)
        setattr(request.state, DEFERRED_STATE, found)
        return found

    return dependency
