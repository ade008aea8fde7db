"""Listing a tenant's instances: by definition, snapshot status, runtime status, business
state, tag or id prefix, page by page with a keyset cursor; and counting them per business state.

A business state is a path of state keys (`review`, `review.legal`): an instance is in it when
the state is active, so `review` matches an instance in `review.legal` too. A tag is turned
into the states that carry it in each stored version of each definition (or of the one given),
so that an instance is found by the tags of the version it runs.
"""

from __future__ import annotations

import builtins

from statewright.chart import Machine
from statewright.engine.cursor import decode_cursor, encode_cursor
from statewright.engine.deciding import DEFAULT_TENANT
from statewright.engine.filter_names import check_state, check_tag
from statewright.engine.payload import check_choice, check_id
from statewright.engine.reads import Reads
from statewright.engine.views import Instance
from statewright.engine.work_views import Page, StateCount
from statewright.errors import PayloadError
from statewright.store.records import InstanceRecord, StateMatch

__all__ = ["RUNTIME_STATUSES", "STATUSES", "Listing"]

#: The most instances one page holds.
MAX_LIST = 1000
#: A snapshot's statuses: the values of the `status` filter.
STATUSES = ("active", "done", "error", "stopped")
#: An instance's runtime statuses: the values of the `runtime_status` filter.
RUNTIME_STATUSES = ("active", "waiting", "running", "retrying", "done", "error", "stopped")


