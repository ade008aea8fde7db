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

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from statewright.api.problems import Problem
from statewright.engine import Engine
from statewright.engine.tokens import ROLES, Token

__all__ = ["Caller", "bearer", "caller_with"]

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


def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Token:
    """The active token the request carries.

    Raises:
        Problem: 401 for no token, a malformed, unknown, wrong or revoked one (one answer
            for all, so that a caller learns nothing about which).
    """
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized(
            "send an API token as 'Authorization: Bearer sw_...'; "
            '"statewright tokens create" makes one'
        )
    engine: Engine = request.app.state.engine
    token = engine.authenticate(credentials.credentials)
    if token is None:
        raise _unauthorized(
            "the API token is not valid (unknown, mistyped or revoked); "
            '"statewright tokens list" shows the active ones, "tokens create" makes one'
        )
    return token


def caller_with(role: str) -> Callable[..., Caller]:
    """A dependency: the caller, whose token must hold `role` or a higher one."""
    needed = _RANK[role]

    def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Caller:
        token = authenticate(request, credentials)
        request.app.state.limiter.check(token.prefix)
        if _RANK.get(token.role, -1) < needed:
            raise Problem(
                403,
                "role-too-low",
                "The token's role may not do this",
                f"this needs a token with role {role} or higher; token {token.prefix} has "
                f'role {token.role}: "statewright tokens create --role {role}" makes one',
                required_role=role,
            )
        return Caller(token)

    return dependency
