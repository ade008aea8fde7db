"""Outbox delivery: messages recorded by `emit` in a transition's transaction, delivered after
commit to registered listeners, at least once, with a stable message id.

A listener is `fn(message: OutboxMessage)`, registered for an event type, a prefix
(`"order.*"`) or everything (`"*"`). A message is delivered when every matching listener
returned; if one raises, the whole message is tried again later with backoff
(`retry.OUTBOX_DEFAULT`: 10 attempts, doubling from 10 s up to 1 h) and, when the attempts are
exhausted, dead-lettered. A message no listener matches is dead-lettered at once with that
reason, never dropped: add a listener and `redrive` it. Listeners must be idempotent on
`message.id`, since a crash between a delivery and its bookkeeping repeats it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from statewright.chart.events import matches_descriptor
from statewright.runtime.outage import Outage
from statewright.runtime.retry import OUTBOX_DEFAULT, RetryPolicy, decide, stable_rand
from statewright.store.protocol import Store
from statewright.store.records import OutboxRecord

__all__ = ["Listener", "OutboxDelivery", "OutboxMessage"]

log = logging.getLogger("statewright.worker")


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxMessage:
    """What a listener receives: the message id (stable across retries) and the event."""

    id: str
    tenant: str
    instance_id: str
    version: int
    event: dict[str, object]
    attempt: int


Listener = Callable[[OutboxMessage], object]


class OutboxDelivery:
    """Listeners by event pattern, and one delivery pass over the due messages."""

    def __init__(self, policy: RetryPolicy = OUTBOX_DEFAULT) -> None:
        self.policy = policy
        self._listeners: list[tuple[str, Listener]] = []
        #: While the worker runs: a delivery is recorded through an outage of the store
        #: (rather than the message redelivered once its claim lapses).
        self.outage: Outage | None = None

    def listen(self, pattern: str, listener: Listener) -> None:
        """Deliver messages whose event type matches `pattern` (`"x"`, `"order.*"`, `"*"`)."""
        self._listeners.append((pattern, listener))

    @property
    def active(self) -> bool:
        """True once a listener is registered (without one, messages wait)."""
        return bool(self._listeners)

    def matching(self, event_type: str) -> list[Listener]:
        """The listeners for an event type, in registration order."""
        return [fn for pattern, fn in self._listeners if matches_descriptor(pattern, event_type)]

    def deliver_due(self, store: Store, now: int, batch: int) -> int:
        """Try every message due at `now` once; how many were delivered."""
        delivered = 0
        for record in store.due_outbox(now, batch):
            delivered += self._deliver(store, record, now)
        return delivered

    def _deliver(self, store: Store, record: OutboxRecord, now: int) -> int:
        event = json.loads(record.event)
        attempt = record.attempts + 1
        listeners = self.matching(str(event.get("type")))
        if not listeners:
            store.outbox_failed(
                record,
                error=f"no listener for {event.get('type')!r}",
                next_attempt_at=now,
                dead=True,
            )
            return 0
        message = OutboxMessage(
            id=record.message_id,
            tenant=record.tenant,
            instance_id=record.instance_id,
            version=record.version,
            event=event,
            attempt=attempt,
        )
        try:
            for listener in listeners:
                listener(message)
        except Exception as error:
            decision = decide(
                self.policy, attempt, type(error).__name__, stable_rand(record.message_id, attempt)
            )
            due = decision.due_at(now)
            store.outbox_failed(
                record,
                error=f"{type(error).__name__}: {error}",
                next_attempt_at=now if due is None else due,
                dead=not decision.retry,
            )
            log.warning("outbox message %s: %s", record.message_id, decision.describe())
            return 0
        outage = self.outage
        if outage is None:
            return 1 if store.outbox_delivered(record, now) else 0
        return 1 if outage.call(lambda: store.outbox_delivered(record, now)) else 0
