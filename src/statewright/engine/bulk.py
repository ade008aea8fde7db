"""Bulk operations: one send, cancel or step retry for every instance a filter matches (the
filters of `Engine.list`), or only a count of them (`dry_run`).

Each instance is its own transaction, as if called one by one: one refused (an event it does
not accept, an instance finished meanwhile) is reported and the others go on. The instances
are visited by id, page by page, so one that leaves the filter meanwhile is still visited
once and one that enters it behind the visit is not. A bulk send with an `idempotency_key`
gives each instance the key `<key>/<instance id>`, so that running the same bulk again after a
crash sends nothing twice.

A dry run also returns `as_of`, the live stream's settled position (`bulk_horizon`) taken
before it counts. A bulk given that `as_of` acts only on the instances with no transition
since (the audit row of the version it finds is at or before `as_of`), each sent or
cancelled at that version (a transition in between refuses it: `VersionConflict`). Those
left alone are `changed`. So it acts on no instance the count did not count: one matching
now with no transition since `as_of` matched when counted, since its business state, status
and tags were the same then. (The runtime status also moves without a transition, when a
step attempt fails or is retried: a `runtime_status` filter of `running` or `retrying` can
still take in an instance whose step changed so after the count.)

A dry run (of at most `limit` matches) also says what the operation would do to each match
as it stands: `would_act`, how many it would change, and `would_skip`, those it would leave
alone, counted per reason (`bulk_preview.py`). A bulk send whose event no state of the
matched instances' definitions takes at all is refused up front, dry run or not, naming the
near miss: it would be refused at every instance.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import TypedDict

from statewright.engine.bulk_preview import (
    Skip,
    Skipped,
    check_event_known,
    is_guarded,
    not_active,
    send_skip,
    tally,
)
from statewright.engine.deciding import DEFAULT_TENANT
from statewright.engine.listing import Listing
from statewright.engine.operating import Operating, settled
from statewright.engine.payload import check_id, event_json
from statewright.engine.sending import checked_event
from statewright.engine.views import Instance
from statewright.engine.work import Work
from statewright.errors import AsOfAhead, PayloadError, StatewrightError, VersionConflict

__all__ = ["BULK_LIMIT", "Bulk", "BulkFilters", "BulkResult", "Skipped"]

#: The most instances one bulk call acts on; narrow the filter (or repeat) for more.
BULK_LIMIT = 10_000


class BulkFilters(TypedDict):
    """The filters of a bulk operation (those of `Engine.list`), for `**filters`."""

    definition_id: str | None
    status: str | None
    runtime_status: str | None
    state: str | None
    tag: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class BulkResult:
    """What a bulk operation did: how many instances the filter matched, the ids it acted on,
    and per refused instance its error (`dry_run`: `matched`, the `as_of` to pass to the
    bulk, and what it would do now: `would_act` of them changed, `would_skip` left alone per
    reason, `guarded` of those acted on only if their guards allow; `would_act` is None when
    more match than the limit). Given `as_of`: `changed`, those matching but changed since,
    left alone."""

    matched: int
    done: tuple[str, ...] = ()
    refused: dict[str, StatewrightError] = field(default_factory=dict)
    dry_run: bool = False
    changed: tuple[str, ...] = ()
    as_of: int | None = None
    would_act: int | None = None
    would_skip: tuple[Skipped, ...] = ()
    guarded: int = 0


class Bulk(Work, Operating, Listing):
    """`bulk_send`, `bulk_cancel`, `bulk_retry`."""

    def bulk_send(
        self,
        event: Mapping[str, object] | str,
        *,
        tenant: str = DEFAULT_TENANT,
        actor: str | None = None,
        idempotency_key: str | None = None,
        roles: Collection[str] | None = None,
        dry_run: bool = False,
        as_of: int | None = None,
        limit: int = BULK_LIMIT,
        definition_id: str | None = None,
        status: str | None = None,
        runtime_status: str | None = None,
        state: str | None = None,
        tag: str | None = None,
    ) -> BulkResult:
        """Send `event` to every instance of the tenant the filters match (`definition_id`,
        `status`, `runtime_status`, `state`, `tag`, as `list`). With `roles`, each send
        checks the per-event roles as `send` does (a refusal is reported per instance).

        Raises:
            PayloadError: a malformed filter or event (as `list` and `send`), an event type
                that no state of the matched instances' definitions takes (naming the near
                miss), or more matches than `limit` (nothing is done then).
        """

        # What would refuse the event at every instance refuses the bulk once, up front: a
        # reserved or malformed type, a payload that is no JSON or too large, a type that no
        # definition of the instances matched takes in any state.
        checked = checked_event(event)
        event_json(checked, self.max_event_bytes, "the event")
        event_type = str(checked["type"])
        if actor is not None:
            check_id(actor, "actor")

        def act(instance_id: str, version: int | None) -> None:
            key = None if idempotency_key is None else f"{idempotency_key}/{instance_id}"
            self.send(
                instance_id,
                event,
                tenant=tenant,
                actor=actor,
                idempotency_key=key,
                roles=roles,
                expected_version=version,
            )

        filters: BulkFilters = {
            "definition_id": definition_id,
            "status": status,
            "runtime_status": runtime_status,
            "state": state,
            "tag": tag,
        }

        def preview(instance: Instance) -> tuple[Skip | None, bool]:
            skip = send_skip(instance, event_type, roles)
            return skip, skip is None and is_guarded(instance, event_type)

        def known(definition_ids: builtins.list[str]) -> None:
            versions = {d: self._versions(d) for d in definition_ids}
            check_event_known(versions, event_type)

        return self._bulk(act, tenant, dry_run, as_of, limit, filters, preview, known)

    def bulk_cancel(
        self,
        *,
        tenant: str = DEFAULT_TENANT,
        reason: str | None = None,
        actor: str | None = None,
        dry_run: bool = False,
        as_of: int | None = None,
        limit: int = BULK_LIMIT,
        definition_id: str | None = None,
        status: str | None = None,
        runtime_status: str | None = None,
        state: str | None = None,
        tag: str | None = None,
    ) -> BulkResult:
        """Cancel every instance of the tenant the filters match (see `bulk_send`); finished
        ones are reported as refused (`InstanceNotActive`)."""

        def act(instance_id: str, version: int | None) -> None:
            self.cancel(
                instance_id, tenant=tenant, reason=reason, actor=actor, expected_version=version
            )

        filters: BulkFilters = {
            "definition_id": definition_id,
            "status": status,
            "runtime_status": runtime_status,
            "state": state,
            "tag": tag,
        }

        def preview(instance: Instance) -> tuple[Skip | None, bool]:
            return not_active(instance), False

        return self._bulk(act, tenant, dry_run, as_of, limit, filters, preview)

    def bulk_retry(
        self,
        *,
        tenant: str = DEFAULT_TENANT,
        dry_run: bool = False,
        as_of: int | None = None,
        limit: int = BULK_LIMIT,
        definition_id: str | None = None,
        status: str | None = None,
        runtime_status: str | None = None,
        state: str | None = None,
        tag: str | None = None,
    ) -> BulkResult:
        """Make every waiting step of the instances the filters match due now (see
        `bulk_send`); an instance with none waiting is reported (`StepNotRetryable`)."""

        def act(instance_id: str, version: int | None) -> None:
            self.retry_step(instance_id, tenant=tenant)

        filters: BulkFilters = {
            "definition_id": definition_id,
            "status": status,
            "runtime_status": runtime_status,
            "state": state,
            "tag": tag,
        }

        def preview(instance: Instance) -> tuple[Skip | None, bool]:
            finished = not_active(instance)
            if finished is not None:
                return finished, False
            steps = self.store.steps(tenant, instance.id)
            if any(step.status == "retrying" for step in steps):
                return None, False
            return ("no_waiting_step", "with no step waiting for a retry"), False

        return self._bulk(act, tenant, dry_run, as_of, limit, filters, preview)

    def bulk_horizon(self, *, timeout_s: float = 10.0) -> int:
        """The live stream's position up to which every transition is committed (waiting, on
        PostgreSQL, at most `timeout_s` for those in flight): a bulk's dry run takes it
        before it counts and returns it as `as_of`.

        Raises:
            StoreUnavailable: a transaction in flight still runs after `timeout_s`.
        """
        return settled(self.store, self.store.stream_marker(), timeout_s, "the audit log")

    def _bulk(
        self,
        act: Callable[[str, int | None], None],
        tenant: str,
        dry_run: bool,
        as_of: int | None,
        limit: int,
        filters: BulkFilters,
        preview: Callable[[Instance], tuple[Skip | None, bool]],
        check: Callable[[builtins.list[str]], None] | None = None,
    ) -> BulkResult:
        if as_of is not None:
            _check_as_of(as_of, self.store.stream_marker().seq)
        position = self.bulk_horizon() if dry_run and as_of is None else as_of
        counts = self.count_by_state(tenant=tenant, **filters)
        matched = sum(c.count for c in counts)
        if check is not None:
            given = filters["definition_id"]
            ids = [given] if given is not None else []
            check(builtins.list(dict.fromkeys([*ids, *(c.definition_id for c in counts)])))
        if dry_run:
            if matched > limit:
                return BulkResult(matched=matched, dry_run=True, as_of=position)
            # Counted again as it walks, so that the parts add up to the whole.
            return self._preview(tenant, filters, preview, position)
        if matched > limit:
            raise PayloadError(
                f"the filter matches {matched} instances, more than the limit of {limit} for "
                "one bulk operation; narrow the filter, or raise the limit"
            )
        done: builtins.list[str] = []
        refused: dict[str, StatewrightError] = {}
        changed: builtins.list[str] = []
        cursor: str | None = None
        while True:
            page = self.list(tenant=tenant, cursor=cursor, limit=500, **filters)
            for instance in page:
                version = None
                if as_of is not None:
                    at = self.store.change_position(tenant, instance.id, instance.version)
                    if at is not None and at > as_of:
                        changed.append(instance.id)
                        continue
                    version = instance.version
                try:
                    act(instance.id, version)
                except VersionConflict as error:
                    if as_of is not None:
                        changed.append(instance.id)
                    else:
                        refused[instance.id] = error
                except StatewrightError as error:
                    refused[instance.id] = error
                else:
                    done.append(instance.id)
            if page.next_cursor is None or len(done) + len(refused) + len(changed) >= limit:
                break
            cursor = page.next_cursor
        return BulkResult(
            matched=matched,
            done=tuple(done),
            refused=refused,
            changed=tuple(changed),
            as_of=as_of,
        )

    def _preview(
        self,
        tenant: str,
        filters: BulkFilters,
        preview: Callable[[Instance], tuple[Skip | None, bool]],
        position: int | None,
    ) -> BulkResult:
        """A dry run's answer: what the operation would do to each instance matching now."""
        skips: builtins.list[Skip] = []
        acting = guarded = 0
        cursor: str | None = None
        while True:
            page = self.list(tenant=tenant, cursor=cursor, limit=500, **filters)
            for instance in page:
                skip, only_if = preview(instance)
                if skip is None:
                    acting += 1
                    guarded += only_if
                else:
                    skips.append(skip)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        return BulkResult(
            matched=acting + len(skips),
            dry_run=True,
            as_of=position,
            would_act=acting,
            would_skip=tally(skips),
            guarded=guarded,
        )


def _check_as_of(as_of: int, drawn: int) -> None:
    if isinstance(as_of, bool) or not isinstance(as_of, int) or as_of < 0:
        raise PayloadError(
            f"as_of {as_of!r} is no position: pass the whole number >= 0 a dry run returned "
            '("dry_run": true)'
        )
    if as_of > drawn:
        raise AsOfAhead(
            f"as_of {as_of} is past the audit log's current position {drawn}: pass the as_of "
            'a dry run returned ("dry_run": true), or leave it out for what matches now',
            as_of=as_of,
            position=drawn,
        )
