"""`send_async`: a send awaited on an event loop, sent in a batch with the others queued.

An application on asyncio (FastAPI, aiohttp, ...) must not block its event loop on the
store. Instead of a pool thread per send (`asyncio.to_thread(engine.send, ...)`: a thread
parked and woken per send), `send_async` queues the send on the engine's lane (`lane.py`):
one thread takes every send queued at once, sends them with `send_many` (decided one by
one, committed in ONE transaction, each request's outcome its own) and wakes each event
loop once for the whole batch. Many tasks sending at once thus share commits and wake-ups;
a lone send costs a hand-over to the lane's thread and back.

The lane's thread starts with the first send and ends after `_IDLE_S` without sends; as
many run as the store commits groups at once (`group_commit_leaders`). `Engine.close`
fails the sends still queued with `StoreError` and waits for the batch being sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping, Sequence

from statewright.engine.batch_sending import BatchSending, SendRequest
from statewright.engine.deciding import DEFAULT_TENANT
from statewright.engine.lane import Lane
from statewright.engine.views import AuditEntry
from statewright.errors import InternalError, StoreError

__all__ = ["AsyncSending"]

#: Seconds the lane's thread waits for sends before it ends (the next send starts it again).
_IDLE_S = 2.0


class _AsyncSend:
    """One send queued by `send_async`, and its outcome once sent."""

    __slots__ = ("future", "key", "loop", "outcome", "request")

    def __init__(self, request: SendRequest, loop: asyncio.AbstractEventLoop) -> None:
        self.request = request
        self.key = (request.tenant, request.instance_id)
        self.loop = loop
        self.future: asyncio.Future[AuditEntry] = loop.create_future()
        self.outcome: AuditEntry | BaseException | None = None

    def fail(self, error: BaseException) -> None:
        if self.outcome is None:
            self.outcome = error

    def answer(self) -> None:
        if self.future.done():  # its task was cancelled: the send stands, unread
            return
        if isinstance(self.outcome, AuditEntry):
            self.future.set_result(self.outcome)
        else:
            self.future.set_exception(self.outcome or _unanswered(self.request))


def _unanswered(request: SendRequest) -> BaseException:
    return InternalError(
        f"the send to {request.instance_id} was left unanswered; please report this bug"
    )


def _closed() -> StoreError:
    return StoreError(
        "the engine is closed: send_async cannot send; open a new engine (Engine.open)"
    )


class AsyncSending(BatchSending):
    """`send_async`, over `send_many`."""

    _async_lane: Lane[_AsyncSend]

    def _open_async_lane(self) -> None:
        """Make the engine's lane (no thread starts before the first send)."""
        leaders = int(getattr(self.store, "group_commit_leaders", 1))
        self._async_lane = Lane(
            self._send_batch, threads=leaders, idle_s=_IDLE_S, name="statewright-async-send"
        )

    def _close_async_lane(self) -> None:
        """Fail the sends still queued, wait for the batch being sent, refuse new sends."""
        self._async_lane.close(_closed)

    async def send_async(
        self,
        instance_id: str,
        event: Mapping[str, object] | str,
        *,
        tenant: str = DEFAULT_TENANT,
        actor: str | None = None,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        roles: Collection[str] | None = None,
    ) -> AuditEntry:
        """`send` for a caller on an event loop: the same arguments, result and errors,
        without blocking the loop. The send is queued on the engine's lane and committed in
        one transaction with the others queued meanwhile (from any task, loop or thread);
        each send's outcome is its own: a refusal or a stale `expected_version` fails only
        that send, an error of the database fails every send of its transaction (none of
        their rows committed).

        The send is handed over when the coroutine starts, and the event is read in the
        lane's thread: leave the event unchanged until the call returns. Cancelling the
        awaiting task then does not withdraw the send (as with `asyncio.shield`): it is
        committed or refused as if awaited, and its outcome is dropped. Sends of one
        instance from one task are sent in the order awaited.

        Raises:
            StoreError: the engine is closed (also for a send queued when it was closed).
            RuntimeError: no event loop is running in this thread.
            NotFound, EventError, PayloadError, PayloadInvalid, EventNotAccepted,
            NotPermitted, TransitionFailed, VersionConflict, IdempotencyConflict: as `send`.
        """
        job = _AsyncSend(
            SendRequest(
                instance_id,
                event,
                tenant=tenant,
                actor=actor,
                idempotency_key=idempotency_key,
                expected_version=expected_version,
                roles=roles,
            ),
            asyncio.get_running_loop(),
        )
        self._async_lane.submit(job)
        return await job.future

    def _send_batch(self, jobs: Sequence[_AsyncSend]) -> None:
        """The lane's work: the batch sent with `send_many`, each job its outcome."""
        outcomes = self.send_many([job.request for job in jobs])
        for job, outcome in zip(jobs, outcomes, strict=True):
            job.outcome = outcome
