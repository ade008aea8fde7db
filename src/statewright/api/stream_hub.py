"""The live stream's fan-out: one reader of the audit table per `serve` process, shared by
every client connected to it.

The reader (an asyncio task, running while anyone is subscribed) waits for a wake-up
(PostgreSQL: `LISTEN statewright_audit` on one connection, notified after the commits of any
process; SQLite: none) or `poll_s` seconds, asks the engine for the stream's horizon (one
small query: on PostgreSQL the audit sequence and the transactions in flight, on SQLite the
largest cursor), and when it moved reads each subscribed tenant's new transitions up to it,
in cursor order, and hands each to the subscriptions of its tenant. A transition committed
by any process (a worker on another host) is found there: the data always comes from the
audit table, so nothing is lost when a wake-up is, and no client holds a connection.

Each subscription queues at most `queue_size` transitions; a client that reads slower than
transitions come loses its queue for a `resync` marker instead of growing memory
(`Subscription.offer`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass, field

from statewright.engine import Engine
from statewright.engine.stream import StreamEntry
from statewright.errors import StatewrightError

__all__ = ["Resync", "StreamHub", "StreamSettings", "Subscription"]

log = logging.getLogger("statewright.api")


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamSettings:
    """The live stream's knobs."""

    #: Seconds between two comments sent to an idle stream (keeps proxies from closing it).
    heartbeat_s: float = 15.0
    #: Seconds between two looks at the audit table while clients are connected.
    poll_s: float = 0.25
    #: The most transitions replayed to a client reconnecting with `Last-Event-ID`; a
    #: larger gap gets a `resync` event instead.
    replay_limit: int = 1000
    #: The most transitions queued for one client; a slower client gets a `resync`.
    queue_size: int = 1000
    #: The reconnection delay suggested to clients (`retry:`), in milliseconds.
    retry_ms: int = 3000


@dataclass(frozen=True, slots=True)
class Resync:
    """The client must read the current state again: transitions up to `cursor` were not
    sent to it (`reason`: `too-slow`, `gap-too-large` or `unknown-cursor`)."""

    cursor: int
    reason: str


@dataclass(eq=False, slots=True, kw_only=True)
class Subscription:
    """One client's queue of transitions after `start`, of one tenant (and filters)."""

    tenant: str
    instance_id: str | None
    definition_id: str | None
    start: int
    queue_size: int
    items: deque[StreamEntry | Resync] = field(default_factory=deque)
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, entry: StreamEntry) -> None:
        """Queue `entry` if it is after `start` and passes the filters; when the queue is
        full, drop it for a `resync` at this entry (memory stays bounded)."""
        if entry.cursor <= self.start:
            return
        if self.instance_id is not None and entry.instance_id != self.instance_id:
            return
        if self.definition_id is not None and entry.definition_id != self.definition_id:
            return
        if len(self.items) >= self.queue_size:
            self.items.clear()
            self.items.append(Resync(entry.cursor, "too-slow"))
        else:
            self.items.append(entry)
        self.ready.set()

    def skip_through(self, cursor: int) -> None:
        """Start after `cursor` instead (the client has everything up to it: it came from
        another server whose reader was ahead of this one's)."""
        if cursor > self.start:
            self.start = cursor
            kept = [item for item in self.items if item.cursor > cursor]
            self.items.clear()
            self.items.extend(kept)

    def take(self) -> list[StreamEntry | Resync]:
        """Everything queued, oldest first."""
        taken = list(self.items)
        self.items.clear()
        self.ready.clear()
        return taken


class StreamHub:
    """Subscriptions per tenant, fed by one reader task (see the module docstring)."""

    def __init__(self, engine: Engine, settings: StreamSettings) -> None:
        self.engine = engine
        self.settings = settings
        self._cursors: dict[str, int] = {}  # per subscribed tenant: the last cursor handed out
        self._subscriptions: dict[str, set[Subscription]] = {}
        self._task: asyncio.Task[None] | None = None
        self.stopping = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def subscribe(
        self, tenant: str, *, instance_id: str | None = None, definition_id: str | None = None
    ) -> Subscription:
        """A new subscription; it gets every transition after its `start` (the cursor up to
        which the caller replays from the audit table itself)."""
        self._loop = asyncio.get_running_loop()
        if tenant not in self._cursors:
            horizon = await asyncio.to_thread(self.engine.stream_horizon)
            self._cursors.setdefault(tenant, horizon)  # another subscribe may have set it
        subscription = Subscription(
            tenant=tenant,
            instance_id=instance_id,
            definition_id=definition_id,
            start=self._cursors[tenant],
            queue_size=self.settings.queue_size,
        )
        self._subscriptions.setdefault(tenant, set()).add(subscription)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="statewright-stream")
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Forget a subscription (its client went away); its tenant too, if it was the last."""
        subscriptions = self._subscriptions.get(subscription.tenant)
        if subscriptions is not None:
            subscriptions.discard(subscription)
            if not subscriptions:
                del self._subscriptions[subscription.tenant]
                self._cursors.pop(subscription.tenant, None)

    @property
    def subscribers(self) -> int:
        """How many subscriptions are open."""
        return sum(len(subscriptions) for subscriptions in self._subscriptions.values())

    def stop(self) -> None:
        """End every stream (the server is stopping); safe from any thread."""
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed already
            loop.call_soon_threadsafe(self.stopping.set)

    async def _run(self) -> None:
        """Read new transitions while anyone is subscribed."""
        failing = False
        while self._subscriptions and not self.stopping.is_set():
            try:
                await self._read()
                if failing:
                    log.info("the live stream reads the store again")
                failing = False
            except StatewrightError as error:
                if not failing:
                    log.warning("the live stream cannot read the store (retrying): %s", error)
                failing = True
            except Exception:
                log.exception("the live stream's reader failed (retrying); please report it")
                failing = True
            if self._subscriptions and not self.stopping.is_set():
                await asyncio.to_thread(self.engine.wait_for_commits, self.settings.poll_s)

    async def _read(self) -> None:
        horizon = await asyncio.to_thread(self.engine.stream_horizon)
        for tenant in list(self._cursors):
            cursor = self._cursors[tenant]
            while cursor < horizon:
                entries = await asyncio.to_thread(
                    self.engine.audit_since, cursor, tenant=tenant, through=horizon, limit=500
                )
                for entry in entries:
                    for subscription in self._subscriptions.get(tenant, ()):
                        subscription.offer(entry)
                cursor = entries[-1].cursor if len(entries) == 500 else horizon
                if tenant in self._cursors:  # every client of it may have gone meanwhile
                    self._cursors[tenant] = cursor
