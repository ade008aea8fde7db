"""`send_async` and `start_async`: a send or start awaited on an event loop, made in a batch
with the others queued.

An application on asyncio (FastAPI, aiohttp, ...) must not block its event loop on the
store. Instead of a pool thread per send (`asyncio.to_thread(engine.send, ...)`: a thread
parked and woken per send), `send_async` queues the send on the engine's lane (`lane.py`):
one thread takes every send queued at once, sends them with `send_many` (decided one by
one, committed in ONE transaction, each request's outcome its own) and wakes each event
loop once for the whole batch. Many tasks sending at once thus share commits and wake-ups;
a lone send costs a hand-over to the lane's thread and back.

`start_async` does the same for starts, on a lane of its own over `start_many` (one
transaction for the starts queued at once, each start's outcome its own).

A lane's thread starts with the first call and ends after `_IDLE_S` without calls; as
many run as the store commits groups at once (`group_commit_leaders`). `Engine.close`
fails the sends and starts still queued with `StoreError` and waits for the batches being
made.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from typing import Generic, TypeVar

from statewright.engine.batch_sending import BatchSending, SendRequest
from statewright.engine.batch_starting import BatchStarting, StartRequest
from statewright.engine.deciding import DEFAULT_TENANT
from statewright.engine.lane import Lane
from statewright.engine.views import AuditEntry, Instance
from statewright.errors import InternalError, StoreError

__all__ = ["AsyncSending"]

#: Seconds the lane's thread waits for sends before it ends (the next send starts it again).
_IDLE_S = 2.0


R = TypeVar("R", SendRequest, StartRequest)
T = TypeVar("T", AuditEntry, Instance)


class _AsyncCall(Generic[R, T]):
    """One send or start queued on a lane, and its outcome once made."""

    __slots__ = ("future", "key", "loop", "outcome", "request", "what")

    def __init__(
        self, request: R, key: Hashable, what: str, loop: asyncio.AbstractEventLoop
    ) -> None:
        self.request: R = request
        self.key = key  # (tenant, instance id)
        self.what = what  # "the send to <id>", for a bug's message
        self.loop = loop
        self.future: asyncio.Future[T] = loop.create_future()
        self.outcome: T | BaseException | None = None

    def fail(self, error: BaseException) -> None:
        if self.outcome is None:
            self.outcome = error

    def answer(self) -> None:
        if self.future.done():  # its task was cancelled: the call stands, unread
            return
        if self.outcome is None:
            self.future.set_exception(
                InternalError(f"{self.what} was left unanswered; please report this bug")
            )
        elif isinstance(self.outcome, BaseException):
            self.future.set_exception(self.outcome)
        else:
            self.future.set_result(self.outcome)


def _key_of(tenant: object, instance_id: object) -> Hashable:
    """A call's key on its lane: its instance; for ids that are no strings and cannot be
    hashed (refused in the lane's thread, as `send` and `start` refuse them), a key of its
    own, so that the lane can take the call."""
    key = (tenant, instance_id)
    try:
        hash(key)
    except TypeError:
        return object()
    return key


_AsyncSend = _AsyncCall[SendRequest, AuditEntry]
_AsyncStart = _AsyncCall[StartRequest, Instance]


def _closed(call: str) -> Callable[[], StoreError]:
    def closed() -> StoreError:
        return StoreError(
            f"the engine is closed: {call} cannot {call.split('_')[0]}; "
            "open a new engine (Engine.open)"
        )

    return closed


class AsyncSending(BatchSending, BatchStarting):
    """`send_async` over `send_many`, `start_async` over `start_many`."""

    _async_lane: Lane[_AsyncSend]
    _start_lane: Lane[_AsyncStart]

    def _open_async_lane(self) -> None:
        """Make the engine's lanes (no thread starts before the first call)."""
        leaders = int(getattr(self.store, "group_commit_leaders", 1))
        self._async_lane = Lane(
            self._send_batch, threads=leaders, idle_s=_IDLE_S, name="statewright-async-send"
        )
        self._start_lane = Lane(
            self._start_batch, threads=leaders, idle_s=_IDLE_S, name="statewright-async-start"
        )

    def _close_async_lane(self) -> None:
        """Fail the calls still queued, wait for the batches being made, refuse new calls."""
        self._async_lane.close(_closed("send_async"))
        self._start_lane.close(_closed("start_async"))

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
        job: _AsyncSend = _AsyncCall(
            SendRequest(
                instance_id,
                event,
                tenant=tenant,
                actor=actor,
                idempotency_key=idempotency_key,
                expected_version=expected_version,
                roles=roles,
            ),
            _key_of(tenant, instance_id),
            f"the send to {instance_id}",
            asyncio.get_running_loop(),
        )
        self._async_lane.submit(job)
        return await job.future

    async def start_async(
        self,
        definition_id: str,
        *,
        input: object = None,
        instance_id: str | None = None,
        tenant: str = DEFAULT_TENANT,
        actor: str | None = None,
        version: int | None = None,
    ) -> Instance:
        """`start` for a caller on an event loop: the same arguments, result and errors,
        without blocking the loop. The start is queued on the engine's start lane and
        committed in one transaction with the others queued meanwhile (from any task, loop
        or thread); each start's outcome is its own: a taken id, a bad input or a refusal
        of the initial transition fails only that start, an error of the database fails
        every start of its transaction (none of their rows committed).

        The start is handed over when the coroutine starts, and the input is read in the
        lane's thread: leave the input unchanged until the call returns. Cancelling the
        awaiting task then does not withdraw the start (as with `asyncio.shield`): it is
        committed or refused as if awaited, and its outcome is dropped. Starts of one
        instance id are made in the order queued (the second gets `InstanceExists`).

        Raises:
            StoreError: the engine is closed (also for a start queued when it was closed).
            RuntimeError: no event loop is running in this thread.
            NotFound, InstanceExists, PayloadError, PayloadInvalid, TransitionFailed,
            DefinitionMoved: as `start`.
        """
        loop = asyncio.get_running_loop()
        if instance_id is None:  # made here, so that the lane knows the start's instance
            instance_id = uuid.uuid4().hex
        job: _AsyncStart = _AsyncCall(
            StartRequest(
                definition_id,
                input=input,
                instance_id=instance_id,
                tenant=tenant,
                actor=actor,
                version=version,
            ),
            _key_of(tenant, instance_id),
            f"the start of {instance_id}",
            loop,
        )
        self._start_lane.submit(job)
        return await job.future

    def _send_batch(self, jobs: Sequence[_AsyncSend]) -> None:
        """The lane's work: the batch sent with `send_many`, each job its outcome."""
        outcomes = self.send_many([job.request for job in jobs])
        for job, outcome in zip(jobs, outcomes, strict=True):
            job.outcome = outcome

    def _start_batch(self, jobs: Sequence[_AsyncStart]) -> None:
        """The start lane's work: the batch started with `start_many`, each job its
        outcome."""
        outcomes = self.start_many([job.request for job in jobs])
        for job, outcome in zip(jobs, outcomes, strict=True):
            job.outcome = outcome
