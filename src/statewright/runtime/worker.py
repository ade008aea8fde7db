"""`Worker`: the loops that make a workflow wait, retry and notify.

`run_once()` drains the work due now in rounds; each round

- claims a batch of due timers (oldest first, with a lease, so that workers share them) and
  fires them through `Engine.fire_timers`: each timer's event is committed and the timer
  deleted in ONE transaction, so a timer fires exactly once, as the audit log shows, and
  timers that fell due while nothing ran fire late, never lost;
- runs a batch of due steps (`runtime/steps.py`: leases, heartbeats, timeouts, retries);
- runs the due ticks of its cron schedules (`runtime/schedules.py`);
- delivers a batch of due outbox messages to its listeners and webhooks
  (`runtime/outbox.py`), once it has at least one: `worker.listen("order.*", fn)`.

`run()` works until SIGTERM, SIGINT or `stop`, on two threads, so that neither kind of work
waits for the other: the step loop (a thread of its own, `statewright-steps`) claims and runs
steps as slots free up, while the calling thread fires timers, runs ticks and delivers
messages in rounds. Each sleeps when it has nothing due, until its next due time or a
wake-up from a commit that created work (the poll is the fallback). The calling thread alone
waits on the store's wake-up channel and passes each wake-up on to the step loop.
It first checks the store (`Store.check`: schema version, and for SQLite the file's
integrity and that it is writable) and stops with one error line, before it claims
anything, if the store cannot be used. Once running, it rides out outages of the store
(`runtime/outage.py`): it backs off, logs one line when the store goes away and one when
it is back, and carries on; only a fault that waiting cannot fix stops it.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Mapping

from statewright.engine import AuditEntry, Engine
from statewright.errors import ConfigError, StatewrightError, VersionConflict, WorkGone
from statewright.runtime.clock_skew import check_clock
from statewright.runtime.cron import Schedule
from statewright.runtime.outage import Outage, is_transient, through
from statewright.runtime.outbox import OUTBOX_LEASE_MS, Listener, OutboxDelivery, check_pattern
from statewright.runtime.outbox_retry import outbox_policy
from statewright.runtime.presence import Presence
from statewright.runtime.retry import RetryPolicy
from statewright.runtime.schedules import ScheduleRunner
from statewright.runtime.steps import (
    DEFAULT_BATCH,
    DEFAULT_CONCURRENCY,
    DEFAULT_LEASE_MS,
    StepRunner,
)
from statewright.runtime.webhooks import DEFAULT_DEADLINE_S, DEFAULT_KEEPALIVE_S, Webhook
from statewright.store.records import TimerRecord
from statewright.store.url import redact_url

__all__ = ["TIMER_LEASE_MS", "Worker"]

#: How long a claimed due timer is a worker's before another may fire it (if the first died):
#: a claim is held only while its transition commits, so a few seconds is plenty.
TIMER_LEASE_MS = 5_000
#: The shortest wait when the work due now is held by other workers (their claims).
_HELD_WAIT_MS = 50
#: How often a sleeping worker looks at its stop flag (SIGTERM, SIGINT, `stop`).
_STOP_CHECK_MS = 200

log = logging.getLogger("statewright.worker")


class Worker:
    """Runs due work for one engine."""

    def __init__(
        self,
        engine: Engine,
        *,
        batch: int = DEFAULT_BATCH,
        step_lease_ms: int = DEFAULT_LEASE_MS,
        timer_lease_ms: int = TIMER_LEASE_MS,
        concurrency: int = DEFAULT_CONCURRENCY,
        outbox_lease_ms: int = OUTBOX_LEASE_MS,
        outbox_retry: RetryPolicy | Mapping[str, object] | None = None,
        lease_ms: int | None = None,
    ) -> None:
        """Work for `engine`: claim up to `batch` timers or messages at once (their results
        committed together), run up to `concurrency` steps at the same time (1: one after
        the other, deterministic; a batch of steps claims only as many as can start),
        holding each claimed step run for `step_lease_ms` (renewed while it runs), each
        claimed timer for `timer_lease_ms` (while its transition commits) and each claimed
        outbox message for `outbox_lease_ms` (renewed while its listeners run; a webhook's
        deadline must be shorter): a dead worker's work is taken over after that long. `lease_ms` is
        the older name of `step_lease_ms`.

        `outbox_retry` is how failed deliveries are retried, a `RetryPolicy` or its
        configuration as a step's `retry` is written (`{"attempts": 5, "nonRetryable":
        ["AddressRejected"]}`: a listener raising that error type is dead-lettered at once);
        the keys left out keep `OUTBOX_DEFAULT`'s values (10 attempts over about 85 minutes).

        Raises:
            ConfigError: `batch` or `concurrency` below 1, or a lease of 0 ms or less (a
                lease that ends at once would let another worker take a step that runs), or
                an `outbox_retry` key unknown or its value wrong.
        """
        step_lease_ms = step_lease_ms if lease_ms is None else lease_ms
        _check_options(  # (OutboxDelivery checks outbox_lease_ms)
            batch=(batch, DEFAULT_BATCH),
            concurrency=(concurrency, DEFAULT_CONCURRENCY),
            step_lease_ms=(step_lease_ms, DEFAULT_LEASE_MS),
            timer_lease_ms=(timer_lease_ms, TIMER_LEASE_MS),
        )
        self.engine = engine
        self.batch = batch
        self.lease_ms = step_lease_ms
        self.timer_lease_ms = timer_lease_ms
        self.steps = StepRunner(
            engine, lease_ms=self.lease_ms, batch=batch, concurrency=concurrency
        )
        self.outbox = OutboxDelivery(
            engine,
            outbox_policy(outbox_retry, where="outbox_retry"),
            lease_ms=outbox_lease_ms,
        )
        self.schedules = ScheduleRunner(engine)
        # Advertises what this worker provides while `run` runs (runtime/presence.py).
        self.presence = Presence(
            engine, lambda: self.outbox.patterns, schedules=self.schedules.specs
        )
        self._outage: Outage | None = None  # while `run` runs
        # While `run` runs: set to wake the other loop (step results, which may create its
        # work). The step loop is woken by `self.steps.wake()` (a wake-up from the store,
        # timers that fired), also in the middle of a batch.
        self._due_wake = threading.Event()

    def schedule(self, schedule: Schedule | Mapping[str, object]) -> Schedule:
        """Run a cron schedule (a `Schedule` or its configuration) on this worker."""
        return self.schedules.add(schedule)

    def listen(self, pattern: str, listener: Listener, *, deadline_s: float | None = None) -> None:
        """Deliver outbox messages whose event type matches `pattern` to `listener`. The
        worker claims only messages its patterns match; `message.engine` is this worker's
        engine, for listeners that react with `send` or `start`.

        A call that does not return within `deadline_s` seconds (default: the listener's own
        `deadline_s` attribute, else the outbox policy's timeout, 30 s) fails the delivery
        with `ListenerTimeout`: retried with backoff, then dead-lettered. The call itself
        cannot be stopped; it is abandoned on its thread (`runtime/outbox.py`).

        Raises:
            ConfigError: `pattern` can match no event type (empty, spaces around it, a `*`
                elsewhere than the whole pattern or its last part after a dot: valid are
                `"order.shipped"`, `"order.*"` and `"*"`); `listener` is not callable with
                one message; `deadline_s` is not above 0, or not shorter than
                `outbox_lease_ms`.
        """
        self.outbox.listen(pattern, listener, deadline_s=deadline_s)

    def webhook(
        self,
        pattern: str,
        url: str,
        secret: str,
        *,
        deadline_s: float = DEFAULT_DEADLINE_S,
        keepalive_s: float = DEFAULT_KEEPALIVE_S,
    ) -> None:
        """POST outbox messages matching `pattern` to `url`, signed with `secret`; a delivery
        not answered 2xx within `deadline_s` seconds (connect to answer) fails and is retried.
        The connection is kept for the next delivery while idle up to `keepalive_s` seconds
        (0: a connection per delivery), and closed with the worker.

        Raises:
            ConfigError: `pattern` can match no event type (as for `listen`); `url` is not an
                http:// or https:// URL with a host; `secret` is empty (signatures anyone
                could forge); `deadline_s` is not above 0, or not shorter than
                `outbox_lease_ms`; `keepalive_s` is below 0.
        """
        check_pattern(pattern)
        webhook = Webhook(url, secret, deadline_s=deadline_s, keepalive_s=keepalive_s)
        try:
            self.outbox.listen(pattern, webhook)
        except ConfigError:
            webhook.close()
            raise

    def check(self) -> None:
        """The check `run` makes before it claims anything: the store is intact, writable
        and at this version's schema (`Store.check`). Call it before `run_once` to stop on
        such a store before any work is claimed.

        Raises:
            StoreError: a damaged or read-only file, or not statewright's.
            SchemaOutOfDate: the schema is not this version's.
            StoreUnavailable: the store cannot be reached for now.
            StoreError: also this host's clock 2 s or more off the PostgreSQL server's
                (`clock_skew.py`).
        """
        self.engine.store.check()
        check_clock(self.engine)

    def run_once(self) -> int:
        """Drain the work due now, in rounds: each round fires one batch of due timers, runs
        one batch of due steps, runs the due schedule ticks and delivers one batch of due
        outbox messages, until a round finds nothing (work that falls due meanwhile, such
        as the steps results start, is taken in a later round). A steady stream of steps
        therefore never keeps due timers waiting for more than a round. Returns how many
        units of work ran."""
        done = 0
        failed_timers: set[tuple[str, str, str, int]] = set()
        while True:
            ran, _ = self._round(failed_timers)
            done += ran
            if ran == 0:
                return done

    def close(self) -> None:
        """Stop and join the threads `run_once` left: those that run steps (a step that timed
        out and was abandoned finishes on its own), the outbox's claim keeper and listener
        thread, and its webhooks' (the kept connections and their sweeper, and the HTTP
        deadlines' clock once no delivery uses it). `run` does all this itself when it ends;
        a later `run_once` starts new ones. The engine stays open: it is the caller's."""
        self.steps.close()
        self._close_deliveries()

    def _close_deliveries(self) -> None:
        self.outbox.close()
        for listener in self.outbox.listeners:
            if isinstance(listener, Webhook):
                listener.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, *, poll_ms: int = 1000, stop: threading.Event | None = None) -> None:
        """Work until stopped: by SIGTERM or SIGINT (in the main thread), or by `stop`.

        Steps run on a thread of their own (`statewright-steps`), beside the calling thread,
        which fires timers, runs ticks and delivers messages: a long step holds none of
        them up, nor they a step. Each loop takes its next batch at once while the last one
        came back full or ran something; otherwise it waits for a wake-up or its next due
        time. Only the calling thread waits on the store's wake-ups: on PostgreSQL one idle
        worker listens at a time (store/postgres/listener.py), so a trickle of work is taken
        by one worker in batches, not in ones by every worker. It passes each wake-up on to
        the step loop (which claims for its free slots at once, also in the middle of a
        batch), which also wakes at its next due step and at its poll.

        Both loops ride out an outage of the store together (one pair of log lines); a fault
        that waiting cannot fix on either stops both, and is raised here. On a stop the step
        loop claims nothing more and lets the steps in hand end; `run` returns once both
        loops have ended, with `stop` set.
        """
        stop = stop or threading.Event()
        restore = _on_signals(stop)
        store = self.engine.store
        outage = Outage(redact_url(store.url), stop)
        self.steps.outage = self.outbox.outage = self._outage = outage
        self.steps.stop = stop
        self.steps.poll_s = poll_ms / 1000
        self.steps.on_results = self._due_wake.set  # results may have created its work
        self.steps.woken.clear()
        self._due_wake.clear()
        faults: list[BaseException] = []  # what stopped the step loop, if anything
        steps = threading.Thread(
            target=self._step_loop,
            args=(poll_ms, stop, outage, faults),
            name="statewright-steps",
            daemon=True,
        )
        try:
            fault: BaseException | None = None
            try:
                outage.call(self.check)  # before anything is claimed; waits out an outage
                log.info("worker started on %s", outage.store)
                self.presence.start()
                steps.start()
                while not stop.is_set():
                    try:
                        self._turn(poll_ms, stop, outage)
                    except StatewrightError as error:
                        if not is_transient(error):
                            raise
                        outage.failed(error)
            except StatewrightError as error:
                if not (is_transient(error) and stop.is_set()):  # else: stopped in an outage
                    fault = error
            finally:
                stop.set()  # the step loop stops too (also on any other exception)
                if steps.is_alive():
                    steps.join()
            fault = fault or (faults[0] if faults else None)
            if fault is not None:
                if isinstance(fault, StatewrightError):
                    log.error("worker cannot go on: %s", " ".join(str(fault).split()))
                raise fault
        finally:
            restore()
            self.presence.stop()
            self.steps.outage = self.outbox.outage = self._outage = None
            self.steps.stop = None
            self.steps.poll_s = None
            self.steps.on_results = None
            self.steps.woken.clear()
            self.steps.close()
            self._close_deliveries()
            log.info("worker stopped")

    def _step_loop(
        self, poll_ms: int, stop: threading.Event, outage: Outage, faults: list[BaseException]
    ) -> None:
        """`run`'s step loop, on its own thread: a batch of steps (claimed as slots free
        up and on wake-ups, with no cap on its runs in all), again at once while batches
        run something, else a wait (`_wait_for_steps`).
        An outage is waited out; a fault is kept in `faults` and stops the worker."""
        try:
            claim = True
            while not stop.is_set():
                try:
                    if claim:
                        self.steps.woken.clear()
                        ran = self.steps.run_batch(endless=True)
                        outage.ok()
                        if ran:
                            self._due_wake.set()  # its results may have created timers etc.
                            continue
                    claim = self._wait_for_steps(poll_ms, stop, claimed=claim)
                except StatewrightError as error:
                    if not is_transient(error) or stop.is_set():
                        raise
                    outage.failed(error)
                    claim = True
        except StatewrightError as error:
            if not (is_transient(error) and stop.is_set()):
                faults.append(error)
        except BaseException as error:  # a defect: it stops the worker, raised by `run`
            faults.append(error)
        finally:
            stop.set()

    def _wait_for_steps(self, poll_ms: int, stop: threading.Event, *, claimed: bool) -> bool:
        """The step loop's sleep: until the next due step run (read from the store where
        this worker listens, as `_wait` does), a wake-up passed on by the other loop, `stop`,
        or `poll_ms` at the latest. Returns whether to claim steps now. A step due now is
        claimed at once, unless the claim just made (`claimed`) found nothing: then it is
        another worker's for now, or no slot is free, and is looked at again shortly."""
        store = self.engine.store
        wait_ms, claim = poll_ms, True
        if store.listening:
            due = store.next_work_at(
                outbox=False, timers=False, srcs=sorted(self.engine.registry.actor_sources())
            )
            if due is None:
                claim = False  # nothing stored to claim: look again at the poll
            else:
                delay = due - self.engine.clock.now()
                if delay <= 0 and not claimed:
                    return True
                wait_ms = max(_HELD_WAIT_MS, min(poll_ms, delay))
                claim = delay <= poll_ms
        deadline = time.monotonic() + wait_ms / 1000
        while not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return claim
            if self.steps.woken.wait(min(remaining, _STOP_CHECK_MS / 1000)):
                return True
        return False

    def _turn(self, poll_ms: int, stop: threading.Event, outage: Outage) -> None:
        """`run`'s other loop: one round of timers, ticks and messages (the steps run on
        their own thread), then, unless more is due, a wait for a wake-up, which is passed
        on to the step loop."""
        ran, more = self._round(set(), steps=False)
        outage.ok()
        if ran:
            self.steps.wake()  # e.g. a fired timer started a step
        if more or stop.is_set():
            return
        if ran and self.engine.store.wait_for_work(0):
            self.steps.wake()
            return  # woken already, e.g. by the work this round's results started
        if self._wait(poll_ms, stop, worked=ran > 0, steps=False, wake=self._due_wake):
            self.steps.wake()

    def _round(
        self, failed_timers: set[tuple[str, str, str, int]], *, steps: bool = True
    ) -> tuple[int, bool]:
        """One batch of each kind of due work (with `steps`, also of steps: `run_once`):
        how many units ran, and whether a batch came back full (so that more is probably
        due)."""
        fired, claimed = self._fire_timer_batch(failed_timers)
        stepped = self.steps.run_batch() if steps else 0
        ran = fired + stepped + self.schedules.run_due()
        delivered = 0
        if self.outbox.active:
            delivered = self.outbox.deliver_due(
                self.engine.store, self.engine.clock.now(), self.batch
            )
        full = max(claimed, stepped, delivered) >= self.batch
        return ran + delivered, full

    def _wait(
        self,
        poll_ms: int,
        stop: threading.Event,
        *,
        worked: bool = False,
        steps: bool = True,
        wake: threading.Event | None = None,
    ) -> bool:
        """Sleep until the next known due time (stored work: timers, messages and, with
        `steps`, step runs; or a tick of this worker's schedules), a wake-up from another
        process's commit, `wake` (set by the step loop), `stop`, or `poll_ms` at the latest
        (wake-ups are best-effort). The sleep is taken in slices of at most
        `_STOP_CHECK_MS`, so that a stop is seen within one. After a round that `worked`,
        work already due is taken at once. Returns whether a wake-up from the store ended
        it."""
        store = self.engine.store
        wait_ms = poll_ms
        # An idle worker that is not listening waits for its turn (or its poll), not for the
        # next due time of the stored work: the listening one wakes for that. The ticks of
        # its own schedules (which other workers may not run) it waits for itself.
        due = (
            store.next_work_at(
                outbox=self.outbox.active,
                outbox_types=self.outbox.patterns,
                srcs=sorted(self.engine.registry.actor_sources()),
                steps=steps,
            )
            if store.listening
            else None
        )
        tick = self.schedules.next_at
        if tick is not None and (due is None or tick < due):
            due = tick
        if due is not None:
            if worked and due <= self.engine.clock.now():
                return False  # e.g. a timer that fell due during the round
            # Work due now that a round found nothing of is another worker's for now.
            wait_ms = max(_HELD_WAIT_MS, min(poll_ms, due - self.engine.clock.now()))
        deadline = time.monotonic() + min(wait_ms, poll_ms) / 1000
        while not stop.is_set():
            if wake is not None and wake.is_set():
                wake.clear()
                return False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            slice_s = min(remaining, _STOP_CHECK_MS / 1000)
            if store.wait_for_work(slice_s):
                return True  # woken: new work
        return False

    def _fire_timer_batch(self, failed: set[tuple[str, str, str, int]]) -> tuple[int, int]:
        """Fire one batch of due timers, skipping those in `failed` (their guard or action
        raised earlier in this pass; added to it here); how many fired, of how many claimed."""
        claimed = self.engine.store.claim_timers(
            self.engine.clock.now(), self.timer_lease_ms, self.batch
        )
        due = [timer for timer in claimed if _timer_key(timer) not in failed]
        fired = 0
        # Claimed timers are fired through an outage (their lease permitting), rather than
        # left to wait out their lease: a timer fired meanwhile elsewhere is `WorkGone`.
        outcomes = through(self._outage, lambda: self.engine.fire_timers(due)) if due else []
        for timer, outcome in zip(due, outcomes, strict=True):
            if isinstance(outcome, AuditEntry):
                fired += 1
                late_ms = max(0, outcome.at - timer.due_at)
                log.info(
                    "timer fired: %s (tenant %s) %s, version %s, %s ms late",
                    timer.instance_id,
                    timer.tenant,
                    timer.timer_id,
                    outcome.version,
                    late_ms,
                    extra={
                        "kind": "timer_fired",
                        "instance_id": timer.instance_id,
                        "tenant": timer.tenant,
                        "timer_id": timer.timer_id,
                        "version": outcome.version,
                        "late_ms": late_ms,
                    },
                )
            elif is_transient(outcome):
                raise outcome  # the store went away mid-batch: the worker backs off
            elif isinstance(outcome, WorkGone | VersionConflict):
                # Fired by another worker, cancelled, or the instance kept moving: the next
                # batch reads what is left.
                continue
            else:
                # A guard or action raised: the timer stays, claimed; after its lease it is
                # due again (and not retried in this pass).
                failed.add(_timer_key(timer))
                log.warning(
                    "timer %s of %s/%s not fired: %s",
                    timer.timer_id,
                    timer.tenant,
                    timer.instance_id,
                    outcome,
                )
        return fired, len(claimed)


def _timer_key(timer: TimerRecord) -> tuple[str, str, str, int]:
    return (timer.tenant, timer.instance_id, timer.timer_id, timer.created_seq)


def _on_signals(stop: threading.Event) -> Callable[[], None]:
    """Set `stop` on SIGTERM/SIGINT while the worker runs; returns how to undo that."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def handle(signum: int, frame: object) -> None:
        log.info("signal %s: finishing the current work, then stopping", signum)
        stop.set()

    for sig in previous:
        signal.signal(sig, handle)

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore


def _check_options(**options: tuple[int, int]) -> None:
    """Refuse a count below 1 (`batch`, `concurrency`) or a lease below 1 ms, naming the
    option and its default (each given as (value, default))."""
    for name, (value, default) in options.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            unit = " of milliseconds" if name.endswith("_ms") else ""
            raise ConfigError(
                f"{name} must be a whole number{unit}, at least 1, not {value!r}; "
                f"the default is {default}"
            )
