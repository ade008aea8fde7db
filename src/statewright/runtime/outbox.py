"""Outbox delivery: messages recorded by `emit` in a transition's transaction, delivered after
commit to registered listeners, at least once, with a stable message id.

A listener is `fn(message: OutboxMessage)`, registered for an event type, a prefix
(`"order.*"`) or everything (`"*"`). The message carries the worker's `engine`, so that a
listener can react (send an event, start an instance) without a connection of its own. A
worker claims only the messages its listeners match (the claim filters on the event type), so
a message no running worker listens for stays pending, uncharged, until a worker with that
listener starts. A message is delivered when every matching listener returned; if one raises,
the whole message is tried again later with backoff (`retry.OUTBOX_DEFAULT`: 10 attempts,
doubling from 10 s up to 1 h) and, when the attempts are exhausted, dead-lettered (`redrive`
puts it back). Listeners must be idempotent on `message.id`, since a crash between a delivery
and its bookkeeping repeats it.

A worker claims a batch of messages for a lease (`OUTBOX_LEASE_MS` by default) and delivers
them one after the other. Starting a delivery charges its attempt, as a step's claim does: a
delivery lost with its worker (killed, or cut off from the store for a whole lease) has spent
one. The claim starts only the first message; each outcome is written together with the start
of the next (one write per message), so that only the message then in hand has been charged. A
start that finds the attempts used up that way dead-letters the message at once
(`WORKER_LOST`), so that a message whose listener kills its worker every time ends in the dead
letters, not claimed again for ever. A round tries each message once. While a message's
listeners run, a thread renews its claim every third of the lease (as the step runner renews
running steps; one thread for the worker's messages, `_ClaimKeeper`, which ends once none has
been held for a while, or at once when the worker closes: a thread started per message cost
about 130 µs of each delivery), so a
listener that runs longer than the lease keeps its message: another worker takes it over only
when this one died or could not reach the store for a whole lease. A listener may declare how
long one call can take at most, as `deadline_s` (a `Webhook` does, and enforces it; or given to
`listen`): `listen` refuses one whose deadline is not shorter than the lease, so that a
message, started with a whole lease, has its listeners' deadline left; a message whose
listeners all declare one, and whose claim outlasts their deadlines added up (they run one
after the other), needs no renewal.

Every call has a deadline: the declared one, else the retry policy's `timeout`
(`OUTBOX_DEFAULT`: 30 s), as a step's attempt has its policy's `timeout`, enforced the same
way. A listener runs on a daemon thread of the delivery's (`_ListenerThread`, one reused for
every call), and the delivery waits for it until its deadline; past it the delivery fails
with `ListenerTimeout` (retried with backoff, then dead-lettered, as any failure), and the
claim is no longer renewed. Python cannot interrupt a call running in a thread: it goes on,
abandoned with its thread (a daemon, so it never holds the worker's exit up), and what it
does later is not waited for; the next call gets a new thread. A `Webhook` enforces its own
deadline (it cuts its connection) and runs in the worker's thread.

Each delivery and each dead letter is one log line (logger `statewright.worker`) with the
instance id, tenant, message id, event type and attempt also as `extra` fields, e.g.
`message delivered: order-42 (tenant acme) order.shipped, message acme/order-42/3/0, attempt 1`.
"""

from __future__ import annotations

import inspect
import json
import logging
import math
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, wait
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, TypeGuard

from statewright.chart.events import matches_descriptor
from statewright.errors import ConfigError
from statewright.runtime.outage import Outage, through
from statewright.runtime.retry import (
    OUTBOX_DEFAULT,
    WORKER_LOST,
    RetryDecision,
    RetryPolicy,
    decide,
    stable_rand,
)
from statewright.store.protocol import Store
from statewright.store.records import OutboxDelivered, OutboxFailed, OutboxRecord

if TYPE_CHECKING:
    from statewright.engine import Engine

__all__ = ["Listener", "ListenerTimeout", "OUTBOX_LEASE_MS", "OutboxDelivery", "OutboxMessage"]

