"""Errors as RFC 9457 `application/problem+json`: `type`, `title`, `status`, `detail` (which
names the fix) and `instance` (the request path), plus extension members that carry data
(`accepted_events`, `current_version`, `required_roles`, `errors` naming each field that
fails an event's schema, ...).

`Problem` is raised by the API's own checks; `problem_of` maps an engine error to one.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import JSONResponse

from statewright.errors import (
    DefinitionError,
    DefinitionMoved,
    EventError,
    EventNotAccepted,
    IdempotencyConflict,
    InstanceExists,
    InstanceNotActive,
    NotFound,
    NotPermitted,
    PayloadError,
    PayloadInvalid,
    SchemaOutOfDate,
    StatewrightError,
    StepNotRetryable,
    StoreError,
    StoreUnavailable,
    TransitionFailed,
    VersionConflict,
)

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "Problem",
    "ProblemModel",
    "instance_of",
    "problem_of",
    "problem_response",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"
_TYPE_PREFIX = "urn:statewright:problem:"


class ProblemModel(BaseModel):
    """An RFC 9457 problem; extension members may follow."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str


class Problem(Exception):
    """An error response: its status, a short title, a detail that names the fix."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.extensions = extensions

    @property
    def type(self) -> str:
        """The problem type URI: `urn:statewright:problem:<slug>`."""
        return _TYPE_PREFIX + self.slug

    def body(self, instance: str) -> dict[str, Any]:
        """The problem document for the request at path `instance`."""
        return {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
            **self.extensions,
        }


def instance_of(request: Request) -> str:
    """A problem's `instance`: the request's path as a URI reference (RFC 9457), escaped
    as in a URL (`/api/v1/instances/order%2042`), not as decoded."""
    raw = request.scope.get("raw_path")
    if isinstance(raw, bytes):  # the path as sent (the server's, without the query)
        return quote(raw.decode("latin-1").split("?", 1)[0], safe="/:@!$&'()*+,;=-._~%")
    return quote(request.url.path, safe="/:@!$&'()*+,;=-._~")


def problem_response(request: Request, problem: Problem) -> JSONResponse:
    """The response that carries `problem`."""
    return JSONResponse(
        problem.body(instance_of(request)),
        status_code=problem.status,
        headers=problem.headers,
        media_type=PROBLEM_MEDIA_TYPE,
    )


def problem_of(error: StatewrightError, *, if_match: bool = False) -> Problem:
    """The problem an engine error is to the caller (`if_match`: the request carried an
    `If-Match`, so a stale version is its precondition failing, 412)."""
    detail = str(error)
    if isinstance(error, NotFound):
        return Problem(404, "not-found", "Not found", detail)
    if isinstance(error, EventNotAccepted):
        return Problem(
            409,
            "event-not-accepted",
            "Event not accepted in this state",
            detail,
            state=error.state,
            event=error.event,
            accepted_events=list(error.accepted),
        )
    if isinstance(error, NotPermitted):
        return Problem(
            403,
            "not-permitted",
            "Not permitted for this event",
            detail,
            event=error.event,
            required_roles=list(error.required),
        )
    if isinstance(error, VersionConflict):
        return Problem(
            412 if if_match else 409,
            "version-conflict",
            "The instance changed",
            detail,
            current_version=error.found,
        )
    if isinstance(error, InstanceExists):
        return Problem(409, "instance-exists", "Instance exists", detail)
    if isinstance(error, InstanceNotActive):
        return Problem(
            409,
            "instance-not-active",
            "The instance has finished",
            detail,
            instance_status=error.status,
            current_version=error.version,
        )
    if isinstance(error, StepNotRetryable):
        return Problem(
            409,
            "step-not-retryable",
            "The step cannot be retried now",
            detail,
            reason=error.reason,
            invoke_id=error.invoke_id,
            step_status=error.status,
        )
    if isinstance(error, TransitionFailed):
        return Problem(409, "transition-failed", "The transition failed", detail, state=error.state)
    if isinstance(error, IdempotencyConflict):
        return Problem(422, "idempotency-key-reused", "Idempotency key reused", detail)
    if isinstance(error, PayloadInvalid):
        return Problem(
            422,
            "payload-invalid",
            "The event's fields do not fit its schema",
            detail,
            event_type=error.event_type,
            errors=list(error.errors),
        )
    if isinstance(error, PayloadError | EventError):
        return Problem(422, "invalid-input", "Invalid input", detail)
    # A store's fault is told to the server's log (the app's handler logs it), not to the
    # caller, who may have no valid token yet: its text names the store (the URL without its
    # password: host, user, database, or a file's path) and the database's own message.
    if isinstance(error, StoreUnavailable):
        return Problem(
            503,
            "unavailable",
            "Try again shortly",
            error.public
            or "the store cannot be reached now; try again shortly (the server's log names the "
            "cause)",
            headers={"Retry-After": "1"},
        )
    if isinstance(error, DefinitionMoved):
        return Problem(
            503, "unavailable", "Try again shortly", detail, headers={"Retry-After": "1"}
        )
    if isinstance(error, SchemaOutOfDate):
        fix = (
            "its operator restarts this server with the upgraded statewright"
            if error.found is not None and error.needed is not None and error.found > error.needed
            else 'its operator runs "statewright db migrate"'
        )
        return Problem(
            503,
            "store-error",
            "The store is not usable",
            f"the store's schema is not the one this server's version needs; {fix} (the "
            "server's log names the store and both versions)",
        )
    if isinstance(error, StoreError):
        return Problem(
            503,
            "store-error",
            "The store is not usable",
            error.public
            or "the store failed on this request (the server's log names the cause); tell the "
            "server's operator",
        )
    if isinstance(error, DefinitionError):
        return Problem(
            500,
            "server-setup",
            "The server cannot run this definition",
            f"{' '.join(detail.split())}; this server lacks the definition's Python "
            'implementations: its operator starts it with "statewright serve --machines FILE" '
            "whose MACHINES provide them",
        )
    return Problem(
        500,
        "server-setup",
        "The server cannot run this",
        f"{detail} (a fault of the server's setup: tell its operator)",
    )
