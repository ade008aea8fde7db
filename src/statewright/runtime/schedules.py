"""The schedule loop: cron schedules whose every tick runs once across all workers.

A tick is claimed by inserting (schedule name, tick time) (`Store.claim_tick`): exactly one
worker wins it. The winner runs the action and marks the tick done, renewing the claim's
lease while the action runs (`_Hold`); if it dies first, the lease expires and another
worker takes the tick over. A schedule's ticks are claimed
in order, each only once the one before it is done or claimed by the same worker, so the
later ticks of a dead worker's tick wait for its take-over, and every tick before the last
claimed one is done. Actions are idempotent on the
tick, so a take-over never doubles them: an `event` action sends with the idempotency key
`schedule/<name>/<tick>` (instances that do not accept the event are skipped), a `start`
action starts the instance `<name>-<tick>` (already started means done).

A schedule first seen by a worker ticks from then on (no backfill before it existed). After
downtime, its catch-up policy (`Schedule.catch_up`, the configuration's `catchUp`) says which
missed ticks run: "latest" (the default) only the latest of them, a window ("1h") those at
most that old, "all" every one; they run in order, at most `backlog` of them per pass. The
ticks it skips are never claimed: one WARNING line per schedule says how many, from when to
when, and how to run them instead.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping

from statewright.engine import Engine
from statewright.engine.clock import iso_utc
from statewright.engine.cron_ticks import CatchUp, catch_up
from statewright.errors import (
    ConfigError,
    EventNotAccepted,
    IdempotencyConflict,
    InstanceExists,
    StatewrightError,
    TransitionFailed,
)
from statewright.runtime.cron import Schedule, next_tick, parse_schedule
from statewright.runtime.outage import is_transient

__all__ = ["ScheduleRunner"]

log = logging.getLogger("statewright.worker")


class ScheduleRunner:
    """The schedules a worker runs, and one pass over their due ticks."""

    def __init__(self, engine: Engine, *, lease_ms: int = 5 * 60_000, backlog: int = 100):
        self.engine = engine
        self.lease_ms = lease_ms
        self.backlog = backlog
        self._schedules: dict[str, Schedule] = {}
        self._first_seen: dict[str, int] = {}
        #: The last tick of each schedule that its catch-up policy skipped here: the next
        #: pass starts after it, so a skip is logged once.
        self._skipped_to: dict[str, int] = {}
        #: When the next tick falls due, as of the last `run_due` (epoch ms); None before
        #: the first pass and without schedules. What an idle worker waits for, read
        #: without a query: every tick up to that pass was run there (or is another
        #: worker's claim), so the next is the first after it, or at once when the pass
        #: stopped at `backlog`.
        self.next_at: int | None = None

    def add(self, schedule: Schedule | Mapping[str, object]) -> Schedule:
        """Run `schedule` (a `Schedule`, or configuration for `parse_schedule`).

        Raises:
            ConfigError: the configuration is wrong, or this worker runs a schedule of the
                same name already: ticks are claimed by name, so two schedules of one name
                would share (and take each other's) ticks.
        """
        parsed = schedule if isinstance(schedule, Schedule) else parse_schedule(schedule)
        if parsed.name in self._schedules:
            first = self._schedules[parsed.name]
            same = " (the same schedule given twice)" if first == parsed else ""
            raise ConfigError(
                f"schedule {parsed.name!r}: this worker runs a schedule of that name already"
                f"{same} ({first.cron!r} in {first.timezone}); its ticks are claimed by name, "
                f"so give each schedule a name of its own, or drop one"
            )
        self._schedules[parsed.name] = parsed
        now = self.engine.clock.now()
        self._first_seen.setdefault(parsed.name, now)
        tick = next_tick(parsed, now)
        self.next_at = tick if self.next_at is None else min(self.next_at, tick)
        return parsed

    def specs(self) -> list[dict[str, object]]:
        """The schedules run here, as configuration (what the worker advertises)."""
        return [schedule.to_json() for schedule in list(self._schedules.values())]

    def next_due(self) -> int | None:
        """When the earliest tick not yet claimed falls due (epoch ms), or None without
        schedules: what a caller moving time itself (the testing `Harness`) must stop at."""
        store = self.engine.store
        ticks = []
        for name, schedule in self._schedules.items():
            last = store.last_tick(name)
            ticks.append(next_tick(schedule, self._after(name, last)))
        return min(ticks, default=None)

    def _after(self, name: str, last: int | None) -> int:
        """The time after which `name`'s ticks are yet to be claimed or skipped: its last
        claimed tick, its last skipped one, or when this worker first saw it."""
        after = self._first_seen[name] if last is None else last
        return max(after, self._skipped_to.get(name, after))

    def run_due(self) -> int:
        """Claim and run the due ticks its catch-up policy keeps; how many ticks this worker
        ran."""
        ran = 0
        store, now = self.engine.store, self.engine.clock.now()
        next_at: int | None = None
        for name, schedule in self._schedules.items():
            latest = store.last_ticks([name])
            last = latest[0] if latest else None
            # Every tick before the last claimed one is done or was skipped, since a tick is
            # claimed only once the one before it is. The last claimed one, unfinished, is
            # held by another worker (the ticks after it wait for it: claiming past it would
            # leave it behind the last tick, where nothing looks for it again) or was left by
            # a worker that died, and is taken over once its lease ends, however old: its
            # action may have run in part.
            if last is not None and last.status != "done":
                outcome = self._claim_and_run(schedule, last.tick_at, now)
                if outcome is None:
                    due = next_tick(schedule, now)
                    next_at = due if next_at is None else min(next_at, due)
                    continue
                ran += outcome
                if not outcome:
                    continue  # taken over from here while it ran: left to that worker
            plan = catch_up(
                schedule.cron,
                schedule.timezone,
                schedule.catch_up,
                self._after(name, None if last is None else last.tick_at),
                now,
                self.backlog,
            )
            if plan.skipped:
                self._log_skipped(schedule, plan)
            for tick in plan.run:
                outcome = self._claim_and_run(schedule, tick, now)
                if not outcome:
                    break  # held by another worker, or taken over from here
                ran += 1
            due = now if len(plan.run) == self.backlog else next_tick(schedule, now)
            next_at = due if next_at is None else min(next_at, due)
        self.next_at = next_at
        return ran

    def _claim_and_run(self, schedule: Schedule, tick: int, now: int) -> int | None:
        """Claim `tick` and run it: 1 when it ran here, 0 when another worker took it over
        while its action ran here, None when another worker holds it."""
        name = schedule.name
        claims = self.engine.store.claim_tick(name, tick, now, self.lease_ms)
        if claims is None:
            return None
        hold = _Hold(self, name, tick, claims, now)
        try:
            self._run_tick(schedule, tick, hold)
        except _TakenOver:
            log.warning(
                "schedule %s: tick %s taken over by another worker while its "
                "action ran here (its lease of %d ms ran out between renewals): "
                "left to that worker",
                name,
                iso_utc(tick),
                self.lease_ms,
            )
            return 0
        self.engine.store.finish_tick(name, tick)
        return 1

    def _log_skipped(self, schedule: Schedule, plan: CatchUp) -> None:
        """One line for the missed ticks a pass skips (the next pass starts after them)."""
        assert plan.first_skipped is not None and plan.last_skipped is not None
        self._skipped_to[schedule.name] = plan.last_skipped
        count = f"more than {plan.skipped}" if plan.skipped_more else str(plan.skipped)
        noun = "tick" if plan.skipped == 1 and not plan.skipped_more else "ticks"
        if schedule.catch_up == "latest":
            why = 'catchUp "latest", the default: only the latest missed tick runs'
        else:
            why = f'catchUp "{schedule.catch_up}": only the missed ticks at most that old run'
        log.warning(
            "schedule %s: %s missed %s skipped, from %s to %s (%s); to run more of them set "
            '"catchUp" on the schedule to a window such as "1h", or to "all"',
            schedule.name,
            count,
            noun,
            iso_utc(plan.first_skipped),
            iso_utc(plan.last_skipped),
            why,
        )

    def _run_tick(self, schedule: Schedule, tick: int, hold: _Hold) -> None:
        """Run the tick's action; one that the engine refuses is logged and the tick done.

        A `start` of a definition this engine does not have, or whose initial transition
        fails on the input, would fail the same way at every take-over: it must not stop the
        worker (and, a lease later, the next one), nor hold the schedule's later ticks. An
        outage of the store goes on up, leaving the tick claimed for a take-over.
        """
        try:
            self._run(schedule, tick, hold)
        except StatewrightError as error:
            if is_transient(error):
                raise
            log.warning(
                "schedule %s: tick %s not run: %s",
                schedule.name,
                iso_utc(tick),
                " ".join(str(error).split()),
            )

    def _run(self, schedule: Schedule, tick: int, hold: _Hold) -> None:
        action = schedule.action
        tenant = str(action.get("tenant", "default"))
        actor = f"schedule:{schedule.name}"
        if "start" in action:
            with contextlib.suppress(InstanceExists):
                self.engine.start(
                    str(action["start"]),
                    input=action.get("input"),
                    instance_id=f"{schedule.name}-{tick}",
                    tenant=tenant,
                    actor=actor,
                )
            return
        raw_event = action["event"]
        event = {"type": raw_event} if isinstance(raw_event, str) else dict(raw_event)  # type: ignore[call-overload]
        where = action.get("where")
        assert isinstance(where, Mapping)
        after: str | None = None
        while True:
            page = self.engine.list(
                tenant=tenant,
                definition_id=str(where["definition"]),
                status=_text(where.get("status")),
                runtime_status=_text(where.get("runtimeStatus")),
                after=after,
                limit=500,
            )
            for instance in page:
                hold.keep()
                self._send(instance.id, event, tenant, actor, f"schedule/{schedule.name}/{tick}")
            if len(page) < 500:
                return
            after = page[-1].id

    def _send(
        self, instance_id: str, event: dict[str, object], tenant: str, actor: str, key: str
    ) -> None:
        try:
            self.engine.send(instance_id, event, tenant=tenant, actor=actor, idempotency_key=key)
        except (EventNotAccepted, IdempotencyConflict):
            pass
        except TransitionFailed as error:
            log.warning("schedule event to %s/%s refused: %s", tenant, instance_id, error)


class _TakenOver(Exception):
    """The tick being run was taken over by another worker: stop running it here."""


class _Hold:
    """A claimed tick, its lease renewed while its action runs: an event sent to every
    instance of a large fleet can outlast one lease, and the worker taking the tick over
    would run the action again beside this one (its sends keyed on the tick, so no effect
    twice, but every send twice). Renewed every third of a lease, between sends; a renewal
    that finds the tick taken over (this worker stalled past its lease) stops the action
    here, leaving it to that worker."""

    __slots__ = ("_claims", "_name", "_renewed_at", "_runner", "_tick")

    def __init__(self, runner: ScheduleRunner, name: str, tick: int, claims: int, now: int):
        self._runner, self._name, self._tick, self._claims = runner, name, tick, claims
        self._renewed_at = now

    def keep(self) -> None:
        """Renew the lease if a third of it has passed since the claim or the last renewal.

        Raises:
            _TakenOver: another worker holds the tick now.
        """
        runner = self._runner
        now = runner.engine.clock.now()
        if now - self._renewed_at < runner.lease_ms // 3:
            return
        if not runner.engine.store.renew_tick(
            self._name, self._tick, self._claims, now, runner.lease_ms
        ):
            raise _TakenOver
        self._renewed_at = now


def _text(value: object) -> str | None:
    return None if value is None else str(value)