#: How long a claimed outbox message is a worker's before another may deliver it.
OUTBOX_LEASE_MS = 30_000

log = logging.getLogger("statewright.worker")


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxMessage:
    """What a listener receives: the message id (stable across retries) and the event, and
    the worker's `engine` to react with.

    Attributes:
        id: the message id, `tenant/instance/version/index`: deduplicate on it.
        tenant: the tenant of the instance that emitted the message.
        instance_id: the instance that emitted it.
        version: the instance version whose transition emitted it.
        event: the emitted event.
        attempt: 1 for the first delivery, counting up with each one started (retries,
            and deliveries lost with their worker).
        engine: the engine the worker runs for: `message.engine.send(...)`, `.start(...)`,
            `.get(...)` (pass `tenant=message.tenant`, and an idempotency key derived from
            `message.id`, so that a repeated delivery does not act twice).
    """

    id: str
    tenant: str
    instance_id: str
    version: int
    event: dict[str, object]
    attempt: int
    engine: Engine = field(repr=False, compare=False)


Listener = Callable[[OutboxMessage], object]


class ListenerTimeout(Exception):
    """A listener did not return within its deadline (its `deadline_s`, else the outbox
    policy's `timeout`): the delivery failed, and is retried with backoff, then
    dead-lettered. The call itself could not be stopped and may still be running: make the
    listener return sooner, or give it a longer `deadline_s` (below the outbox lease)."""