class Listing(Reads):
    """`list` and `count_by_state`, beside the reads of one instance."""

    def list(
        self,
        *,
        tenant: str = DEFAULT_TENANT,
        definition_id: str | None = None,
        status: str | None = None,
        runtime_status: str | None = None,
        state: str | None = None,
        tag: str | None = None,
        id_prefix: str | None = None,
        cursor: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> Page[Instance]:
        """Instances of a tenant, by id, filtered; one page of at most `limit` (1 to 1000).

        Args:
            tenant: whose instances.
            definition_id: of this definition only.
            status: the snapshot's status (`active`, `done`, `error`, `stopped`).
            runtime_status: `active`, `waiting`, `running`, `retrying`, `done`, ...
            state: in this business state (`review`, or nested `review.legal`).
            tag: in a state carrying this tag (`tags` in the definition).
            id_prefix: whose id starts with this (case-sensitive, as ids are).
            cursor: the `next_cursor` of the previous page, with the same filters.
            after: the last id seen (the older way to page; prefer `cursor`).
            limit: the page size.

        Returns:
            A `Page` (a list) whose `next_cursor` gives the next page, None on the last.

        Raises:
            PayloadError: a malformed filter (an empty `id_prefix` too), both `state` and
                `tag`, a `state` that the given definition does not have (with the near
                miss), or a cursor that another list or other filters gave.
        """
        filters = self._list_filters(tenant, definition_id, status, runtime_status, state, tag)
        if id_prefix is not None:
            # Only when given, so that the cursors of lists without it stay as they were.
            filters["id_prefix"] = check_id(id_prefix, "id prefix")
        size = max(1, min(int(limit), MAX_LIST))
        if cursor is not None and after is not None:
            raise PayloadError("page with cursor or with after, not both; drop after")
        if cursor is not None:
            (after,) = decode_cursor(cursor, "instances", filters, 1)
        elif after is not None:
            check_id(after, "after")
        records = self._find(filters, after, size + 1)
        views = [self._view(record) for record in records[:size]]
        if len(records) <= size:
            return Page(views)
        return Page(views, encode_cursor("instances", filters, [views[-1].id]))

    def count_by_state(
        self,
        *,
        tenant: str = DEFAULT_TENANT,
        definition_id: str | None = None,
        status: str | None = None,
        runtime_status: str | None = None,
        state: str | None = None,
        tag: str | None = None,
    ) -> builtins.list[StateCount]:
        """How many of the tenant's instances are in each business state (per definition
        and state value), with the filters of `list`; by definition, then state.

        Raises:
            PayloadError: as `list`.
        """
        filters = self._list_filters(tenant, definition_id, status, runtime_status, state, tag)
        states = self._states(filters)
        rows = self.store.count_by_state(
            tenant,
            definition_id=definition_id,
            status=status,
            runtime_status=runtime_status,
            states=states,
        )
        return [StateCount.from_record(row) for row in rows]

    def check_state_and_tag(
        self,
        *,
        definition_id: str | None = None,
        state: str | None = None,
        tag: str | None = None,
    ) -> None:
        """Refuse a `state` that the latest version of no definition has, or a `tag` that no
        version of one declares (of `definition_id` alone when given), naming the near miss.

        `list` refuses only a state the given definition lacks: without one, a misspelt state
        or tag matches nothing. A caller that would rather refuse it checks here first.

        Raises:
            NotFound: no definition `definition_id`.
            PayloadError: no definition has the state or the tag, or both are given.
        """
        _check_not_both(state, tag)
        ids = self._definition_ids(definition_id)
        if state is not None:
            check_state([self.registry.machine(*self._latest(i)) for i in ids], state)
        if tag is not None:
            check_tag([machine for i in ids for machine in self._versions(i)], tag)

    def _list_filters(
        self,
        tenant: str,
        definition_id: str | None,
        status: str | None,
        runtime_status: str | None,
        state: str | None,
        tag: str | None,
    ) -> dict[str, str | None]:
        check_id(tenant, "tenant")
        filters = {
            "tenant": tenant,
            "definition_id": definition_id,
            "status": status,
            "runtime_status": runtime_status,
            "state": state,
            "tag": tag,
        }
        for name, value in filters.items():
            if value is not None:
                check_id(value, name.replace("_", " "))
        check_choice(status, "status", STATUSES)
        check_choice(runtime_status, "runtime status", RUNTIME_STATUSES)
        _check_not_both(state, tag)
        if state is not None and definition_id is not None:
            check_state([self.registry.machine(*self._latest(definition_id))], state)
        return filters

    def _latest(self, definition_id: str) -> tuple[str, int]:
        record = self.registry.latest(definition_id, fresh=True)
        return record.id, record.version

    def _definition_ids(self, given: str | None) -> builtins.list[str]:
        """`[given]`, or every stored definition's id."""
        return [given] if given is not None else [d.id for d in self.store.list_definitions()]

    def _versions(self, definition_id: str) -> builtins.list[Machine]:
        """The machine of every stored version of a definition, oldest first."""
        latest = self.registry.latest(definition_id, fresh=True)
        return [self.registry.machine(definition_id, v) for v in range(1, latest.version + 1)]

    def _find(
        self, filters: dict[str, str | None], after: str | None, limit: int
    ) -> builtins.list[InstanceRecord]:
        return self.store.find_instances(
            str(filters["tenant"]),
            definition_id=filters["definition_id"],
            status=filters["status"],
            runtime_status=filters["runtime_status"],
            states=self._states(filters),
            id_prefix=filters.get("id_prefix"),
            after_id=after,
            limit=limit,
        )

    def _states(self, filters: dict[str, str | None]) -> builtins.list[StateMatch] | None:
        """The business-state matchers for the `state` or `tag` filter; None for neither."""
        state, tag = filters["state"], filters["tag"]
        if state is not None:
            return [StateMatch(path=tuple(state.split(".")))]
        if tag is None:
            return None
        matches: builtins.list[StateMatch] = []
        for definition_id in self._definition_ids(filters["definition_id"]):
            for version, machine in enumerate(self._versions(definition_id), start=1):
                matches.extend(
                    StateMatch(
                        path=node.state_path,
                        definition_id=definition_id,
                        definition_version=version,
                    )
                    for node in machine.states
                    if tag in node.tags
                )
        return matches


def _check_not_both(state: str | None, tag: str | None) -> None:
    if state is not None and tag is not None:
        raise PayloadError(f"filter by state ({state!r}) or by tag ({tag!r}), not both; drop one")
