"""`Idempotency-Key` on the POSTs that create or send: the first response to a key is kept
and replayed to the same request sent again (same method, path and body); the same key with
another request is 422; while the first is still being handled, 409.

Kept per tenant for 24 hours (`engine/catalog.py`). The responses kept are the successes and
the refusals (4xx): sent again, the request would be refused again. A server error keeps
nothing, so the request may be retried under the same key; nor do a 429 and a send's 409
`version-conflict` without If-Match (other writers kept committing first), whose problems
say to send the request again. The key also goes to the engine's
own idempotency (`Engine.send(idempotency_key=...)`, in the transition's transaction), so a
transition committed by a request whose response was lost is answered, not made twice.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from statewright.api.auth import Caller
from statewright.api.problems import PROBLEM_MEDIA_TYPE, Problem, instance_of, problem_of
from statewright.api.views import withheld
from statewright.engine import Engine
from statewright.errors import StatewrightError, VersionConflict

__all__ = ["KEY_HEADER", "Reply", "idempotent"]

KEY_HEADER = "Idempotency-Key"
_KEY = re.compile(r"[\x21-\x7e]{1,200}")
#: The response headers kept with a response (the others are the server's to set again).
_KEPT_HEADERS = ("location", "etag")


@dataclass(frozen=True, slots=True)
class Reply:
    """A response to keep: status, JSON body and headers."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    media_type: str = "application/json"

    def response(self) -> JSONResponse:
        """The HTTP response."""
        return JSONResponse(
            self.body, status_code=self.status, headers=self.headers, media_type=self.media_type
        )


def check_key(key: str | None) -> str | None:
    """The key as sent, if well-formed.

    Raises:
        Problem: 422 for a key that is not 1 to 200 visible ASCII characters.
    """
    if key is None or _KEY.fullmatch(key):
        return key
    raise Problem(
        422,
        "invalid-idempotency-key",
        "Invalid Idempotency-Key",
        "an Idempotency-Key is 1 to 200 visible ASCII characters (a UUID is a good one)",
    )


def idempotent(
    request: Request,
    caller: Caller,
    key: str | None,
    body: object,
    handle: Callable[[], Reply],
) -> JSONResponse:
    """Run `handle` once per key: replay its kept response to the same request again."""
    if key is None:
        return handle().response()
    engine: Engine = request.app.state.engine
    text = json.dumps(
        {"method": request.method, "path": request.url.path, "body": body},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    request_hash = hashlib.sha256(text.encode()).hexdigest()
    found = engine.claim_request(caller.tenant, key, request_hash)
    if found is not None:
        if found.request_hash != request_hash:
            raise Problem(
                422,
                "idempotency-key-reused",
                "Idempotency-Key reused for another request",
                f"the Idempotency-Key {key!r} was sent before with another request (method, "
                "path or body); use a new key for a new request",
            )
        if found.response_status is None or found.response is None:
            raise Problem(
                409,
                "request-in-progress",
                "The first request with this key is still running",
                f"the request with Idempotency-Key {key!r} is still being handled; send it "
                "again in a moment to get its response",
                headers={"Retry-After": "1"},
            )
        kept = json.loads(found.response)
        body = kept["body"] if caller.payloads else withheld(kept["body"])
        replay = Reply(found.response_status, body, kept["headers"], kept["media_type"])
        response = replay.response()
        response.headers["Idempotent-Replayed"] = "true"
        return response
    retryable = False  # a refusal that the same request may not meet again
    try:
        try:
            reply = handle()
        except StatewrightError as error:
            if_match = "if-match" in request.headers
            # Without If-Match, other writers committing first is no answer to keep: the
            # problem says to send the request again, which must then run.
            retryable = isinstance(error, VersionConflict) and not if_match
            raise problem_of(error, if_match=if_match) from error
    except Problem as problem:
        if problem.status >= 500 or problem.status == 429 or retryable:
            engine.drop_request(caller.tenant, key)
            raise
        reply = Reply(
            problem.status, problem.body(instance_of(request)), problem.headers, PROBLEM_MEDIA_TYPE
        )
    except BaseException:
        engine.drop_request(caller.tenant, key)
        raise
    kept_headers = {k: v for k, v in reply.headers.items() if k.lower() in _KEPT_HEADERS}
    engine.finish_request(
        caller.tenant,
        key,
        reply.status,
        json.dumps({"body": reply.body, "headers": kept_headers, "media_type": reply.media_type}),
    )
    return reply.response()
