"""The start lane: the plain starts of `POST /api/v1/instances[/{id}]` made in batches.

A start over the full way costs the server about five times a send's CPU: FastAPI's
layers, the route's dependencies and pydantic models, and a pool thread parked in the
engine's group commit per start (benchmarks/README.md, "Starts"). A plain start (a bearer
token, a JSON body that is plainly a `StartIn`, no Idempotency-Key) takes the short way of a
send instead (`fast_send.py`, `protocol_sends.py`): it is queued here as a `StartJob`, and
the lane's thread takes everything queued at once and, for the batch,

1. checks each request's token as the route does (`send_lane.admitted`: 401, 429, 403),
2. starts the batch with `Engine.start_many` (each decided as `start` decides it, all
   committed in one transaction; each request's outcome its own: 404 for an unknown
   definition, 422 for an input its schema refuses, 409 for an id taken),
3. builds each 201 (the route's body, `Location` and `ETag`), and
4. hands the batch back to each event loop at once (the engine's `Lane`).

The queue, the threads and the hand-back are the engine's `Lane`, as under the send lane;
the token checks and the response are the send lane's (`send_lane.py`). Errors go back as
they came, for the app's own handlers to render on the loop.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from statewright.api.models import json_data
from statewright.api.routes.common import location
from statewright.api.send_lane import ApiLane, Job, Sent, encoded
from statewright.api.views import instance_body
from statewright.engine.batch_starting import StartRequest
from statewright.engine.payload import MAX_DEPTH
from statewright.engine.views import Instance

__all__ = ["StartJob", "StartLane", "start_of"]

#: The bounds `StartIn` puts on a definition id and a version (`api/models.py`).
_ID_MAX = 200
_VERSION_MAX = 2**31 - 1
_FIELDS = frozenset(("definition", "input", "version"))


class StartJob(Job):
    """One start queued on the start lane: its instance id (made here when the path names
    none, as the route makes it), the body's fields, and the root path its `Location` is
    under."""

    __slots__ = ("definition", "input", "instance_id", "root", "version")

    def __init__(
        self,
        secret: str,
        instance_id: str | None,
        start: dict[str, Any],
        root: str,
        loop: asyncio.AbstractEventLoop,
        on_answer: Callable[[StartJob], None] | None = None,
        client: str = "unknown",
    ) -> None:
        super().__init__(secret, loop, on_answer, client)
        self.instance_id = instance_id if instance_id is not None else uuid.uuid4().hex
        self.definition: str = start["definition"]
        self.input: Any = start.get("input")
        self.version: int | None = start.get("version")
        self.root = root

    @property
    def key(self) -> str:
        """Starts of one instance id are never in two batches at once."""
        return self.instance_id


class StartLane(ApiLane[StartJob]):
    """The start lane of one app: batches through `Engine.start_many`."""

    name = "statewright-start-lane"

    def _handle(self, jobs: Sequence[StartJob]) -> None:
        """Answer every job: its token checked, the batch started, each response built."""
        through = self.admitted(jobs)
        outcomes = self._engine.start_many(
            [
                StartRequest(
                    job.definition,
                    job.input,
                    job.instance_id,
                    tenant=caller.tenant,
                    actor=caller.token.actor,
                    version=job.version,
                )
                for job, caller in through
            ]
        )
        for (job, caller), outcome in zip(through, outcomes, strict=True):
            if isinstance(outcome, Instance):
                body = encoded(instance_body(outcome, payloads=caller.payloads))
                where = location(outcome.id, job.root)
                job.response = Sent(body, outcome.version, status=201, location=where)
            else:
                job.error = outcome


def start_of(parsed: object, body: bytes) -> dict[str, Any] | None:
    """The start a parsed JSON body asks for, as the route reads it (`StartIn`): an object
    of `definition` (a string of 1 to 200 characters), `input` (any JSON data the engine
    takes) and `version` (an integer from 1 to 2**31 - 1, or null), no other member; None for
    anything else (the route then refuses it or reads it its own way: a version of another
    JSON type, which pydantic may take, nesting deeper than the engine's `MAX_DEPTH`)."""
    if type(parsed) is not dict or not _FIELDS.issuperset(parsed):
        return None
    definition = parsed.get("definition")
    version = parsed.get("version")
    if type(definition) is not str or not 0 < len(definition) <= _ID_MAX:
        return None
    if version is not None and (type(version) is not int or not 0 < version <= _VERSION_MAX):
        return None
    if body.count(b"{") + body.count(b"[") > MAX_DEPTH:  # rare: only then can it be too deep
        try:
            json_data(parsed.get("input"), "the input")
        except ValueError:
            return None
    return parsed
