"""Bulk operations: one send, cancel or step retry for every instance a filter matches (the
filters of `Engine.list`), or only a count of them (`dry_run`).

Each instance is its own transaction, as if called one by one: one refused (an event it does
not accept, an instance finished meanwhile) is reported and the others go on. The instances
are visited by id, page by page, so one that leaves the filter meanwhile is still visited
once and one that enters it behind the visit is not. A bulk send with an `idempotency_key`
gives each instance the key `<key>/<instance id>`, so that running the same bulk again after a
crash sends nothing twice.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import TypedDict

from statewright.engine.deciding import DEFAULT_TENANT
from statewright.engine.listing import Listing
from statewright.engine.operating import Operating
from statewright.engine.payload import check_id, event_json
from statewright.engine.sending import checked_event
from statewright.engine.work import Work
from statewright.errors import PayloadError, StatewrightError

__all__ = ["BULK_LIMIT", "Bulk", "BulkFilters", "BulkResult"]

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
    and per refused instance its error (`dry_run`: only `matched`)."""

    matched: int
    done: tuple[str, ...] = ()
    refused: dict[str, StatewrightError] = field(default_factory=dict)
    dry_run: bool = False


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
            PayloadError: a malformed filter or event (as `list` and `send`), or more
                matches than `limit` (nothing is done then).
        """

        # What would refuse the event at every instance refuses the bulk once, up front: a
        # reserved or malformed type, a payload that is no JSON or too large.
        event_json(checked_event(event), self.max_event_bytes, "the event")
        if actor is not None:
            check_id(actor, "actor")

        def act(instance_id: str) -> None:
            key = None if idempotency_key is None else f"{idempotency_key}/{instance_id}"
            self.send(
                instance_id, event, tenant=tenant, actor=actor, idempotency_key=key, roles=roles
            )

        filters: BulkFilters = {
            "definition_id": definition_id,
            "status": status,
            "runtime_status": runtime_status,
            "state": state,
            "tag": tag,
        }
        return self._bulk(act, tenant, dry_run, limit, filters)

    def bulk_cancel(
        self,
        *,
        tenant: str = DEFAULT_TENANT,
        reason: str | None = None,
        actor: str | None = None,
        dry_run: bool = False,
        limit: int = BULK_LIMIT,
        definition_id: str | None = None,
        status: str | None = None,
        runtime_status: str | None = None,
        state: str | None = None,
        tag: str | None = None,
    ) -> BulkResult:
        """Cancel every instance of the tenant the filters match (see `bulk_send`); finished
        ones are reported as refused (`InstanceNotActive`)."""

        def act(instance_id: str) -> None:
            self.cancel(instance_id, tenant=tenant, reason=reason, actor=actor)

        filters: BulkFilters = {
            "definition_id": definition_id,
            "status": status,
            "runtime_status": runtime_status,
            "state": state,
            "tag": tag,
        }
        return self._bulk(act, tenant, dry_run, limit, filters)

    def bulk_retry(
        self,
        *,
        tenant: str = DEFAULT_TENANT,
        dry_run: bool = False,
        limit: int = BULK_LIMIT,
        definition_id: str | None = None,
        status: str | None = None,
        runtime_status: str | None = None,
        state: str | None = None,
        tag: str | None = None,
    ) -> BulkResult:
        """Make every waiting step of the instances the filters match due now (see
        `bulk_send`); an instance with none waiting is reported (`StepNotRetryable`)."""

        def act(instance_id: str) -> None:
            self.retry_step(instance_id, tenant=tenant)

        filters: BulkFilters = {
            "definition_id": definition_id,
            "status": status,
            "runtime_status": runtime_status,
            "state": state,
            "tag": tag,
        }
        return self._bulk(act, tenant, dry_run, limit, filters)

    def _bulk(
        self,
        act: Callable[[str], None],
        tenant: str,
        dry_run: bool,
        limit: int,
        filters: BulkFilters,
    ) -> BulkResult:
        matched = sum(c.count for c in self.count_by_state(tenant=tenant, **filters))
        if dry_run:
            return BulkResult(matched=matched, dry_run=True)
        if matched > limit:
            raise PayloadError(
                f"the filter matches {matched} instances, more than the limit of {limit} for "
                "one bulk operation; narrow the filter, or raise the limit"
            )
        done: builtins.list[str] = []
        refused: dict[str, StatewrightError] = {}
        cursor: str | None = None
        while True:
            page = self.list(tenant=tenant, cursor=cursor, limit=500, **filters)
            for instance in page:
                try:
                    act(instance.id)
                except StatewrightError as error:
                    refused[instance.id] = error
                else:
                    done.append(instance.id)
            if page.next_cursor is None or len(done) + len(refused) >= limit:
                break
            cursor = page.next_cursor
        return BulkResult(matched=matched, done=tuple(done), refused=refused)