class OutboxDelivery:
    """Listeners by event pattern, and one delivery pass over the due messages they match."""

    def __init__(
        self,
        engine: Engine,
        policy: RetryPolicy = OUTBOX_DEFAULT,
        *,
        lease_ms: int = OUTBOX_LEASE_MS,
    ) -> None:
        if isinstance(lease_ms, bool) or not isinstance(lease_ms, int) or lease_ms < 1:
            raise ConfigError(
                f"outbox_lease_ms must be a whole number of milliseconds, at least 1, not "
                f"{lease_ms!r}; the default is {OUTBOX_LEASE_MS}"
            )
        self.engine = engine
        self.policy = policy
        self.lease_ms = lease_ms
        self._claims = _ClaimKeeper(lease_ms, engine.clock.now)
        self._calls = _ListenerThread()
        #: (pattern, listener, its declared deadline in ms or 0)
        self._listeners: list[tuple[str, Listener, int]] = []
        #: While the worker runs: a delivery is recorded through an outage of the store
        #: (rather than the message redelivered once its claim lapses).
        self.outage: Outage | None = None

    def listen(self, pattern: str, listener: Listener, *, deadline_s: float | None = None) -> None:
        """Deliver messages whose event type matches `pattern` (`"x"`, `"order.*"`, `"*"`).

        Each call of `listener` has a deadline: `deadline_s`, else the one it declares (a
        `Webhook`'s), else the policy's `timeout` (30 s by default, the claim renewed
        meanwhile). Past it the delivery fails with `ListenerTimeout`.

        Raises:
            ConfigError: `pattern` can match no event type (empty, spaces around it, a `*`
                elsewhere than the whole pattern or its last part after a dot); `listener`
                is not callable with one message; `deadline_s` is not a number of seconds
                above 0, or the deadline given or declared is not shorter than the lease:
                another worker would take its messages over while it still delivers them.
                Each refused here, not when a message comes (10 attempts over ~85 minutes).
        """
        check_pattern(pattern)
        _check_listener(pattern, listener)
        deadline_ms = _deadline_ms(listener) if deadline_s is None else _given(deadline_s, pattern)
        if deadline_ms >= self.lease_ms:
            raise ConfigError(
                f"{listener!r} for {pattern!r}: its deadline ({deadline_ms / 1000:g} s) is not "
                f"shorter than the outbox lease ({self.lease_ms / 1000:g} s: the worker's "
                f"outbox_lease_ms, --outbox-lease), so another worker could deliver a message "
                f"while it still runs; give it a shorter deadline_s, or a longer outbox lease"
            )
        self._listeners.append((pattern, listener, deadline_ms))

    def close(self) -> None:
        """Stop the threads delivery started (the claim keeper, the listener thread) and wait
        for them; a listener call abandoned past its deadline keeps its own. The next
        delivery starts new ones."""
        self._claims.close()
        self._calls.close()

    @property
    def active(self) -> bool:
        """True once a listener is registered (without one, messages wait)."""
        return bool(self._listeners)

    @property
    def listeners(self) -> list[Listener]:
        """The listeners registered, in registration order."""
        return [fn for _, fn, _ in self._listeners]

    @property
    def patterns(self) -> list[str]:
        """The patterns listened for: the event types this worker claims messages of."""
        return list(dict.fromkeys(pattern for pattern, _, _ in self._listeners))

    def matching(self, event_type: str) -> list[Listener]:
        """The listeners for an event type, in registration order."""
        return [fn for fn, _ in self._matching(event_type)]

    def _matching(self, event_type: str) -> list[tuple[Listener, int]]:
        """The listeners for an event type with their declared deadlines (ms, 0 for none)."""
        return [
            (fn, deadline_ms)
            for pattern, fn, deadline_ms in self._listeners
            if matches_descriptor(pattern, event_type)
        ]

    def deliver_due(self, store: Store, now: int, batch: int) -> int:
        """Try up to `batch` messages due at `now` that a listener matches, once each; how
        many were delivered. Messages of other event types are left to other workers.

        One claim holds the batch; it starts (charges the attempt of) its first message only,
        and each message's outcome is written together with the start of the next, so that
        at any moment only the message being delivered has been charged: a worker killed
        during one delivery has spent that message's attempt only, never those of messages
        it had not started. A start holds its message a whole lease from then, for its
        listeners' deadlines; a message that another worker took once its claim ran out
        before its turn is left to it, not started."""
        claimed = store.due_outbox(now, batch, self.lease_ms, types=self.patterns, started=1)
        if not claimed:
            return 0
        delivered = 0
        record: OutboxRecord | None = claimed[0]
        waiting = iter(claimed[1:])
        while record is not None:
            outcome, report = self._attempt(store, record)
            recorded, record = self._next(store, outcome, waiting)
            delivered += report(recorded)
        return delivered

    def _next(
        self,
        store: Store,
        outcome: OutboxDelivered | OutboxFailed | None,
        waiting: Iterator[OutboxRecord],
    ) -> tuple[bool, OutboxRecord | None]:
        """Record `outcome` and start the next message `waiting` in the same write; whether
        the outcome was recorded, and the message started (None: the batch is done). A
        message that another worker took meanwhile (its lease ran out while earlier ones
        were delivered) is not started: the next one is."""
        recorded = True
        for message in waiting:
            done, started = through(self.outage, partial(self._start, store, message, outcome))
            if outcome is not None:
                recorded, outcome = done, None
            if started is not None:
                return recorded, started
        if outcome is not None:
            recorded = through(self.outage, partial(self._record, store, outcome))
        return recorded, None

    def _start(
        self, store: Store, message: OutboxRecord, after: OutboxDelivered | OutboxFailed | None
    ) -> tuple[bool, OutboxRecord | None]:
        now = self.engine.clock.now()  # read at each try: an outage may last
        return store.start_outbox(message, now, now + self.lease_ms, after=after)

    def _record(self, store: Store, outcome: OutboxDelivered | OutboxFailed) -> bool:
        """Record `outcome` alone (no message of the batch left to start with it)."""
        if isinstance(outcome, OutboxDelivered):
            return store.outbox_delivered(outcome.message, self.engine.clock.now())
        return store.outbox_failed(
            outcome.message,
            error=outcome.error,
            next_attempt_at=outcome.next_attempt_at,
            dead=outcome.dead,
            attempts=outcome.attempts,
        )

    def _attempt(
        self, store: Store, record: OutboxRecord
    ) -> tuple[OutboxDelivered | OutboxFailed | None, Callable[[bool], int]]:
        """Deliver `record`, just started (its attempts count this one): the outcome to
        record, and what logs it once written (given whether it was recorded), returning
        1 for a delivery recorded."""
        if record.attempts > self.policy.attempts:
            return self._lost(record)
        event = json.loads(record.event)
        listeners = self._matching(str(event.get("type")))
        about, fields = _described(record, event, record.attempts)
        if not listeners:
            # The claim asked for our patterns only, which the listeners match alike, so this
            # does not happen; if it did, the claim lapses and the message is due again.
            log.warning(
                "message not delivered: %s: no listener matches here",
                about,
                extra={"kind": "message_unmatched", **fields},
            )
            return None, lambda recorded: 0
        message = OutboxMessage(
            id=record.message_id,
            tenant=record.tenant,
            instance_id=record.instance_id,
            version=record.version,
            event=event,
            attempt=record.attempts,
            engine=self.engine,
        )
        # The listeners run one after the other: their deadlines add up. Without renewal the
        # claim must outlast them all, else another worker delivers the message meanwhile.
        bounded = all(deadline_ms for _, deadline_ms in listeners) and (
            self.engine.clock.now() + sum(deadline_ms for _, deadline_ms in listeners)
            < record.next_attempt_at
        )
        try:
            # Renewed while the listeners run, up to their deadline: a call past it fails
            # the delivery, which ends the renewal with this block.
            with nullcontext() if bounded else self._claims.holding(store, record):
                for listener, deadline_ms in listeners:
                    self._call(listener, message, deadline_ms or self.policy.timeout_ms)
        except KeyboardInterrupt:
            raise  # Ctrl-C stops the worker; the claim falls due again after its lease
        except BaseException as error:
            # Also one that is not an Exception (`sys.exit()`, an abort signal of a library):
            # a failed attempt, retried and dead-lettered in the end, never a worker stopped
            # by every delivery of the same message.
            return self._failed(record, error, about, fields)

        def report(recorded: bool) -> int:
            if recorded:
                log.info(
                    "message delivered: %s", about, extra={"kind": "message_delivered", **fields}
                )
                return 1
            log.warning(
                "message delivered: %s, but another worker had taken it over meanwhile (its "
                "claim ran out): it may be delivered again",
                about,
                extra={"kind": "message_delivered_late", **fields},
            )
            return 0

        return OutboxDelivered(message=record), report

    def _lost(self, record: OutboxRecord) -> tuple[OutboxFailed, Callable[[bool], int]]:
        """Dead-letter `record`, started once its attempts were used up: its last delivery
        (every one, if it has no error recorded) ended with its worker. The attempt the start
        charged is given back: it was never made."""
        used = record.attempts - 1
        where = (
            f"each of its {used} deliveries"
            if record.last_error is None
            else f"its last delivery (attempt {used})"
        )
        reason = (
            f"{WORKER_LOST}: its worker stopped during {where} (killed, or lost its store for "
            f"a whole lease); see the worker logs"
        )
        if record.last_error is not None:
            reason += f"; the failure before: {record.last_error}"
        about, fields = _described(record, json.loads(record.event), used)

        def report(recorded: bool) -> int:
            kind, what = (
                ("message_dead_lettered", "message dead-lettered")
                if recorded
                else ("message_failed", "message failed")
            )
            outcome = "no attempts left; dead-lettered" if recorded else _TAKEN_OVER
            log.warning(
                "%s: %s of %s: %s; %s",
                what,
                about,
                self.policy.attempts,
                reason,
                outcome,
                extra={"kind": kind, "error": reason, **fields},
            )
            return 0

        failure = OutboxFailed(
            message=record,
            error=reason,
            next_attempt_at=self.engine.clock.now(),
            dead=True,
            attempts=used,
        )
        return failure, report

    def _call(self, listener: Listener, message: OutboxMessage, deadline_ms: int | None) -> None:
        """Call `listener` with `message` within `deadline_ms` (no limit with None).

        Raises:
            ListenerTimeout: the call did not return in time (it goes on, abandoned).
            BaseException: what the listener raised.
        """
        if deadline_ms is None or getattr(listener, "enforces_deadline", False):
            listener(message)  # no limit, or one the listener keeps itself (a Webhook)
            return
        if not self._calls.call(lambda: listener(message), deadline_ms / 1000):
            raise ListenerTimeout(
                f"listener {_name(listener)} did not return within its deadline of "
                f"{deadline_ms / 1000:g} s (it may still be running: a Python call cannot "
                f"be stopped); make it return sooner, or give it a longer deadline_s "
                f"(worker.listen(pattern, fn, deadline_s=...), below the outbox lease)"
            )

    def _failed(
        self,
        record: OutboxRecord,
        error: BaseException,
        about: str,
        fields: dict[str, object],
    ) -> tuple[OutboxFailed, Callable[[bool], int]]:
        """A failed attempt: retried later, or dead-lettered; one log line either way."""
        attempt = record.attempts
        decision = decide(
            self.policy, attempt, type(error).__name__, stable_rand(record.message_id, attempt)
        )
        now = self.engine.clock.now()
        due = decision.due_at(now)
        reason = f"{type(error).__name__}: {error}"

        def report(recorded: bool) -> int:
            kind, what = (
                ("message_dead_lettered", "message dead-lettered")
                if recorded and not decision.retry
                else ("message_failed", "message failed")
            )
            log.warning(
                "%s: %s of %s: %s; %s",
                what,
                about,
                decision.attempts,
                reason,
                _outcome(decision, recorded),
                extra={"kind": kind, "error": reason, **fields},
            )
            return 0

        failure = OutboxFailed(
            message=record,
            error=reason,
            next_attempt_at=now if due is None else due,
            dead=not decision.retry,
        )
        return failure, report


