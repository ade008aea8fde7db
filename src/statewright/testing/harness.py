"""`Harness`: the durable engine and its worker on a virtual clock, for users' own tests.

    with Harness(machine) as h:
        h.start("order", instance_id="A-1", input={"orderId": "A-1", "amount": 2500})
        h.advance("48h")                  # fires due timers at their due times, in order
        h.assert_state("A-1", "escalated")
        h.assert_outbox_pending("A-1", "order.escalated")
        h.assert_retry_scheduled("A-2", "payment", attempts=1)
        h.assert_dead_lettered("A-3", "order.shipped")

Everything runs for real against a temporary SQLite file: the same engine, store and worker
code as production, with time moving only when the test says so. Every worker loop runs:
timers, steps, outbox delivery (to `listen`ers and `webhook`s) and the cron schedules given to
`schedule`. The worker takes `Worker`'s options (`outbox_retry`, the leases, `batch`,
`concurrency`), so that a test runs with the production worker's configuration; its steps run
one after the other (`concurrency=1`) unless told otherwise, so that runs are deterministic.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Collection, Mapping
from pathlib import Path

from statewright.chart import Machine
from statewright.engine import AuditEntry, Engine, Instance
from statewright.runtime.cron import Schedule
from statewright.runtime.outbox import OUTBOX_LEASE_MS, Listener
from statewright.runtime.retry import RetryPolicy
from statewright.runtime.steps import DEFAULT_BATCH, DEFAULT_LEASE_MS
from statewright.runtime.webhooks import DEFAULT_DEADLINE_S, DEFAULT_KEEPALIVE_S
from statewright.runtime.worker import TIMER_LEASE_MS, Worker
from statewright.testing.clock import VirtualClock, exact_milliseconds, to_milliseconds

__all__ = ["Harness"]

#: 2024-01-01T00:00:00Z: a fixed, readable start for virtual time.
DEFAULT_START_MS = 1_704_067_200_000


class Harness:
    """An engine, a worker and a virtual clock over a temporary SQLite database.

    Args:
        machines: machines to register.
        start_ms: where virtual time starts (epoch milliseconds).
        url: a store URL to use instead of a temporary SQLite file.
        batch, step_lease_ms, timer_lease_ms, outbox_lease_ms, outbox_retry: the worker's
            options, as `Worker` takes them (e.g. `outbox_retry={"attempts": 3}`, the
            production worker's policy, to test when a message is dead-lettered).
        concurrency: how many steps run at the same time; 1 (the default, unlike `Worker`'s
            8) runs them one after the other in the order they were claimed, so that a test
            sees the same order, and the same audit log, on every run.

    Raises:
        ConfigError: a worker option out of range, as `Worker` raises it.
    """

    def __init__(
        self,
        *machines: Machine,
        start_ms: int = DEFAULT_START_MS,
        url: str | None = None,
        batch: int = DEFAULT_BATCH,
        concurrency: int = 1,
        step_lease_ms: int = DEFAULT_LEASE_MS,
        timer_lease_ms: int = TIMER_LEASE_MS,
        outbox_lease_ms: int = OUTBOX_LEASE_MS,
        outbox_retry: RetryPolicy | Mapping[str, object] | None = None,
    ) -> None:
        self._folder = None if url else tempfile.TemporaryDirectory(prefix="statewright-")
        if url is None:
            assert self._folder is not None
            url = f"sqlite:///{Path(self._folder.name) / 'harness.db'}?synchronous=normal"
        self.clock = VirtualClock(start_ms)
        self.engine = Engine.open(url, clock=self.clock)
        try:
            self.worker = Worker(
                self.engine,
                batch=batch,
                concurrency=concurrency,
                step_lease_ms=step_lease_ms,
                timer_lease_ms=timer_lease_ms,
                outbox_lease_ms=outbox_lease_ms,
                outbox_retry=outbox_retry,
            )
        except BaseException:
            self.engine.close()
            if self._folder is not None:
                self._folder.cleanup()
            raise
        for machine in machines:
            self.engine.register(machine)

    # -- driving ------------------------------------------------------------------------------

    def start(
        self,
        definition_id: str,
        *,
        input: object = None,
        instance_id: str | None = None,
        tenant: str = "default",
        actor: str | None = None,
        version: int | None = None,
    ) -> Instance:
        """`Engine.start`, then run the work that is due."""
        instance = self.engine.start(
            definition_id,
            input=input,
            instance_id=instance_id,
            tenant=tenant,
            actor=actor,
            version=version,
        )
        self.run_due_work()
        return self.engine.get(instance.id, tenant=instance.tenant)

    def send(
        self,
        instance_id: str,
        event: Mapping[str, object] | str,
        *,
        tenant: str = "default",
        actor: str | None = None,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        roles: Collection[str] | None = None,
    ) -> AuditEntry:
        """`Engine.send`, then run the work that is due."""
        entry = self.engine.send(
            instance_id,
            event,
            tenant=tenant,
            actor=actor,
            idempotency_key=idempotency_key,
            expected_version=expected_version,
            roles=roles,
        )
        self.run_due_work()
        return entry

    def advance(self, amount: int | float | str) -> int:
        """Move time forward (`1000`, `0.5`, `"48h"`, `"PT2H"`; fractions of a millisecond
        add up, as on `VirtualClock`), stopping whenever work falls due (a
        timer, a step's retry, an outbox retry, a schedule's tick) to run it, so that work set
        off by other work counts from when that ran.

        Returns:
            How much work ran.
        """
        end = self.clock._exact_now() + exact_milliseconds(amount)
        target = math.floor(end)  # fractions of a millisecond are kept, as the clock keeps them
        ran = self.run_due_work()
        stuck_at: int | None = None
        while True:
            due = self._next_due()
            if due is None or due > target or due == stuck_at:
                # Nothing more due by the target, or what is due stays due without running
                # (a timer whose guard raises, say): stop stepping.
                break
            self.clock._advance_to(due)
            done = self.run_due_work()
            ran += done
            # A failed attempt is no work done but moves its retry later, and the stepping
            # goes on to that; only work that stays due where it was ends it.
            stuck_at = due if done == 0 else None
        self.clock._advance_to(end)
        return ran + self.run_due_work()

    def _next_due(self) -> int | None:
        """When the next work falls due: a timer, a retry, an outbox message or a tick."""
        outbox = self.worker.outbox
        due = self.engine.store.next_work_at(
            outbox=outbox.active,
            outbox_types=outbox.patterns,
            srcs=sorted(self.engine.registry.actor_sources()),
        )
        tick = self.worker.schedules.next_due()
        return tick if due is None else due if tick is None else min(due, tick)

    def schedule(self, schedule: Schedule | Mapping[str, object]) -> Schedule:
        """Run a cron schedule (a `Schedule` or its configuration, as in a `schedules.json`)
        from now on: `advance` stops at each of its ticks to run it, as a worker would."""
        return self.worker.schedule(schedule)

    def listen(self, pattern: str, listener: Listener, *, deadline_s: float | None = None) -> None:
        """Deliver outbox messages matching `pattern` (`"order.*"`, `"*"`) to `listener`,
        within `deadline_s` per call (`Worker.listen`)."""
        self.worker.listen(pattern, listener, deadline_s=deadline_s)

    def webhook(
        self,
        pattern: str,
        url: str,
        secret: str,
        *,
        deadline_s: float = DEFAULT_DEADLINE_S,
        keepalive_s: float = DEFAULT_KEEPALIVE_S,
    ) -> None:
        """POST outbox messages matching `pattern` to `url`, signed with `secret`
        (`Worker.webhook`): a delivery not answered 2xx within `deadline_s` seconds fails
        and is retried per `outbox_retry`, on virtual time.

        Raises:
            ConfigError: `deadline_s` is not above 0, or not shorter than `outbox_lease_ms`;
                `keepalive_s` is below 0.
        """
        self.worker.webhook(pattern, url, secret, deadline_s=deadline_s, keepalive_s=keepalive_s)

    def redrive(self, instance_id: str, *event_types: str, tenant: str = "default") -> int:
        """`Engine.redrive` the instance's dead letters (of these event types; all with none),
        then run the work that is due: their next delivery, attempts counted afresh.

        Returns:
            How many were redriven.

        Raises:
            AssertionError: none was (a mistyped id or type), naming what is dead-lettered.
        """
        redriven = 0
        for event_type in event_types or (None,):
            redriven += self.engine.redrive(
                tenant=tenant, instance_id=instance_id, event_type=event_type
            )
        if redriven == 0:
            raise AssertionError(
                f"{instance_id} has no dead letters{' of ' if event_types else ''}"
                f"{', '.join(event_types)} to redrive; dead-lettered: "
                f"{self._outbox_types(instance_id, 'dead', tenant) or 'none'}"
            )
        self.run_due_work()
        return redriven

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
        pending = self._outbox_types(instance_id, "pending", tenant)
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

    def assert_retry_scheduled(
        self,
        instance_id: str,
        invoke_id: str,
        *,
        attempts: int | None = None,
        in_: int | str | tuple[int | str, int | str] | None = None,
        tenant: str = "default",
    ) -> None:
        """Assert a step run failed and waits to be retried (after `attempts` attempts, due
        `in_` from now: a duration, or a `(shortest, longest)` pair, both included, since a
        retry policy's jitter draws each delay from a range: `in_=("0.5s", "1s")` for the
        first retry of a `"delay": "1s"` policy)."""
        steps = {s.invoke_id: s for s in self.engine.store.steps(tenant, instance_id)}
        step = steps.get(invoke_id)
        if step is None or step.status != "retrying":
            found = {key: s.status for key, s in steps.items()} or "none"
            raise AssertionError(
                f"{instance_id} has no step {invoke_id!r} waiting to retry; steps: {found}"
            )
        if attempts is not None and step.attempts != attempts:
            raise AssertionError(
                f"step {invoke_id!r} made {step.attempts} attempts, not {attempts}"
            )
        if in_ is not None:
            shortest, longest = in_ if isinstance(in_, tuple) else (in_, in_)
            left = step.next_attempt_at - self.clock.now()
            if not to_milliseconds(shortest) <= left <= to_milliseconds(longest):
                wanted = f"between {shortest} and {longest}" if isinstance(in_, tuple) else in_
                raise AssertionError(f"step {invoke_id!r} retries in {left} ms, not {wanted}")

    def assert_dead_lettered(
        self, instance_id: str, *event_types: str, tenant: str = "default"
    ) -> None:
        """Assert the instance's dead-lettered outbox messages have exactly these types."""
        dead = self._outbox_types(instance_id, "dead", tenant)
        if dead != list(event_types):
            raise AssertionError(f"{instance_id} has {dead} dead-lettered, not {list(event_types)}")

    def _outbox_types(self, instance_id: str, status: str, tenant: str) -> list[str]:
        """The event types of the instance's outbox messages in `status`, oldest first."""
        return [
            json.loads(message.event)["type"]
            for message in self.engine.store.outbox(tenant, instance_id)
            if message.status == status
        ]

    # -- closing ------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the worker's step threads, close the engine and delete the temporary
        database."""
        self.worker.close()
        self.engine.close()
        if self._folder is not None:
            self._folder.cleanup()

    def __enter__(self) -> Harness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
