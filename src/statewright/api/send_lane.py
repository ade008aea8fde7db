"""The send lane: one thread per app that sends the queued sends of the hot route in batches.

A send blocks (the store), so it cannot run on the event loop; handing each one to a thread
of a pool and its result back costs the server about as much CPU as the engine's own send
(a wake-up of a pool thread, the loop's self-pipe, the interpreter passed between up to 40
threads, each then parked in the engine's group commit). The lane does it once per batch
instead: the event loop queues a parsed request (`LaneJob`) and awaits it; the lane's one
thread takes everything queued at once and, for the whole batch,

1. checks each request's token as every route does (`auth.admit`: 401, 429, 403), reading
   each distinct secret once per batch (never across batches: a revocation counts for the
   next batch at once),
2. sends the batch with `Engine.send_many` (decided one by one, committed in one
   transaction; each request's outcome its own),
3. builds each success's response (the route's body and `ETag`), and
4. hands the whole batch back to each event loop with ONE `call_soon_threadsafe`.

The next batch gathers while this one commits: the more senders at once, the larger the
batches, so the database's commit and the hand-offs are shared. Errors go back as they came
(a `Problem`, the engine's error, an unexpected exception), for the app's own handlers to
render on the loop. The thread ends after `idle_s` without work and starts again with the
next send.

The queue, the threads, the batches and the hand-back are the engine's `Lane`
(`engine/lane.py`, under `Engine.send_async` too); what is the API's own is steps 1 and 3,
the job (`LaneJob`: a parsed request, answered by its future or `on_answer`) and `Sent`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from starlette.types import Receive, Scope, Send

from statewright.api.auth import Caller, admit, bearer_refused
from statewright.api.limits import AuthFailures, RateLimiter
from statewright.api.response_headers import API_HEADERS
from statewright.api.views import transition_body
from statewright.engine import Engine
from statewright.engine.batch_sending import SendRequest
from statewright.engine.lane import MAX_BATCH, Lane
from statewright.engine.tokens import Token
from statewright.engine.views import AuditEntry

__all__ = ["MAX_BATCH", "ApiLane", "Job", "LaneJob", "SendLane", "Sent", "admitted", "encoded"]

log = logging.getLogger("statewright.api")

#: The role a send or a start needs.
_ROLE = "operator"
#: JSON as `JSONResponse` renders it (the same settings), with an encoder made once.
_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
_JSON = (b"content-type", b"application/json")


class Sent:
    """A short way's success: the bytes `JSONResponse(body, status_code=status,
    headers={"Location": ..., "ETag": ...})` sends through the app (the same headers in the
    same order; `Location` only when given), made without its layers. A send's is a 200
    with its `ETag`, a start's a 201 with its `Location` too."""

    __slots__ = ("body", "raw_headers", "status_code")

    def __init__(
        self, body: bytes, version: int, *, status: int = 200, location: str | None = None
    ) -> None:
        self.body = body
        self.status_code = status
        self.raw_headers = [
            *(() if location is None else ((b"location", location.encode("latin-1")),)),
            (b"etag", b'"%d"' % version),
            (b"content-length", b"%d" % len(body)),
            _JSON,
            *API_HEADERS,  # as `app.py` adds them to every answer under /api/
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = {"type": "http.response.start", "status": self.status_code}
        await send({**start, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body})


def encoded(body: Any) -> bytes:
    """`body` as `JSONResponse` renders it."""
    return _encode(body).encode()


class Job:
    """A request queued on a lane of the API, and, once answered, its answer: `response`,
    else `error`. Answered means `future` done; for a job made with `on_answer`, that
    function called with the job instead (on `loop`, with no future made)."""

    __slots__ = ("client", "error", "future", "loop", "on_answer", "response", "secret")

    def __init__(
        self,
        secret: str,
        loop: asyncio.AbstractEventLoop,
        on_answer: Callable[[Any], None] | None,
        client: str,
    ) -> None:
        self.secret = secret
        self.client = client  # the client's address (`limits.client_key`)
        self.loop = loop
        self.on_answer = on_answer
        self.future: asyncio.Future[None] | None = None
        if on_answer is None:
            self.future = loop.create_future()
        self.response: Sent | None = None
        self.error: BaseException | None = None

    @property
    def key(self) -> str:
        """Requests of one instance id are never in two batches at once."""
        raise NotImplementedError

    def fail(self, error: BaseException) -> None:
        """Answer with `error`, unless answered already (the lane's thread)."""
        if self.response is None and self.error is None:
            self.error = error

    def answer(self) -> None:
        """Tell the waiting request (on its loop)."""
        if self.on_answer is not None:
            try:
                self.on_answer(self)
            except Exception:  # a bug of that one answer: the others still answered
                log.exception("answering a request for %s failed", self.key)
        elif self.future is not None and not self.future.done():
            self.future.set_result(None)

    async def wait(self) -> None:
        """Until answered (a job made without `on_answer`)."""
        assert self.future is not None
        await self.future


class LaneJob(Job):
    """One send queued on the send lane."""

    __slots__ = ("event", "expected", "instance_id")

    def __init__(
        self,
        secret: str,
        instance_id: str,
        event: dict[str, Any],
        expected: int | None,
        loop: asyncio.AbstractEventLoop,
        on_answer: Callable[[LaneJob], None] | None = None,
        client: str = "unknown",
    ) -> None:
        super().__init__(secret, loop, on_answer, client)
        self.instance_id = instance_id
        self.event = event
        self.expected = expected

    @property
    def key(self) -> str:
        """Sends to one instance id are never in two batches at once."""
        return self.instance_id


J = TypeVar("J", bound=Job)


def admitted(
    engine: Engine, limiter: RateLimiter, failures: AuthFailures, jobs: Sequence[J], role: str
) -> list[tuple[J, Caller]]:
    """The jobs whose token the route would let through, each with its caller; the others
    answered with the route's refusal (401, 429, 403, or the store's error meeting the
    check). Each distinct secret is read from the store once (per batch: never across
    batches, so that a revocation counts for the next batch at once)."""
    found: dict[str, Token | BaseException | None] = {}
    through: list[tuple[J, Caller]] = []
    for job in jobs:
        try:
            if job.secret not in found:
                failures.check(job.client, job.secret)  # 429 before the store is read
                try:
                    found[job.secret] = engine.authenticate(job.secret)
                except Exception as error:  # the store's: as the route's check meets it
                    found[job.secret] = error
                else:
                    if found[job.secret] is not None:
                        failures.succeeded(job.secret)
            token = found[job.secret]
            if token is None:
                failures.failed(job.client, job.secret)
                raise bearer_refused()
            if isinstance(token, BaseException):
                raise token
            through.append((job, admit(limiter, token, role)))
        except Exception as error:
            job.error = error
    return through


class ApiLane(Generic[J]):
    """A lane of one app: its engine, its rate limiter, over the engine's `Lane`
    (`engine/lane.py`: the queue, the threads, the batches, the hand-back to each loop);
    `_handle` answers a batch (in a lane thread), `admitted` checks its tokens.

    As many batches are handled at once as the store commits groups at once
    (`group_commit_leaders`: one on SQLite, which has one writer; two on PostgreSQL, each on
    a connection of its own), each by a thread of its own, and never two batches holding a
    request for the same instance id: the later one waits for the earlier (one write per
    instance at a time, as the engine's group commit does).
    """

    #: The lane threads' name.
    name = "statewright-lane"

    def __init__(
        self,
        engine: Engine,
        limiter: RateLimiter,
        failures: AuthFailures | None = None,
        *,
        idle_s: float = 2.0,
    ) -> None:
        self._engine = engine
        self._limiter = limiter
        self._failures = failures or AuthFailures(0)
        self._lane: Lane[J] = Lane(
            self._handle, threads=engine.concurrent_commits, idle_s=idle_s, name=self.name
        )

    async def run(self, job: J) -> None:
        """Queue `job` and wait for its answer (`job.response` or `job.error`)."""
        self.submit(job)
        await job.wait()

    def submit(self, job: J) -> None:
        """Queue `job`: it is answered on its loop (its future done, or its `on_answer`)."""
        self._lane.submit(job)

    def admitted(self, jobs: Sequence[J]) -> list[tuple[J, Caller]]:
        """The jobs whose token holds the operator role (`admitted`), with their callers."""
        return admitted(self._engine, self._limiter, self._failures, jobs, _ROLE)

    def _handle(self, jobs: Sequence[J]) -> None:
        raise NotImplementedError


class SendLane(ApiLane[LaneJob]):
    """The send lane of one app: batches through `Engine.send_many`."""

    name = "statewright-send-lane"

    def _handle(self, jobs: Sequence[LaneJob]) -> None:
        """Answer every job: its token checked, the batch sent, each response built."""
        admitted_jobs = self.admitted(jobs)
        outcomes = self._engine.send_many(
            [
                SendRequest(
                    job.instance_id,
                    job.event,
                    tenant=caller.tenant,
                    actor=caller.token.actor,
                    expected_version=job.expected,
                    roles=caller.token.roles,
                )
                for job, caller in admitted_jobs
            ]
        )
        for (job, caller), outcome in zip(admitted_jobs, outcomes, strict=True):
            if isinstance(outcome, AuditEntry):
                body = encoded(transition_body(outcome, payloads=caller.payloads))
                job.response = Sent(body, outcome.version)
            else:
                job.error = outcome