class _Held:
    """A claimed message whose listeners run, and until when the claim is ours."""

    __slots__ = ("held_until", "lost", "record", "store")

    def __init__(self, store: Store, record: OutboxRecord) -> None:
        self.store = store
        self.record = record
        self.held_until = record.next_attempt_at
        self.lost = False  # the claim ran out and another worker took the message


class _ClaimKeeper:
    """Renews, every third of the lease, the claims of the messages whose listeners are
    running, from one thread: started by the first message held, ended once no message has
    been held for a beat or two, or at once by `close`. Holding a message costs a lock and a
    dict entry; a renewal refused (the message delivered, failed or taken over meanwhile)
    changes nothing."""

    def __init__(self, lease_ms: int, now: Callable[[], int]) -> None:
        self._lease_ms = lease_ms
        self._now = now
        self._lock = threading.Lock()
        self._held: dict[int, _Held] = {}
        self._thread: threading.Thread | None = None  # the beating thread, while one runs
        self._stop = threading.Event()  # the running thread's: set by `close`

    @contextmanager
    def holding(self, store: Store, record: OutboxRecord) -> Iterator[None]:
        """Keep the claim on `record` while the block runs."""
        held = _Held(store, record)
        with self._lock:
            self._held[id(held)] = held
            if self._thread is None:
                self._stop = threading.Event()
                self._thread = threading.Thread(
                    target=self._beat,
                    args=(self._stop,),
                    name="statewright-outbox-claims",
                    daemon=True,
                )
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                del self._held[id(held)]

    def close(self) -> None:
        """Stop the thread now and wait for it (a renewal in progress ends first, waited
        for up to `_JOIN_S`); the next message held starts another."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(_JOIN_S)

    def _beat(self, stop: threading.Event) -> None:
        idle = False
        while not stop.wait(self._lease_ms / 3000):
            with self._lock:
                due = [held for held in self._held.values() if not held.lost]
                if not due:
                    if idle:
                        if self._thread is threading.current_thread():
                            self._thread = None
                        return
                    idle = True
                    continue
                idle = False
            for held in due:
                if stop.is_set():
                    return
                self._renew(held)

    def _renew(self, held: _Held) -> None:
        lease_until = self._now() + self._lease_ms
        try:
            renewed = held.store.renew_outbox_lease(held.record, held.held_until, lease_until)
        except Exception:  # the store is away: the next beat tries again
            log.debug("renewing the claim on %s failed", held.record.message_id, exc_info=True)
            return
        if renewed:
            held.held_until = lease_until
        else:  # the delivery's bookkeeping finds the message taken over and logs it
            held.lost = True


def _stop() -> None:
    """What `_ListenerThread.close` puts in the queue: its thread ends there."""


_STOP: tuple[Callable[[], object], Future[None]] = (_stop, Future())
#: How long closing waits for an idle listener thread to end.
_JOIN_S = 5.0


class _ListenerThread:
    """Runs listener calls one at a time on a daemon thread, so that a delivery can stop
    waiting for a call at its deadline, as the step loop stops waiting for an attempt past
    its timeout. The thread is reused from call to call (one per call would cost about
    100 µs of each delivery) and ends after a second with nothing to run. A call that
    outlives its deadline keeps its thread (Python cannot interrupt it): that thread is
    abandoned, and the next call starts a new one."""

    _IDLE_S = 1.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: queue.SimpleQueue[tuple[Callable[[], object], Future[None]]] | None = None
        self._thread: threading.Thread | None = None  # serving `_calls`

    def call(self, fn: Callable[[], object], deadline_s: float) -> bool:
        """Run `fn` on the thread; False if it has not returned after `deadline_s` (then
        abandoned). What `fn` raises is raised here."""
        future: Future[None] = Future()
        with self._lock:
            calls = self._calls
            if calls is None:
                calls = self._calls = queue.SimpleQueue()
                self._thread = threading.Thread(
                    target=self._serve, args=(calls,), name="statewright-listener", daemon=True
                )
                self._thread.start()
            calls.put((fn, future))
        done, _ = wait([future], timeout=deadline_s)
        if not done:
            with self._lock:
                if self._calls is calls:
                    self._calls = self._thread = None  # its thread stays with the call
            return False
        future.result()  # raises what `fn` raised
        return True

    def close(self) -> None:
        """End the thread now if it is idle, and wait for it; one running a call (abandoned
        past its deadline) is left to it. The next call starts another."""
        with self._lock:
            calls, self._calls = self._calls, None
            thread, self._thread = self._thread, None
        if calls is not None:
            calls.put(_STOP)
        if thread is not None and thread is not threading.current_thread():
            thread.join(_JOIN_S)

    def _serve(self, calls: queue.SimpleQueue[tuple[Callable[[], object], Future[None]]]) -> None:
        while True:
            try:
                fn, future = calls.get(timeout=self._IDLE_S)
                if fn is _stop:
                    return
            except queue.Empty:
                with self._lock:
                    if calls.empty():  # nothing was put meanwhile: end here
                        if self._calls is calls:
                            self._calls = self._thread = None
                        return
                continue
            try:
                fn()
            except BaseException as error:  # the delivery's to judge, in the worker's thread
                future.set_exception(error)
            else:
                future.set_result(None)
            if self._calls is not calls:
                return  # abandoned past its deadline: the next calls have a thread of their own


def check_pattern(pattern: object) -> None:
    """Refuse a listener pattern that can match no event type, naming the fix. Valid: an
    exact type (`"order.shipped"`), a prefix (`"order.*"`: `order` and `order.<...>`) or
    everything (`"*"`), as `chart.events.matches_descriptor` and the claim's filter read
    them (exact and case-sensitive).

    Raises:
        ConfigError: not a string, empty, with spaces around it, or with a `*` elsewhere
            than the whole pattern or its last part after a dot (`"order*"`, `"*.shipped"`,
            `"order.*.*"` match only that very text, which no event type is).
    """
    if not isinstance(pattern, str):
        raise ConfigError(
            f"listener pattern {pattern!r} must be a string: an event type "
            '("order.shipped"), a prefix ("order.*") or "*" for every event'
        )
    if not pattern.strip():
        raise ConfigError(
            f"listener pattern {pattern!r} is empty and matches no event; give an event type "
            '("order.shipped"), a prefix ("order.*") or "*" for every event'
        )
    if pattern != pattern.strip():
        raise ConfigError(
            f"listener pattern {pattern!r} has spaces around it and matches no event type "
            f"(they are compared exactly); write {pattern.strip()!r}"
        )
    if (
        "*" in pattern
        and pattern != "*"
        and not (pattern.endswith(".*") and "*" not in pattern[:-2])
    ):
        head = pattern.split("*", 1)[0].rstrip(".")
        example = f'"{head}.*" or "*"' if head else '"order.*" or "*"'
        raise ConfigError(
            f'listener pattern {pattern!r} never matches: "*" may only be the whole pattern '
            f"or its last part after a dot (a prefix); write {example}"
        )


def _check_listener(pattern: str, listener: object) -> None:
    """Refuse a listener that cannot be called with one `OutboxMessage`."""
    if not callable(listener):
        hint = (
            "; to POST messages to a URL, use worker.webhook(pattern, url, secret)"
            if isinstance(listener, str) and "://" in listener
            else ""
        )
        raise ConfigError(
            f"listener for {pattern!r}: {listener!r} is not callable; give a function that "
            f"takes the OutboxMessage, e.g. def notify(message): ...{hint}"
        )
    try:
        signature = inspect.signature(listener)
    except (TypeError, ValueError):
        return  # a builtin without one: it is called as given
    try:
        signature.bind(object())
    except TypeError:
        empty = inspect.Signature.empty
        signature = signature.replace(
            parameters=[p.replace(annotation=empty) for p in signature.parameters.values()],
            return_annotation=empty,
        )
        raise ConfigError(
            f"listener for {pattern!r}: {_name(listener)}{signature} cannot be called with one "
            f"argument, the OutboxMessage; define it as def {_name(listener).rpartition('.')[2]}"
            f"(message): ..."
        ) from None


def is_seconds(value: object) -> TypeGuard[float]:
    """Whether `value` is a number of seconds above 0 (a deadline: not a bool, not NaN or
    infinite), as `listen`'s and a `Webhook`'s `deadline_s` must be."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def _given(deadline_s: object, pattern: str) -> int:
    """A `deadline_s` given to `listen`, in milliseconds."""
    if not is_seconds(deadline_s):
        raise ConfigError(
            f"listener for {pattern!r}: deadline_s must be a number of seconds above 0, not "
            f"{deadline_s!r}; leave it out for the outbox policy's timeout "
            f"({OUTBOX_DEFAULT.timeout_ms and OUTBOX_DEFAULT.timeout_ms / 1000:g} s)"
        )
    return math.ceil(deadline_s * 1000)


