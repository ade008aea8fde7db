"""Who calls: the bearer token of every request, checked against the store each time (a
revocation counts at once), its tenant (every query is scoped to it) and its role.

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

from statewright.api.problems import Problem
from statewright.engine import Engine
from statewright.engine.tokens import ROLES, Token

__all__ = [
    "DEFERRED_STATE",
    "Caller",
    "DeferredCaller",
    "bearer",
    "caller_with",
    "deferred_caller_with",
]

#: The OpenAPI security scheme: `Authorization: Bearer sw_...`.
bearer = HTTPBearer(auto_error=False, description="An API token: statewright tokens create")
_RANK = {role: rank for rank, role in enumerate(ROLES)}


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated caller of one request."""

    token: Token

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


def _secret(credentials: HTTPAuthorizationCredentials | None) -> str:
    """The bearer secret the request carries.

    Raises:
        Problem: 401 when there is none.
    """
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized(
            "send an API token as 'Authorization: Bearer sw_...'; "
            '"statewright tokens create" makes one'
        )
    return credentials.credentials


def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Token:
    """The active token the request carries.

    Raises:
        Problem: 401 for no token, a malformed, unknown, wrong or revoked one (one answer
            for all, so that a caller learns nothing about which).
    """
    return _token(request, _secret(credentials))


def _token(request: Request, secret: str) -> Token:
    engine: Engine = request.app.state.engine
    token = engine.authenticate(secret)
    if token is None:
        raise _unauthorized(
            "the API token is not valid (unknown, mistyped or revoked); "
            '"statewright tokens list" shows the active ones, "tokens create" makes one'
        )
    return token


def _authorize(request: Request, secret: str, role: str) -> Caller:
    """The caller of `secret`, counted against its rate, holding `role` or a higher one.

    Raises:
        Problem: 401 (no valid token), 429 (over its rate), 403 (its role is too low).
    """
    token = _token(request, secret)
    request.app.state.limiter.check(token.prefix)
    if _RANK.get(token.role, -1) < _RANK[role]:
        raise Problem(
            403,
            "role-too-low",
            "The token's role may not do this",
            f"this needs a token with role {role} or higher; token {token.prefix} has "
            f'role {token.role}: "statewright tokens create --role {role}" makes one',
            required_role=role,
        )
    return Caller(token)


def caller_with(role: str) -> Callable[..., Caller]:
    """A dependency: the caller, whose token must hold `role` or a higher one."""
    _check_role(role)

    def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Caller:
        return _authorize(request, _secret(credentials), role)

    return dependency


class DeferredCaller:
    """The caller of a request whose token is checked in the route's own thread.

    A sync dependency runs in the thread pool, a hop that costs about as much CPU as a
    send's own work; the hot routes (a send, a start) take this one instead, and call
    `caller()` before anything else. Until then only the header's presence is checked.
    The 422 of a request failing validation checks the token first (`app.py`), so a
    caller without a valid token still learns nothing but 401, 429 or 403.
    """

    __slots__ = ("_found", "_request", "_role", "_secret")

    def __init__(self, request: Request, secret: str, role: str) -> None:
        self._request = request
        self._secret = secret
        self._role = role
        self._found: Caller | None = None

    def caller(self) -> Caller:
        """The authenticated caller (the store is read once; blocking: call it in a thread).

        Raises:
            Problem: 401, 429 or 403, as `caller_with`'s dependency.
        """
        if self._found is None:
            self._found = _authorize(self._request, self._secret, self._role)
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
        found = DeferredCaller(request, _secret(credentials), role)
        setattr(request.state, DEFERRED_STATE, found)
        return found

    return dependency
