"""`Harness`: the durable engine and its worker on a virtual clock, for users' own tests.

    with Harness(machine) as h:
        h.start("order", instance_id="A-1", input={"orderId": "A-1", "amount": 2500})
        h.advance("48h")                  # fires due timers at their due times, in order
        h.assert_state("A-1", "escalated")
        h.assert_outbox_pending("A-1", "order.escalated")

Everything runs for real against a temporary SQLite file: the same engine, store and worker
code as production, with time moving only when the test says so. The worker loops run so
far: timers (steps, outbox delivery and schedules come with the rest of the runtime).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from statewright.chart import Machine
from statewright.engine import AuditEntry, Engine, Instance
from statewright.runtime.worker import Worker
from statewright.testing.clock import VirtualClock, to_milliseconds

__all__ = ["Harness"]

#: 2024-01-01T00:00:00Z: a fixed, readable start for virtual time.
DEFAULT_START_MS = 1_704_067_200_000


class Harness:
    """An engine, a worker and a virtual clock over a temporary SQLite database.

    Args:
        machines: machines to register.
        start_ms: where virtual time starts (epoch milliseconds).
        url: a store URL to use instead of a temporary SQLite file.
    """

    def __init__(
        self, *machines: Machine, start_ms: int = DEFAULT_START_MS, url: str | None = None
    ) -> None:
        self._folder = None if url else tempfile.TemporaryDirectory(prefix="statewright-")
        if url is None:
            assert self._folder is not None
            url = f"sqlite:///{Path(self._folder.name) / 'harness.db'}?synchronous=normal"
        self.clock = VirtualClock(start_ms)
        self.engine = Engine.open(url, clock=self.clock)
        self.worker = Worker(self.engine)
        for machine in machines:
            self.engine.register(machine)

    # -- driving ------------------------------------------------------------------------------

    def start(self, definition_id: str, **options: object) -> Instance:
        """`Engine.start`, then run the work that is due."""
        instance = self.engine.start(definition_id, **options)  # type: ignore[arg-type]
        self.run_due_work()
        return self.engine.get(instance.id, tenant=instance.tenant)

    def send(
        self, instance_id: str, event: dict[str, object] | str, **options: object
    ) -> AuditEntry:
        """`Engine.send`, then run the work that is due."""
        entry = self.engine.send(instance_id, event, **options)  # type: ignore[arg-type]
        self.run_due_work()
        return entry

    def advance(self, amount: int | float | str) -> int:
        """Move time forward (`1000`, `"48h"`, `"PT2H"`), stopping at each timer's due time to
        fire it, so that a timer set by another counts from when that one fired.

        Returns:
            How many timers fired.
        """
        target = self.clock.now() + to_milliseconds(amount)
        fired = 0
        while True:
            due = self.engine.store.due_timers(target, 1)
            if not due:
                break
            if due[0].due_at > self.clock.now():
                self.clock.advance(due[0].due_at - self.clock.now())
            fired += self.run_due_work()
        if target > self.clock.now():
            self.clock.advance(target - self.clock.now())
        return fired + self.run_due_work()

    def run_due_work(self) -> int:
        """Run every worker loop until nothing is due now; how much work ran."""
        return self.worker.run_once()

    # -- looking ------------------------------------------------------------------------------

    def get(self, instance_id: str, *, tenant: str = "default") -> Instance:
        """The instance as it stands."""
        return self.engine.get(instance_id, tenant=tenant)

    def assert_state(self, instance_id: str, value: object, *, tenant: str = "default") -> None:
        """Assert the instance is in `value` (`"a.b"` or `{"a": "b"}`, partial values match)."""
        instance = self.get(instance_id, tenant=tenant)
        if not instance.snapshot.matches(value):
            raise AssertionError(
                f"{instance_id} is in {instance.value!r} ({instance.status}, "
                f"{instance.runtime_status}), not {value!r}"
            )

    def assert_outbox_pending(
        self, instance_id: str, *event_types: str, tenant: str = "default"
    ) -> None:
        """Assert the instance's pending outbox messages have exactly these event types."""
        pending = [
            json.loads(message.event)["type"]
            for message in self.engine.store.outbox(tenant, instance_id)
            if message.status == "pending"
        ]
        if pending != list(event_types):
            raise AssertionError(
                f"{instance_id} has outbox messages {pending} pending, not {list(event_types)}"
            )

    def assert_timer_pending(
        self, instance_id: str, timer_id: str, *, in_: str | None = None, tenant: str = "default"
    ) -> None:
        """Assert a timer is pending (and, with `in_`, due exactly that long from now)."""
        timers = {t.timer_id: t for t in self.engine.store.pending_timers(tenant, instance_id)}
        if timer_id not in timers:
            raise AssertionError(
                f"{instance_id} has no pending timer {timer_id!r}; pending: "
                f"{sorted(timers) or 'none'}"
            )
        if in_ is not None and timers[timer_id].due_at - self.clock.now() != to_milliseconds(in_):
            left = timers[timer_id].due_at - self.clock.now()
            raise AssertionError(f"timer {timer_id!r} is due in {left} ms, not {in_}")

    # -- closing ------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the engine and delete the temporary database."""
        self.engine.close()
        if self._folder is not None:
            self._folder.cleanup()

    def __enter__(self) -> Harness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
