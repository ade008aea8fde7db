"""What the routes share: the documented error responses, the engine of the app, and the
`ETag` / `If-Match` of instance versions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Header, Path, Query
from starlette.requests import Request

from statewright.api.auth import Caller, DeferredCaller, caller_with, deferred_caller_with
from statewright.api.idempotency import KEY_HEADER
from statewright.api.problems import PROBLEM_MEDIA_TYPE, Problem, ProblemModel
from statewright.engine import Engine
from statewright.engine.bulk import BulkFilters

__all__ = [
    "answered",
    "Cursor",
    "DeferredOperator",
    "HEADERS",
    "IdempotencyKey",
    "IfMatch",
    "InstanceFilters",
    "InstanceId",
    "Limit",
    "Operator",
    "Viewer",
    "engine_of",
    "errors",
    "etag",
    "expected_version",
    "instance_filters",
    "keyed",
    "location",
]

Viewer = Annotated[Caller, Depends(caller_with("viewer"))]
Operator = Annotated[Caller, Depends(caller_with("operator"))]
#: `Operator` checked by the route itself, first thing (`DeferredCaller`): one hop less.
DeferredOperator = Annotated[DeferredCaller, Depends(deferred_caller_with("operator"))]
InstanceId = Annotated[str, Path(min_length=1, max_length=200, description="The instance id.")]
#: A definition's id in a path, and the version a read may ask for (default: the latest).
DefinitionId = Annotated[str, Path(min_length=1, max_length=200)]
VersionQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Default: the latest.")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=KEY_HEADER,
        description="Send the request again with the same key to get the first response; 1 "
        "to 200 visible ASCII characters (else 422 `invalid-idempotency-key`).",
        # For the document only: the route refuses a malformed key itself, with its own
        # problem (`idempotency.check_key`).
        json_schema_extra={"pattern": "^[\\x21-\\x7e]{1,200}$"},
    ),
]
IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description='The instance version expected, as its ETag: "3".'),
]
Cursor = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=2000,
        description="The `next_cursor` of the previous page, with the same filters.",
    ),
]
Limit = Annotated[int, Query(ge=1, le=1000, description="The page size.")]
_Filter = Query(min_length=1, max_length=200)


@dataclass(frozen=True, slots=True)
class InstanceFilters:
    """The filters of the instance list (and its counts)."""

    definition: str | None = None
    status: str | None = None
    runtime_status: str | None = None
    state: str | None = None
    tag: str | None = None

    def engine(self) -> BulkFilters:
        """As the engine's keyword arguments."""
        return {
            "definition_id": self.definition,
            "status": self.status,
            "runtime_status": self.runtime_status,
            "state": self.state,
            "tag": self.tag,
        }

    def checked(self, engine: Engine) -> BulkFilters:
        """As `engine()`, once a `definition` not stored, or a `state` or `tag` no definition
        has, is refused, as the CLI refuses them: misspelt, they would match nothing and say
        nothing.

        Raises:
            PayloadError: no definition (the one filtered by, when given) has the state in
                its latest version or declares the tag in any version; the message names
                the near miss.
            NotFound: the definition filtered by is not stored.
        """
        if self.state is not None or self.tag is not None:
            engine.check_state_and_tag(
                definition_id=self.definition, state=self.state, tag=self.tag
            )
        elif self.definition is not None:
            engine.definition(self.definition)  # a misspelt one is not found, near miss named
        return self.engine()


def instance_filters(
    definition: Annotated[str | None, _Filter] = None,
    status: Annotated[
        str | None,
        Query(min_length=1, max_length=200, description="active, done, error or stopped."),
    ] = None,
    runtime_status: Annotated[
        str | None,
        Query(min_length=1, max_length=200, description="active, waiting, running, retrying..."),
    ] = None,
    state: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="In this business state (`review`, nested `review.legal`).",
        ),
    ] = None,
    tag: Annotated[
        str | None,
        Query(min_length=1, max_length=200, description="In a state carrying this tag."),
    ] = None,
) -> InstanceFilters:
    """A dependency: the instance filters of the query string."""
    return InstanceFilters(definition, status, runtime_status, state, tag)


