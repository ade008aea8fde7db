"""The store operations outside callers need beside the engine's own: instances by business
state with counts per state, a tenant's step runs, timers and dead letters page by page, a
step run made due now, dead letters redriven. A mixin of `SqlStore`, over the queries of each
backend's `operations.sql` (and the `filter_*` fragments of its `queries.sql`).

Every list is one tenant's, ordered by a primary key or index prefix and paged by keyset (the
last key seen, "" before the first page: always a range of the index, never an "IS NULL OR"
test), so a page costs the same however deep it is and rows inserted meanwhile never shift a
page. A business-state filter reads the state index (`instance_states`, kept by
triggers: a row per state each instance is in), one index range per definition (and version)
the state or tag names, merged in id order; counts per state read the counts the same
triggers keep (`state_counts`), so neither grows with the number of instances. An id prefix
is a range of ids (`id_prefix_range`): of the primary key, or of each state's index range.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import ClassVar

from statewright.store.records import (
    DefinitionRecord,
    InstanceRecord,
    OutboxRecord,
    StateCountRecord,
    StateMatch,
    StepRecord,
    TimerRecord,
    WorkCountRecord,
)
from statewright.store.stream import StreamMarker
from statewright.store.transaction import Params, Row, Transaction

__all__ = ["OperatorQueries", "id_prefix_range", "state_matchers"]

#: The filters of `list_instances` that name one column each (`filter_<name>` in queries.sql).
_COLUMN_FILTERS = ("tenant", "definition_id", "status", "runtime_status")


class OperatorQueries:
    """Lists and operator writes (see the module docstring)."""

    queries: ClassVar[Mapping[str, str]]
    #: The backend's `operations.sql`, set by each subclass.
    operations: ClassVar[Mapping[str, str]]

    def _transaction(self, *, write: bool, what: str) -> AbstractContextManager[Transaction]:
        raise NotImplementedError

    def _read_one(self, sql: str, params: Params, *, what: str) -> Row | None:
        raise NotImplementedError

    def _read_all(self, sql: str, params: Params, *, what: str) -> list[Row]:
        raise NotImplementedError

    def _run_alone(self, sql: str, params: Params, *, what: str) -> int:
        raise NotImplementedError

    def _work_committed(self) -> None:
        raise NotImplementedError

    # -- instances ----------------------------------------------------------------------------

    def find_instances(
        self,
        tenant: str,
        *,
        definition_id: str | None = None,
        status: str | None = None,
        runtime_status: str | None = None,
        states: Sequence[StateMatch] | None = None,
        id_prefix: str | None = None,
        after_id: str | None = None,
        limit: int = 100,
    ) -> list[InstanceRecord]:
        """A tenant's instances by id, filtered as `list_instances` and, with `states`, to
        those in one of the business states given (an empty `states` matches none), with
        `id_prefix` to those whose id starts with it (case-sensitive)."""
        if states is not None and not states:
            return []
        if states is not None and all(match.path for match in states):
            return self._find_in_states(
                tenant, definition_id, status, runtime_status, states, id_prefix, after_id, limit
            )
        where, params = self._instance_filters(
            tenant, definition_id, status, runtime_status, states
        )
        if after_id is not None:
            where.append(self.queries["filter_after_id"])
            params["after_id"] = after_id
        if id_prefix:
            params["id_from"], params["id_below"] = id_prefix_range(id_prefix)
            where.append(self.queries["filter_id_from"])
            if params["id_below"] is not None:
                where.append(self.queries["filter_id_below"])
        params["limit"] = max(1, limit)
        sql = self.queries["list_instances"].format(where=" AND ".join(where))
        rows = self._read_all(sql, params, what="listing instances")
        return [InstanceRecord(**row) for row in rows]

    def _find_in_states(
        self,
        tenant: str,
        definition_id: str | None,
        status: str | None,
        runtime_status: str | None,
        states: Sequence[StateMatch],
        id_prefix: str | None,
        after_id: str | None,
        limit: int,
    ) -> list[InstanceRecord]:
        """`find_instances` by business state: the first `limit` ids of each state's index
        range (per definition and version it names), merged; an instance in two of them once.
        With `id_prefix` each range starts at the prefix, and the ids read past it (at most
        `limit` a range) are dropped."""
        every: list[str] | None = None
        ranges: set[tuple[str, str, int | None]] = set()
        for match in states:
            if match.definition_id is not None:
                if definition_id is None or match.definition_id == definition_id:
                    state = ".".join(match.path)
                    ranges.add((match.definition_id, state, match.definition_version))
                continue
            if definition_id is not None:
                named = [definition_id]
            else:
                if every is None:
                    every = [record.id for record in self.list_definitions()]
                named = every
            ranges.update((named_id, ".".join(match.path), None) for named_id in named)
        size = max(1, limit)
        residual = status is not None or runtime_status is not None
        query = self.operations["list_in_state" if residual else "list_ids_in_state"]
        found: dict[str, InstanceRecord | None] = {}
        with self._transaction(write=False, what="listing instances by state") as tx:
            for state_definition, state, version in sorted(ranges, key=repr):
                params = {
                    "tenant": tenant,
                    "state_definition": state_definition,
                    "state": state,
                    "state_version": version,
                    "status": status,
                    "runtime_status": runtime_status,
                    "after_id": after_id or "",
                    "id_from": id_prefix or "",
                    "limit": size,
                }
                for row in tx.all(query, params):
                    if id_prefix and not str(row["id"]).startswith(id_prefix):
                        break  # in id order: every id after this one is past the prefix too
                    record = InstanceRecord(**row) if residual else None
                    found.setdefault(str(row["id"]), record)
            page = sorted(found)[:size]
            if not residual and page:  # only the page's instances are read
                keys = [(tenant, key) for key in page]
                loaded = {
                    str(row["id"]): InstanceRecord(**row)
                    for row in tx.all(self.queries["load_instances"], _keys(keys))
                }
                found = {key: loaded.get(key) for key in page}
        return [record for key in page if (record := found[key]) is not None]

    def list_definitions(self) -> list[DefinitionRecord]:
        raise NotImplementedError

    def count_by_state(
        self,
        tenant: str,
        *,
        definition_id: str | None = None,
        status: str | None = None,
        runtime_status: str | None = None,
        states: Sequence[StateMatch] | None = None,
    ) -> list[StateCountRecord]:
        """How many of a tenant's instances are in each business state (per definition and
        state value), with the filters of `find_instances`."""
        if states is not None and not states:
            return []
        where, params = self._instance_filters(
            tenant, definition_id, status, runtime_status, states
        )
        sql = self.operations["count_by_state"].format(where=" AND ".join(where))
        what = "counting instances by state"
        if "fold_state_counts" not in self.operations:
            rows = self._read_all(sql, params, what=what)
        else:  # PostgreSQL: the changes appended since the last fold are folded in first
            with self._transaction(write=True, what=what) as tx:
                self._fold_state_counts(tx)
                rows = tx.all(sql, params)
        return [
            StateCountRecord(
                definition_id=str(row["definition_id"]),
                value=str(row["value"]),
                count=int(str(row["count"])),
            )
            for row in rows
        ]

    def fold_state_counts(self) -> None:
        """PostgreSQL: fold the count changes appended since the last fold into the counts
        (a worker does on every heartbeat, so that they never pile up while nobody reads the
        counts); nothing on SQLite, whose triggers update the counts in place."""
        if "fold_state_counts" in self.operations:
            with self._transaction(write=True, what="folding the counts per state") as tx:
                self._fold_state_counts(tx)

    def _fold_state_counts(self, tx: Transaction) -> None:
        """Fold, unless another transaction is folding now (it takes them all)."""
        locked = tx.one(self.operations["lock_state_counts"], {})
        if locked is not None and locked["locked"]:
            tx.run(self.operations["fold_state_counts"], {})
            tx.run(self.operations["drop_empty_state_counts"], {})

    def work_summary(
        self, now: int, cap: int
    ) -> tuple[list[tuple[str, str, int]], list[WorkCountRecord]]:
        """Every tenant's work, in one transaction: the instances per (status, runtime
        status), from the counts per state, and the waiting work per kind (`work_counts`:
        each count at most `cap`, with the earliest due time of what is due at `now`)."""
        what = "reading the work summary"
        folds = "fold_state_counts" in self.operations
        with self._transaction(write=folds, what=what) as tx:
            if folds:  # PostgreSQL: fold the changes in, as count_by_state does
                self._fold_state_counts(tx)
            counted = tx.all(self.operations["work_instance_counts"], {})
            work = tx.all(self.operations["work_counts"], {"now": now, "cap": max(1, cap)})
        instances = [
            (str(row["status"]), str(row["runtime_status"]), int(str(row["count"])))
            for row in counted
        ]
        records = [
            WorkCountRecord(
                kind=str(row["kind"]),
                count=int(str(row["count"])),
                oldest=None if row["oldest"] is None else int(str(row["oldest"])),
            )
            for row in work
        ]
        return instances, records

    def _instance_filters(
        self,
        tenant: str,
        definition_id: str | None,
        status: str | None,
        runtime_status: str | None,
        states: Sequence[StateMatch] | None,
    ) -> tuple[list[str], dict[str, object]]:
        """The WHERE fragments (fixed text from the query files, never input) and their
        parameters."""
        params: dict[str, object] = {
            "tenant": tenant,
            "definition_id": definition_id,
            "status": status,
            "runtime_status": runtime_status,
        }
        where = [self.queries[f"filter_{name}"] for name in _COLUMN_FILTERS if params[name]]
        if states is not None:
            where.append(self.operations["filter_states"])
            params["states"] = state_matchers(states)
        return where, params

    # -- steps and timers ---------------------------------------------------------------------

    def list_steps(
        self,
        tenant: str,
        *,
        instance_id: str | None = None,
        status: str | None = None,
        after: tuple[str, str] | None = None,
        limit: int = 100,
    ) -> list[StepRecord]:
        """A tenant's unfinished step runs (of one instance, of one status), ordered by
        (instance id, invoke id), after the key `after`."""
        params = {
            "tenant": tenant,
            "instance_id": instance_id,
            "status": status,
            **_after(after),
            "limit": max(1, limit),
        }
        query = "list_steps" if instance_id is None else "list_instance_steps"
        rows = self._read_all(self.operations[query], params, what="listing steps")
        return [StepRecord(**row) for row in rows]

    def list_timers(
        self,
        tenant: str,
        *,
        instance_id: str | None = None,
        after: tuple[str, str] | None = None,
        limit: int = 100,
    ) -> list[TimerRecord]:
        """A tenant's pending timers (of one instance), ordered by (instance id, timer id),
        after the key `after`."""
        params = {"tenant": tenant, "instance_id": instance_id, **_after(after)}
        params["limit"] = max(1, limit)
        query = "list_timers" if instance_id is None else "list_instance_timers"
        rows = self._read_all(self.operations[query], params, what="listing timers")
        return [TimerRecord(**row) for row in rows]

    def retry_step_now(self, step: StepRecord, now: int) -> bool:
        """Make a step run that waits for its next attempt due at `now`; False (nothing
        written) if it is no longer that run waiting (claimed, stopped, finished)."""
        params = {
            "tenant": step.tenant,
            "instance_id": step.instance_id,
            "invoke_id": step.invoke_id,
            "started_version": step.started_version,
            "attempts": step.attempts,
            "now": now,
        }
        changed = self._run_alone(
            self.operations["retry_step_now"], params, what=f"retrying step {step.invoke_id!r}"
        )
        if changed:
            self._work_committed()
        return changed == 1

    # -- dead letters -------------------------------------------------------------------------

    def list_dead_letters(
        self,
        tenant: str,
        *,
        instance_id: str | None = None,
        event_type: str | None = None,
        message_id: str | None = None,
        after_id: str | None = None,
        through: int | None = None,
        limit: int = 100,
    ) -> list[OutboxRecord]:
        """A tenant's dead-lettered outbox messages (of one instance, event type or id; with
        `through`, only those dead-lettered at or before that position), by message id,
        after `after_id`."""
        params = {
            "tenant": tenant,
            "instance_id": instance_id,
            "event_type": event_type,
            "message_id": message_id,
            "through": through,
            "after_id": after_id or "",
            "limit": max(1, limit),
        }
        query = "list_dead_letters" if instance_id is None else "list_instance_dead_letters"
        rows = self._read_all(self.operations[query], params, what="listing dead letters")
        return [OutboxRecord(**row) for row in rows]

    def change_position(self, tenant: str, instance_id: str, version: int) -> int | None:
        """The audit stream position (`stream_seq`) of the transition that made `version` of
        the instance; 0 for one written before the stream had numbers, None without it."""
        row = self._read_one(
            self.operations["change_position"],
            {"tenant": tenant, "instance_id": instance_id, "version": version},
            what=f"reading the audit row of {instance_id!r}",
        )
        return None if row is None else int(row["seq"])

    def dead_letter_marker(self) -> StreamMarker:
        """The last position drawn for a dead letter and what must settle before every
        letter dead-lettered up to it is committed (see `stream_marker`)."""
        queries = self.operations
        what = "reading the dead letters' position"
        if "dead_letter_marker" in queries:  # SQLite: one writer at a time, nothing in flight
            row = self._read_one(queries["dead_letter_marker"], {}, what=what)
            assert row is not None
            return StreamMarker(seq=int(row["seq"]), pending=None)
        # In this order: a transaction that drew a number up to `seq` locked the outbox
        # table before it drew, so the second read sees it holding the lock, or it is over.
        last = self._read_one(queries["dead_letter_last_drawn"], {}, what=what)
        flight = self._read_one(queries["dead_letter_in_flight"], {}, what=what)
        assert last is not None and flight is not None
        return StreamMarker(seq=int(last["seq"]), pending=flight["pending"])

    def list_pending_outbox(
        self, tenant: str, *, after_id: str | None = None, limit: int = 100
    ) -> list[OutboxRecord]:
        """A tenant's outbox messages not delivered yet, by message id, after `after_id`."""
        params = {"tenant": tenant, "after_id": after_id or "", "limit": max(1, limit)}
        rows = self._read_all(
            self.operations["list_pending_outbox"], params, what="listing the pending outbox"
        )
        return [OutboxRecord(**row) for row in rows]

    def redrive_dead_letters(
        self,
        tenant: str,
        now: int,
        *,
        instance_id: str | None = None,
        event_type: str | None = None,
        message_id: str | None = None,
        through: int | None = None,
    ) -> int:
        """Put a tenant's matching dead letters (with `through`, only those dead-lettered at
        or before that position) back to pending, due at `now`, attempts reset, in one
        transaction; how many."""
        params = {
            "tenant": tenant,
            "now": now,
            "instance_id": instance_id,
            "event_type": event_type,
            "message_id": message_id,
            "through": through,
        }
        changed = self._run_alone(
            self.operations["redrive_dead_letters"], params, what="redriving dead letters"
        )
        if changed:
            self._work_committed()
        return changed


