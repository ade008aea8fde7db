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
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from starlette.types import Receive, Scope, Send

from statewright.api.auth import Caller, admit, bearer_refused
from statewright.api.limits import AuthFailures, RateLimiter
from statewright.api.response_headers import API_HEADERS
from statewright.api.views import transition_body
from statewright.engine import Engine
from statewright.engine.batch_sending import SendRequest
from statewright.engine.tokens import Token
from statewright.engine.views import AuditEntry

__all__ = ["MAX_BATCH", "LaneJob", "SendLane", "Sent"]

log = logging.getLogger("statewright.api")

#: The most sends taken into one batch (the engine's group commit takes as many).
MAX_BATCH = 128
#: The role a send needs.
_ROLE = "operator"
#: JSON as `JSONResponse` renders it (the same settings), with an encoder made once.
_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
_JSON = (b"content-type", b"application/json")


class Sent:
    """A send's 200 response: the bytes `JSONResponse(body, headers={"ETag": ...})` sends
    through the app (the same headers in the same order), made without its layers."""

    __slots__ = ("body", "raw_headers")
    status_code = 200

    def __init__(self, body: bytes, version: int) -> None:
        self.body = body
        self.raw_headers = [
            (b"etag", b'"%d"' % version),
            (b"content-length", b"%d" % len(body)),
            _JSON,
            *API_HEADERS,  # as `app.py` adds them to every answer under /api/
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body})


class LaneJob:
    """One send queued on the lane, and, once answered, its answer: `response`, else
    `error`. Answered means `future` done; for a job made with `on_answer`, that function
    called with the job instead (on `loop`, with no future made)."""

    __slots__ = (
        "client",
        "error",
        "event",
        "expected",
        "future",
        "instance_id",
        "loop",
        "on_answer",
        "response",
        "secret",
    )

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
        self.secret = secret
        self.client = client  # the client's address (`limits.client_key`)
        self.instance_id = instance_id
        self.event = event
        self.expected = expected
        self.loop = loop
        self.on_answer = on_answer
        self.future: asyncio.Future[None] | None = None
        if on_answer is None:
            self.future = loop.create_future()
        self.response: Sent | None = None
        self.error: BaseException | None = None


class SendLane:
    """The lane of one app: its engine, its rate limiter.

    As many batches are sent at once as the store commits groups at once
    (`group_commit_leaders`: one on SQLite, which has one writer; two on PostgreSQL, each on
    a connection of its own), each by a thread of its own, and never two batches holding a
    send to the same instance id: the later one waits for the earlier (one write per
    instance at a time, as the engine's group commit does).
    """

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
        self._idle_s = idle_s
        self._most = engine.concurrent_commits
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._queue: list[LaneJob] = []
        self._sending: set[str] = set()  # the instance ids of the batches being sent
        self._threads = 0  # running
        self._waiting = 0  # of them, waiting for work

    async def send(self, job: LaneJob) -> None:
        """Queue `job` and wait for its answer (`job.response` or `job.error`)."""
        self.submit(job)
        assert job.future is not None
        await job.future

    def submit(self, job: LaneJob) -> None:
        """Queue `job`: it is answered on its loop (its future done, or its `on_answer`)."""
        with self._lock:
            self._queue.append(job)
            if self._waiting:
                self._work.notify()
            elif self._threads < self._most:
                self._threads += 1
                thread = threading.Thread(target=self._run, name="statewright-send-lane")
                thread.daemon = True
                thread.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                jobs = self._take()
                while not jobs:
                    self._waiting += 1
                    woken = self._work.wait(self._idle_s)
                    self._waiting -= 1
                    jobs = self._take()
                    if not jobs and not woken:
                        self._threads -= 1
                        return
            try:
                self._handle(jobs)
            except BaseException as error:  # a bug: the jobs not yet answered fail with it
                for job in jobs:
                    if job.response is None and job.error is None:
                        job.error = error
            finally:
                with self._lock:
                    self._sending.difference_update(job.instance_id for job in jobs)
                    if self._queue and self._waiting:
                        self._work.notify()
                _hand_back(jobs)

    def _take(self) -> list[LaneJob]:
        """The next batch: the queued jobs of instances no other batch is sending, in order,
        at most MAX_BATCH (lock held)."""
        if not self._sending:
            jobs = self._queue[:MAX_BATCH]
            del self._queue[:MAX_BATCH]
        else:
            jobs = []
            left: list[LaneJob] = []
            for job in self._queue:
                taken = len(jobs) < MAX_BATCH and job.instance_id not in self._sending
                (jobs if taken else left).append(job)
            self._queue = left
        self._sending.update(job.instance_id for job in jobs)
        return jobs

    def _handle(self, jobs: Sequence[LaneJob]) -> None:
        """Answer every job: its token checked, the batch sent, each response built."""
        found: dict[str, Token | BaseException | None] = {}
        admitted: list[tuple[LaneJob, Caller]] = []
        failures = self._failures
        for job in jobs:
            try:
                if job.secret not in found:
                    failures.check(job.client, job.secret)  # 429 before the store is read
                    try:
                        found[job.secret] = self._engine.authenticate(job.secret)
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
                admitted.append((job, admit(self._limiter, token, _ROLE)))
            except Exception as error:
                job.error = error
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
                for job, caller in admitted
            ]
        )
        for (job, caller), outcome in zip(admitted, outcomes, strict=True):
            if isinstance(outcome, AuditEntry):
                body = _encode(transition_body(outcome, payloads=caller.payloads)).encode()
                job.response = Sent(body, outcome.version)
            else:
                job.error = outcome


def _hand_back(jobs: Sequence[LaneJob]) -> None:
    """Wake each event loop once for all its jobs."""
    by_loop: dict[asyncio.AbstractEventLoop, list[LaneJob]] = {}
    for job in jobs:
        by_loop.setdefault(job.loop, []).append(job)
    for loop, answered in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits for these
            loop.call_soon_threadsafe(_answered, answered)


def _answered(jobs: list[LaneJob]) -> None:
    for job in jobs:
        if job.on_answer is not None:
            try:
                job.on_answer(job)
            except Exception:  # a bug of that one answer: the others still answered
                log.exception("answering a send to %s failed", job.instance_id)
        elif job.future is not None and not job.future.done():
            job.future.set_result(None)