def _name(listener: Listener) -> str:
    """A listener as a message names it: its qualified name, else its repr."""
    return str(getattr(listener, "__qualname__", None) or repr(listener))


def _deadline_ms(listener: Listener) -> int:
    """The longest one call of `listener` takes, in milliseconds, if it declares it
    (`deadline_s`, as a `Webhook` does); 0 if it does not."""
    deadline_s = getattr(listener, "deadline_s", None)
    if isinstance(deadline_s, bool) or not isinstance(deadline_s, int | float):
        return 0
    return math.ceil(deadline_s * 1000)


def _described(
    record: OutboxRecord, event: dict[str, object], attempt: int
) -> tuple[str, dict[str, object]]:
    """How a log line names `record` (its `event`, parsed) at `attempt`: its text, and the
    same facts as `extra` fields."""
    event_type = str(event.get("type"))
    fields: dict[str, object] = {
        "instance_id": record.instance_id,
        "tenant": record.tenant,
        "message_id": record.message_id,
        "event_type": event_type,
        "attempt": attempt,
    }
    about = (
        f"{record.instance_id} (tenant {record.tenant}) {event_type}, "
        f"message {record.message_id}, attempt {attempt}"
    )
    return about, fields


_TAKEN_OVER = "another worker had taken the message over meanwhile (its claim ran out)"


def _outcome(decision: RetryDecision, recorded: bool) -> str:
    if not recorded:
        return _TAKEN_OVER
    if decision.retry:
        return f"retrying in {decision.delay_ms} ms"
    if decision.give_up == "non_retryable":
        return f"{decision.error_type} is not retryable; dead-lettered"
    return "no attempts left; dead-lettered"