def state_matchers(states: Sequence[StateMatch]) -> str:
    """The `:states` parameter of `filter_states`: per state, its definition and version (or
    null) and where to find it in a value, as SQLite JSON paths and PostgreSQL path arrays."""
    matchers = []
    for match in states:
        # The root (a tag on the machine itself) is every value: its key path is "$".
        parent, leaf = list(match.path[:-1]), (match.path[-1] if match.path else None)
        matchers.append(
            {
                "d": match.definition_id,
                "v": match.definition_version,
                "leaf": leaf,
                "parent": _json_path(parent),
                "key": _json_path(match.path),
                "p": parent,
                "k": list(match.path),
            }
        )
    return json.dumps(matchers)


def id_prefix_range(prefix: str) -> tuple[str, str | None]:
    """The ids starting with `prefix` as a range: from the prefix (included) to the least
    string above all of them (excluded), None when there is none.

    Both backends compare ids by code point (SQLite's BINARY, PostgreSQL's COLLATE "C" on
    UTF-8), so the bound is the prefix with its last character incremented: "A-10" gives
    "A-11". A last character that is U+10FFFF has no successor and is dropped first ("a"
    then U+10FFFF gives "b": nothing lies between); a prefix of nothing else has no bound.
    Surrogates never stand in an id, so U+D7FF is followed by U+E000.
    """
    kept = prefix.rstrip("\U0010ffff")
    if not kept:
        return prefix, None
    following = ord(kept[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:
        following = 0xE000
    return prefix, kept[:-1] + chr(following)


def _keys(keys: Sequence[tuple[str, str]]) -> dict[str, object]:
    """The parameters of `load_instances` (each backend reads its own)."""
    return {
        "keys": json.dumps([list(key) for key in keys]),
        "tenants": [tenant for tenant, _ in keys],
        "ids": [instance_id for _, instance_id in keys],
    }


def _json_path(keys: Sequence[str]) -> str:
    """A SQLite JSON path to a key path (`$."review"."legal"`)."""
    return "$" + "".join(f'."{key}"' for key in keys)


def _after(after: tuple[str, str] | None) -> dict[str, object]:
    """The keyset bound of a page of steps or timers: the last key seen, or ("", ""), below
    every key (ids are never empty), for the first page. A bound that is always there is a
    range of the primary key; an "IS NULL OR" test would read every row before it."""
    return {
        "after_instance": "" if after is None else after[0],
        "after_key": "" if after is None else after[1],
    }
