"""`send_many`: the sends of many callers decided in one go and committed in ONE transaction.

The HTTP API's send lane gathers the sends that arrive together and hands them over here
at once: each is decided on its instance's head (the cached one, else one query reads the
heads of all that are missing), and all their writes are committed with one
`Store.commit_transitions`, one transaction and one flush to disk for all, without the
threads and wake-ups of the engine's group commit (`grouping.py`). An engine opened without
group commit (`group_commit=False`) commits each write in a transaction of its own, as its
`send` does.

Every promise of `send` holds for each request, and each gets its own outcome:

- its checks before anything is decided (the event's type and size, the ids, the schema
  the definition declares for the event) and its refusals (`EventNotAccepted`,
  `NotPermitted`, `TransitionFailed`, a stale `expected_version`) are its own, nothing of
  it written;
- a write the database refuses (another writer won the race, ...) is left out of the
  transaction by the store and the others commit; that request then goes the ordinary
  `send` way, with its retries, as does one whose cached head proved stale;
- an error of the database itself (unreachable, the commit refused) fails every request
  of the transaction, none of whose rows were committed;
- two requests for one instance are decided one after the other (the second on the head
  the first committed: one write per instance per transaction), in the order given;
- a request with an `idempotency_key` takes the ordinary `send` way.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from statewright.chart import Snapshot
from statewright.engine.deciding import DEFAULT_TENANT, no_instance
from statewright.engine.heads import Head
from statewright.engine.payload import check_version, event_json
from statewright.engine.sending import Sending, checked_send
from statewright.engine.unapplied import log_unapplied
from statewright.engine.views import AuditEntry
from statewright.errors import (
    InternalError,
    PayloadInvalid,
    StatewrightError,
    VersionConflict,
)
from statewright.store.commit import check_write
from statewright.store.records import TransitionWrite

__all__ = ["BatchSending", "SendRequest"]


@dataclass(frozen=True, slots=True)
class SendRequest:
    """One send of `Engine.send_many`: the arguments of `Engine.send`."""

    instance_id: str
    event: Mapping[str, object] | str
    tenant: str = DEFAULT_TENANT
    actor: str | None = None
    idempotency_key: str | None = None
    expected_version: int | None = None
    roles: Collection[str] | None = None


class _Decided:
    """A request decided on its head, its write to commit."""

    __slots__ = ("cached", "entry", "index", "parsed", "resolved", "write")

    def __init__(
        self,
        index: int,
        resolved: Mapping[str, object],
        cached: bool,
        decided: tuple[TransitionWrite, AuditEntry, Snapshot | None],
    ) -> None:
        self.index = index
        self.resolved = resolved
        self.cached = cached
        self.write, self.entry, self.parsed = decided


#: A checked request: its index, the event resolved and its JSON text.
_Checked = tuple[int, Mapping[str, object], str]


class BatchSending(Sending):
    """`send_many`."""

    def send_many(self, requests: Sequence[SendRequest]) -> list[AuditEntry | BaseException]:
        """Send every request (as `send`), the transitions committed together; per request,
        in order, its audit entry or the exception `send` would have raised for it.

        Nothing is raised: each request's outcome is its own (see the module's notes).
        """
        outcomes: list[AuditEntry | BaseException | None] = [None] * len(requests)
        ordinary: list[int] = []
        waiting: list[_Checked] = []
        # Once a request of an instance goes the ordinary way, so do the others of that
        # instance after it: they run in the order given.
        diverted = {(r.tenant, r.instance_id) for r in requests if r.idempotency_key is not None}
        for index, request in enumerate(requests):
            if request.idempotency_key is not None:
                ordinary.append(index)
                continue
            try:
                waiting.append((index, *self._checked(request)))
            except Exception as error:
                outcomes[index] = error
        while waiting:  # one request per instance per round, in the order given
            this_round: list[_Checked] = []
            later: list[_Checked] = []
            seen: set[tuple[str, str]] = set()
            for checked in waiting:
                request = requests[checked[0]]
                key = (request.tenant, request.instance_id)
                if key in diverted:
                    ordinary.append(checked[0])
                    continue
                (later if key in seen else this_round).append(checked)
                seen.add(key)
            for index in self._send_round(requests, this_round, outcomes):
                ordinary.append(index)
                diverted.add((requests[index].tenant, requests[index].instance_id))
            waiting = later
        for index in sorted(ordinary):
            outcomes[index] = self._send_one(requests[index])
        return [
            outcome if outcome is not None else _lost(index)
            for index, outcome in enumerate(outcomes)
        ]

    def _checked(self, request: SendRequest) -> tuple[Mapping[str, object], str]:
        """The checks `send` makes before it reads anything: the event resolved, its text.

        Raises:
            EventError, PayloadError: as `send`.
        """
        resolved = checked_send(request.event, request.tenant, request.instance_id, request.actor)
        if request.expected_version is not None:
            check_version(request.expected_version, "expected_version")
        return resolved, event_json(resolved, self.max_event_bytes, "the event")

    def _send_round(
        self,
        requests: Sequence[SendRequest],
        checked: list[_Checked],
        outcomes: list[AuditEntry | BaseException | None],
    ) -> list[int]:
        """Decide and commit requests of distinct instances; the indexes of those that go
        the ordinary way (a stale cached head, a write the database left out)."""
        heads: dict[int, Head | None] = {}
        missing: list[tuple[str, str]] = []
        for index, _, _ in checked:
            request = requests[index]
            head = self._heads.get(request.tenant, request.instance_id)
            if head is not None and request.expected_version not in (None, head.version):
                head = None  # the caller expects another version: read what is stored
            heads[index] = head
            if head is None:
                missing.append((request.tenant, request.instance_id))
        try:
            stored = self.store.load_instances(missing) if missing else {}
        except Exception as error:  # the database's own error: the reads needed fail
            for index, _, _ in checked:
                if heads[index] is None:
                    outcomes[index] = error
            checked = [one for one in checked if heads[one[0]] is not None]
            stored = {}
        ordinary: list[int] = []
        decided: list[_Decided] = []
        for index, resolved, text in checked:
            request = requests[index]
            head = heads[index]
            cached = head is not None
            if head is None:
                record = stored.get((request.tenant, request.instance_id))
                if record is None:
                    outcomes[index] = no_instance(request.tenant, request.instance_id)
                    continue
                head = Head.of(record)
            try:
                found = self._prepare(
                    head,
                    resolved,
                    text,
                    actor=request.actor,
                    idempotency=None,
                    expected_version=request.expected_version,
                    consumed_timer=None,
                    consumed_step=None,
                    roles=request.roles,
                )
                check_write(found[0])
            except PayloadInvalid as error:
                outcomes[index] = error  # the event's own fault: the head is as good as before
                continue
            except StatewrightError as error:
                self._heads.drop(request.tenant, request.instance_id)
                if cached:
                    ordinary.append(index)  # the cached head may be stale: decide on the stored
                else:
                    outcomes[index] = error
                continue
            except Exception as error:
                self._heads.drop(request.tenant, request.instance_id)
                outcomes[index] = error
                continue
            decided.append(_Decided(index, resolved, cached, found))
        ordinary.extend(self._commit_decided(decided, outcomes))
        return ordinary

    def _commit_decided(
        self, decided: list[_Decided], outcomes: list[AuditEntry | BaseException | None]
    ) -> list[int]:
        """Commit the writes in one transaction (each alone for an engine without group
        commit); the indexes to send the ordinary way."""
        if not decided:
            return []
        results, whole = self._commit_together([one.write for one in decided])
        if whole:  # the database's own error: nothing of the batch is in
            for one, error in zip(decided, results, strict=True):
                self._heads.drop(one.write.tenant, one.write.instance_id)
                outcomes[one.index] = error
            return []
        ordinary: list[int] = []
        for one, result in zip(decided, results, strict=True):
            write = one.write
            if result is None:
                self._heads.put(Head.after(write), one.parsed)
                log_unapplied(one.resolved, one.entry)
                outcomes[one.index] = one.entry
                continue
            self._heads.drop(write.tenant, write.instance_id)
            if isinstance(result, VersionConflict) or (
                one.cached and isinstance(result, StatewrightError)
            ):
                ordinary.append(one.index)  # lost a race or a stale head: `send` retries
            else:
                outcomes[one.index] = result
        return ordinary

    def _send_one(self, request: SendRequest) -> AuditEntry | BaseException:
        """`send` for one request, its exception returned."""
        try:
            return self.send(
                request.instance_id,
                dict(request.event) if isinstance(request.event, Mapping) else request.event,
                tenant=request.tenant,
                actor=request.actor,
                idempotency_key=request.idempotency_key,
                expected_version=request.expected_version,
                roles=request.roles,
            )
        except Exception as error:
            return error


def _lost(index: int) -> BaseException:
    """An outcome never set: a bug (every path above sets one)."""
    return InternalError(f"send_many left request {index} unanswered; please report this bug")
