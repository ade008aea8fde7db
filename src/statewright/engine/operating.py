"""What operators and outside callers do to instances beside sending events: see what an
instance accepts now, cancel it, retry a waiting step now, and read a tenant's step runs,
timers and dead letters (and redrive those). Every call is scoped to one tenant: another
tenant's instance is `NotFound`, never visible.
"""

from __future__ import annotations

import builtins
import functools
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from statewright.chart import Snapshot
from statewright.chart.accepting import accepted_transitions
from statewright.chart.macrostep import run_macrostep
from statewright.engine.conflicts import SEND_ATTEMPTS, conflict_pause_s, kept_moving
from statewright.engine.cursor import decode_cursor, encode_cursor
from statewright.engine.deciding import DEFAULT_TENANT, Deciding
from statewright.engine.heads import Head
from statewright.engine.payload import check_choice, check_id, check_version, event_json
from statewright.engine.retrying import refusal
from statewright.engine.views import AuditEntry
from statewright.engine.work_views import (
    Accepted,
    AcceptedEvent,
    DeadLetter,
    Page,
    PendingTimer,
    StepRun,
)
from statewright.engine.writes import build_write
from statewright.errors import (
    AsOfAhead,
    InstanceNotActive,
    NotFound,
    PayloadError,
    StatewrightError,
    StepNotRetryable,
    StoreUnavailable,
    VersionConflict,
)
from statewright.store.stream import StreamMarker

if TYPE_CHECKING:
    from statewright.store.protocol import Store

__all__ = ["STEP_STATUSES", "Operating", "accepted_of"]

T = TypeVar("T")

#: The most items one page holds.
MAX_PAGE = 1000
#: An unfinished step run's statuses: the values of the `steps` filter.
STEP_STATUSES = ("pending", "running", "retrying")