#: The response headers the API sets, as OpenAPI header objects (by name).
HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {
        "description": 'The instance\'s version, quoted ("3"): send it back as If-Match.',
        "schema": {"type": "string"},
    },
    "Location": {
        "description": "The path of the instance started.",
        "schema": {"type": "string"},
    },
    "Idempotent-Replayed": {
        "description": '"true" on the kept answer to an earlier request with the same '
        "Idempotency-Key (absent otherwise).",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer"},
    },
    "WWW-Authenticate": {
        "description": 'The scheme to authenticate with: Bearer realm="statewright".',
        "schema": {"type": "string"},
    },
}

#: The response headers of each problem status, by status.
_PROBLEM_HEADERS: dict[int, tuple[str, ...]] = {
    401: ("WWW-Authenticate",),
    409: ("Retry-After",),  # the first request with this Idempotency-Key still runs
    429: ("Retry-After",),
    503: ("Retry-After",),
}


def answered(status: int, *names: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI response `status` of a route, with the headers `names` it sets (merged
    with the route's own description and model of that status)."""
    return {status: {"headers": {name: HEADERS[name] for name in names}}}


def keyed(responses: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """`responses` of a route that takes an Idempotency-Key: every answer it keeps (its
    success and its refusals, 401 and 429 aside: `idempotency.py`) may come back replayed,
    marked `Idempotent-Replayed`; and 409 while the first request with the key still runs."""
    replayed = {"Idempotent-Replayed": HEADERS["Idempotent-Replayed"]}
    responses = {**errors(409), **responses}
    return {
        status: (
            {**response, "headers": {**response.get("headers", {}), **replayed}}
            if int(status) < 500 and int(status) not in (401, 429)
            else response
        )
        for status, response in responses.items()
    }


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses for these problem statuses (401, 422 and 429 always), each with
    the headers it sets."""
    described = {
        401: "No valid API token.",
        403: "The token's role may not do this.",
        404: "No such object in the token's tenant.",
        409: "Refused in the instance's current state, or the request is in progress.",
        412: "If-Match does not name the current version.",
        413: "The request body is too large.",
        422: "Malformed input, fields failing the event's declared schema (`errors`), or an "
        "Idempotency-Key reused for another request.",
        429: "Too many requests from this token, or too many failed authentications from "
        "this client address.",
        503: "The store cannot be reached; try again.",
    }
    return {
        status: {
            "model": ProblemModel,
            "description": described[status],
            "content": {
                PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemModel"}}
            },
            **(
                {"headers": {name: HEADERS[name] for name in _PROBLEM_HEADERS[status]}}
                if status in _PROBLEM_HEADERS
                else {}
            ),
        }
        for status in sorted({401, 422, 429, 503, *statuses})
    }


def engine_of(request: Request) -> Engine:
    """The engine the app runs on."""
    engine: Engine = request.app.state.engine
    return engine


def etag(version: int) -> str:
    """The ETag of an instance version."""
    return f'"{version}"'


def location(instance_id: str, root: str = "") -> str:
    """The path of an instance, under the app's root path `root`."""
    return f"{root}/api/v1/instances/{quote(instance_id, safe='')}"


def expected_version(if_match: str | None) -> int | None:
    """The version an `If-Match` names; None for none or `*`.

    Raises:
        Problem: 412 for a value that names no version (it cannot match).
    """
    if if_match is None or if_match.strip() == "*":
        return None
    tags = [tag.strip() for tag in if_match.split(",")]
    fix = 'send the ETag of the instance as read (If-Match: "3"), or no If-Match'
    if len(tags) > 1:  # a version is one number: at most one tag could match
        raise Problem(
            412,
            "precondition-failed",
            "If-Match names several versions",
            f"If-Match {if_match[:40]!r} names several tags, of which the instance can be at "
            f"one version only; {fix}",
        )
    # A weak tag is taken as its version: a proxy that compresses answers (nginx's gzip)
    # weakens the ETag it passes on, and the client sends back what it got.
    tag = tags[0].removeprefix("W/").strip('"')
    if not tag.isascii() or not tag.isdigit() or len(tag) > 18:
        raise Problem(
            412,
            "precondition-failed",
            "If-Match names no version",
            f"If-Match {if_match[:40]!r} names no instance version; {fix}",
        )
    return int(tag)