class Operating(Deciding):
    """`accepted`, `cancel`, `retry_step`, `steps`, `timers`, `dead_letters`, `redrive`."""

    def accepted(self, instance_id: str, *, tenant: str = DEFAULT_TENANT) -> Accepted:
        """The events the instance accepts now: each event type (or wildcard descriptor)
        some transition of its active states takes, whether guards decide it (they may
        still refuse a given payload), the roles that may send it, where it leads, and the
        JSON Schema its fields must fit, if the definition declares one.
        An instance that is not active accepts nothing.

        Raises:
            NotFound: no such instance in this tenant.
        """
        record = self._load(tenant, instance_id)
        machine = self.registry.machine(record.definition_id, record.definition_version)
        snapshot = Snapshot.from_json(machine, json.loads(record.snapshot))
        return accepted_of(
            snapshot, tenant=record.tenant, instance_id=record.id, version=record.version
        )

    def cancel(
        self,
        instance_id: str,
        *,
        tenant: str = DEFAULT_TENANT,
        reason: str | None = None,
        actor: str | None = None,
        expected_version: int | None = None,
    ) -> AuditEntry:
        """Stop the instance: status `stopped`, its pending timers and step runs deleted in
        the same transaction (a step running now finds its result discarded), and an audit
        row of the event `{"type": "xstate.stop", "reason": ...}` by `actor`. Outbox
        messages already emitted are still delivered. `verify` replays it as XState stops an
        actor.

        Raises:
            NotFound: no such instance in this tenant.
            InstanceNotActive: it is done, stopped or in error already; nothing changed.
            VersionConflict: `expected_version` is stale, or other writers kept winning.
            PayloadError: a malformed id or actor, or a reason that is too large.
        """
        check_id(tenant, "tenant")
        check_id(instance_id, "instance id")
        if actor is not None:
            check_id(actor, "actor")
        if expected_version is not None:
            check_version(expected_version, "expected_version")
        event: dict[str, object] = {"type": "xstate.stop"}
        if reason is not None:
            event["reason"] = reason
        text = event_json(event, self.max_event_bytes, "the cancel reason")
        lost = 0
        while True:
            record = self._fetch(tenant, instance_id)
            if record.status != "active":
                raise InstanceNotActive(
                    f"{instance_id} is {record.status} already (version {record.version}): "
                    "there is nothing to cancel, and nothing was changed",
                    instance_id=instance_id,
                    status=record.status,
                    version=record.version,
                )
            if expected_version is not None and expected_version != record.version:
                raise VersionConflict(
                    f"{instance_id} changed under you (expected version {expected_version}, "
                    f"found {record.version}); reload it and cancel again if still right",
                    instance_id=instance_id,
                    expected=expected_version,
                    found=record.version,
                )
            machine = self.registry.machine(record.definition_id, record.definition_version)
            before = Snapshot.from_json(machine, json.loads(record.snapshot))
            # Stopping runs no guard or action: no implementation is needed here.
            step = run_macrostep(machine, before, event)
            write, parts = build_write(
                tenant=tenant,
                instance_id=instance_id,
                definition_id=record.definition_id,
                definition_version=record.definition_version,
                machine=machine,
                expected_version=record.version,
                step=step,
                event_text=text,
                actor=actor,
                now=self.clock.now(),
                from_value=record.value,
                idempotency=None,
            )
            try:
                self.store.commit_transition(write)
            except VersionConflict as conflict:
                self._heads.drop(tenant, instance_id)
                lost += 1
                if expected_version is not None:
                    raise
                if lost >= SEND_ATTEMPTS:
                    raise kept_moving(conflict, lost) from conflict
                time.sleep(conflict_pause_s(lost))
                continue
            self._heads.put(Head.after(write), parts.parsed)
            return AuditEntry(
                tenant=tenant,
                instance_id=instance_id,
                seq=write.audit.seq,
                event=event,
                actor=actor,
                from_value=before.value,
                to_value=parts.to_value,
                status=write.audit.status,
                runtime_status=write.audit.runtime_status,
                at=write.audit.at,
                idempotency_key=None,
                microsteps=parts.microsteps,
                effects=parts.effects,
            )

    def retry_step(
        self, instance_id: str, invoke_id: str | None = None, *, tenant: str = DEFAULT_TENANT
    ) -> builtins.list[StepRun]:
        """Make a step run that waits for its next attempt due now: a worker that provides
        it takes it at once (its retry policy and attempt count are unchanged). Without
        `invoke_id`, every step of the instance that waits for a retry.

        Returns:
            The runs made due, as they now stand.

        Raises:
            NotFound: no such instance in this tenant.
            StepNotRetryable: the step is running, pending (due already), finished, gave up,
                or there is no such step, or none waits; `.reason` says which, the message
                says what to do. Nothing was changed.
        """
        record = self._load(tenant, instance_id)
        if invoke_id is not None:
            check_id(invoke_id, "invoke id")
        now = self.clock.now()
        for _ in range(SEND_ATTEMPTS):
            steps = self.store.steps(tenant, instance_id)
            chosen = [s for s in steps if invoke_id is None or s.invoke_id == invoke_id]
            waiting = [s for s in chosen if s.status == "retrying"]
            if not waiting or (invoke_id is not None and len(chosen) != 1):
                accepts = functools.partial(self._accepted_types, instance_id, tenant)
                raise refusal(self.store, record, invoke_id, chosen, steps, now, accepts)
            if all(self.store.retry_step_now(step, now) for step in waiting):
                made = {s.invoke_id for s in waiting}
                fresh = self.store.steps(tenant, instance_id)
                return [StepRun.from_record(s) for s in fresh if s.invoke_id in made]
            record = self._fetch(tenant, instance_id)  # a worker claimed one meanwhile
        raise StepNotRetryable(
            f"{instance_id}: its steps kept changing while being retried; look again with "
            f'"statewright show {instance_id}" and retry if one still waits',
            instance_id=instance_id,
            invoke_id=invoke_id,
            reason="running",
        )

    def _accepted_types(self, instance_id: str, tenant: str) -> builtins.list[str] | None:
        """The event types the instance accepts now, for a refusal's fix; None if they
        cannot be told here (its definition is not registered in this process)."""
        try:
            return [event.type for event in self.accepted(instance_id, tenant=tenant).events]
        except StatewrightError:
            return None

    def steps(
        self,
        instance_id: str | None = None,
        *,
        tenant: str = DEFAULT_TENANT,
        status: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> Page[StepRun]:
        """The unfinished step runs of an instance, or of the whole tenant, by (instance id,
        invoke id): their status, attempts, last error and next attempt.

        Raises:
            NotFound: `instance_id` is not an instance of this tenant.
            PayloadError: a malformed filter, or a cursor another list gave.
        """
        check_choice(status, "step status", STEP_STATUSES)
        filters = self._scope(tenant, instance_id, status=status)
        size = _page_size(limit)
        after = _key_after(cursor, "steps", filters)
        rows = self.store.list_steps(
            tenant, instance_id=instance_id, status=status, after=after, limit=size + 1
        )
        runs = [StepRun.from_record(row) for row in rows]
        return _page(runs, size, "steps", filters, lambda r: [r.instance_id, r.invoke_id])

    def timers(
        self,
        instance_id: str | None = None,
        *,
        tenant: str = DEFAULT_TENANT,
        cursor: str | None = None,
        limit: int = 100,
    ) -> Page[PendingTimer]:
        """The pending timers of an instance, or of the whole tenant, by (instance id, timer
        id), with their due times.

        Raises:
            NotFound: `instance_id` is not an instance of this tenant.
            PayloadError: a malformed filter, or a cursor another list gave.
        """
        filters = self._scope(tenant, instance_id)
        size = _page_size(limit)
        after = _key_after(cursor, "timers", filters)
        rows = self.store.list_timers(tenant, instance_id=instance_id, after=after, limit=size + 1)
        timers = [PendingTimer.from_record(row) for row in rows]
        return _page(timers, size, "timers", filters, lambda t: [t.instance_id, t.timer_id])

    def dead_letters(
        self,
        *,
        tenant: str = DEFAULT_TENANT,
        instance_id: str | None = None,
        event_type: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> Page[DeadLetter]:
        """The tenant's dead-lettered outbox messages (of one instance, of one event type),
        by message id.

        Raises:
            PayloadError: a malformed filter, or a cursor another list gave.
        """
        filters = self._scope(tenant, None, instance_id=instance_id, event_type=event_type)
        size = _page_size(limit)
        after = _key_after(cursor, "dead_letters", filters)
        rows = self.store.list_dead_letters(
            tenant,
            instance_id=instance_id,
            event_type=event_type,
            after_id=None if after is None else after[0],
            limit=size + 1,
        )
        letters = [DeadLetter.from_record(row) for row in rows]
        return _page(letters, size, "dead_letters", filters, lambda d: [d.message_id])

    def dead_letter_horizon(self, *, timeout_s: float = 10.0) -> int:
        """The position every dead letter so far is at or before: a letter dead-lettered
        later is after it. A redrive's dry run returns it as `as_of`, and `redrive(...,
        as_of=)` then acts on the letters dead at that moment only.

        On PostgreSQL a transaction writing to the outbox when the position was read (one
        that may be dead-lettering a message with a number below it) is waited for, at
        most `timeout_s`; on SQLite nothing is ever in flight.

        Raises:
            StoreUnavailable: such a transaction is still running after `timeout_s`.
        """
        return settled(self.store, self.store.dead_letter_marker(), timeout_s, "the outbox")

    def redrive(
        self,
        message_id: str | None = None,
        *,
        tenant: str = DEFAULT_TENANT,
        instance_id: str | None = None,
        event_type: str | None = None,
        dry_run: bool = False,
        as_of: int | None = None,
    ) -> int:
        """Put dead letters back to be delivered now, attempts reset: the one `message_id`
        names, or every one of the tenant the filters match (all of them with none). With
        `dry_run`, only count them. With `as_of` (a `dead_letter_horizon()` taken when they
        were counted), only the letters that were dead then and still are: one dead-lettered
        since is left alone, so that a redrive does what its dry run counted, less what left
        the dead letters meanwhile (redriven by someone else).

        Returns:
            How many were (or, with `dry_run`, would be) redriven.

        Raises:
            NotFound: `message_id` names no dead letter of this tenant (the message says if
                it is pending or delivered instead).
            PayloadError: a malformed filter; `as_of` with `message_id`, negative, or past
                the dead letters' current position (not one a dry run returned).
        """
        self._scope(tenant, None, message_id=message_id, instance_id=instance_id)
        if event_type is not None:
            check_id(event_type, "event type")
        if as_of is not None:
            self._check_as_of(as_of, message_id)
        filters = {"instance_id": instance_id, "event_type": event_type, "message_id": message_id}
        if dry_run or message_id is not None:
            count = 0
            after: str | None = None
            while True:
                page = self.store.list_dead_letters(
                    tenant, after_id=after, through=as_of, limit=MAX_PAGE, **filters
                )
                count += len(page)
                if len(page) < MAX_PAGE:
                    break
                after = page[-1].message_id
            if message_id is not None and count == 0:
                raise NotFound(_not_dead(self, tenant, message_id))
            if dry_run:
                return count
        return self.store.redrive_dead_letters(tenant, self.clock.now(), through=as_of, **filters)

    def _check_as_of(self, as_of: int, message_id: str | None) -> None:
        if message_id is not None:
            raise PayloadError(
                f"as_of is for a redrive by filter or of all; {message_id!r} names one dead "
                "letter already: leave as_of out"
            )
        if isinstance(as_of, bool) or not isinstance(as_of, int) or as_of < 0:
            raise PayloadError(
                f"as_of {as_of!r} is no position: pass the whole number >= 0 a dry run "
                'returned ("dry_run": true)'
            )
        drawn = self.store.dead_letter_marker().seq
        if as_of > drawn:
            raise AsOfAhead(
                f"as_of {as_of} is past the dead letters' current position {drawn}: pass the "
                'as_of a dry run returned ("dry_run": true), or leave it out for every letter '
                "dead now",
                as_of=as_of,
                position=drawn,
            )

    def _scope(self, tenant: str, owner: str | None, **filters: str | None) -> dict[str, object]:
        """Check the tenant and filters (and that the instance `owner` is this tenant's);
        the filters as a cursor's digest covers them."""
        check_id(tenant, "tenant")
        for name, value in filters.items():
            if value is not None:
                check_id(value, name.replace("_", " "))
        if owner is not None:
            self._load(tenant, owner)
            filters["instance_id"] = owner
        return {"tenant": tenant, **filters}


def settled(store: Store, marker: StreamMarker, timeout_s: float, table: str) -> int:
    """`marker`'s position, once every transaction it saw writing to `table` has ended (at
    once without any: SQLite), so that every row numbered up to it is committed.

    Raises:
        StoreUnavailable: one is still running after `timeout_s`.
    """
    if marker.pending is None:
        return marker.seq
    deadline = time.monotonic() + timeout_s
    pause = 0.001
    while not store.stream_settled(marker.pending):
        if time.monotonic() >= deadline:
            raise StoreUnavailable(
                f"a transaction writing to {table} has run for more than {timeout_s:g} s, so "
                "what matches cannot be counted exactly; try again once it ends"
            )
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
    return marker.seq


def _page_size(limit: int) -> int:
    return max(1, min(int(limit), MAX_PAGE))


def _key_after(cursor: str | None, kind: str, filters: dict[str, object]) -> tuple[str, str] | None:
    if cursor is None:
        return None
    size = 1 if kind == "dead_letters" else 2
    key = decode_cursor(cursor, kind, filters, size)
    return (key[0], key[-1])


def _page(
    items: builtins.list[T],
    size: int,
    kind: str,
    filters: dict[str, object],
    key_of: Callable[[T], builtins.list[str]],
) -> Page[T]:
    """The first `size` items (one more was read to know if a next page exists)."""
    if len(items) <= size:
        return Page(items)
    kept = items[:size]
    return Page(kept, encode_cursor(kind, filters, key_of(kept[-1])))


def _not_dead(operating: Operating, tenant: str, message_id: str) -> str:
    """Why a redrive of `message_id` finds no dead letter: which status it has, if any."""
    parts = message_id.split("/")
    if len(parts) >= 2 and parts[0] == tenant:
        for message in operating.store.outbox(tenant, "/".join(parts[1:-2])):
            if message.message_id == message_id:
                return (
                    f"outbox message {message_id!r} is {message.status}, not dead: only a "
                    'dead letter can be redriven (list them with "statewright dead-letters")'
                )
    return (
        f"no dead letter {message_id!r} in tenant {tenant!r}; list them with "
        '"statewright dead-letters"'
    )


def accepted_of(snapshot: Snapshot, *, tenant: str, instance_id: str, version: int) -> Accepted:
    """What an instance whose snapshot is `snapshot` accepts (see `Operating.accepted`), for
    a caller that holds the instance already."""
    events = []
    for descriptor, transitions in accepted_transitions(snapshot):
        open_to_all = any(t.roles is None for t in transitions)
        roles = {role: None for t in transitions for role in t.roles or ()}
        events.append(
            AcceptedEvent(
                type=descriptor,
                wildcard="*" in descriptor,
                guarded=all(t.guard is not None for t in transitions),
                roles=None if open_to_all else tuple(roles),
                targets=tuple(dict.fromkeys(n.id for t in transitions for n in t.targets or ())),
                schema=snapshot.machine.event_schemas.schema_for(descriptor),
            )
        )
    return Accepted(
        tenant=tenant,
        instance_id=instance_id,
        version=version,
        value=snapshot.value,
        status=snapshot.status,
        events=tuple(events),
    )
