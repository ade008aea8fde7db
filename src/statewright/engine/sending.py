"""Starting instances and sending them events, one committed transition per call.

A send that loses the race to another writer is decided again on the instance as it now
stands (`conflicts.py`); a start that meets a definition version registered meanwhile is made
again on it.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Collection, Mapping, Sequence

from statewright.chart import Snapshot
from statewright.chart.machine import normalize_event
from statewright.engine.conflicts import SEND_ATTEMPTS, conflict_pause_s, kept_moving
from statewright.engine.deciding import DEFAULT_TENANT, Deciding, transition_failed
from statewright.engine.heads import Head
from statewright.engine.payload import (
    canonical_hash,
    check_addressable,
    check_id,
    check_version,
    event_json,
)
from statewright.engine.unapplied import log_unapplied
from statewright.engine.views import AuditEntry, Instance
from statewright.engine.writes import build_write
from statewright.errors import (
    DefinitionMoved,
    EventError,
    IdempotencyConflict,
    PayloadInvalid,
    StatewrightError,
    VersionConflict,
)
from statewright.store.records import DefinitionRecord, TransitionWrite

__all__ = ["Sending", "checked_event", "checked_send"]

#: How many times a start is made again on a definition version registered meanwhile.
START_ROUNDS = 5


class Sending(Deciding):
    """`start`, `send` and `deliver`, with their retries on conflicts."""

    def start(
        self,
        definition_id: str,
        *,
        input: object = None,
        instance_id: str | None = None,
        tenant: str = DEFAULT_TENANT,
        actor: str | None = None,
        version: int | None = None,
    ) -> Instance:
        """Start an instance of the latest version of a definition, or of `version`.

        Raises:
            NotFound: no such definition, or no such version of it (the message names the
                versions there are).
            InstanceExists: `instance_id` is taken in this tenant.
            PayloadError: `input` is not JSON data or too large; an id is malformed.
            PayloadInvalid: `input` fails the definition's input schema
                (`"statewright": {"input": ...}`), naming each field; nothing is stored.
            TransitionFailed: a guard or action raised while entering the initial state.
            DefinitionMoved: other processes registered newer versions of the definition
                during five attempts in a row; start it again.
        """
        instance_id, text = self._checked_start(
            definition_id, input, instance_id, tenant, actor, version
        )
        # Pinned to the latest version seen here (unless `version`); the store refuses the
        # start if another process registered a newer one (DefinitionMoved), and it is made
        # again on that.
        attempt = 0
        while True:
            definition = self._start_definition(definition_id, version, attempt)
            try:
                return self._start_on(
                    definition, tenant, instance_id, text, actor, latest=version is None
                )
            except DefinitionMoved:
                attempt += 1
                if attempt == START_ROUNDS:
                    raise

    def _checked_start(
        self,
        definition_id: str,
        input: object,
        instance_id: str | None,
        tenant: str,
        actor: str | None,
        version: int | None,
    ) -> tuple[str, str]:
        """What `start` checks before it reads anything: the instance id (generated if
        None) and the start event's JSON text.

        Raises:
            PayloadError: as `start`.
        """
        check_id(tenant, "tenant")
        check_id(definition_id, "definition id")
        instance_id = check_id(
            uuid.uuid4().hex if instance_id is None else instance_id, "instance id"
        )
        check_addressable(instance_id, "instance id")
        check_addressable(tenant, "tenant")
        if actor is not None:
            check_id(actor, "actor")
        event = {"type": "xstate.init", "input": input}
        text = event_json(event, self.max_event_bytes, "the start input")
        if version is not None:
            check_version(version, "version")
        return instance_id, text

    def _start_definition(
        self, definition_id: str, version: int | None, attempt: int
    ) -> DefinitionRecord:
        """The definition version a start is made on: `version`, else the latest (as seen
        here on the first `attempt`, read afresh on the later ones).

        Raises:
            NotFound: as `start`.
        """
        if version is not None:
            return self.registry.version(definition_id, version)
        return self.registry.latest(definition_id, fresh=attempt > 0)

    def _start_on(
        self,
        definition: DefinitionRecord,
        tenant: str,
        instance_id: str,
        text: str,
        actor: str | None,
        *,
        latest: bool = True,
    ) -> Instance:
        """Start the instance on this definition version (if it is still the latest, when
        `latest`)."""
        write, parsed, instance = self._start_write(
            definition, tenant, instance_id, text, actor, latest=latest
        )
        self._commit(write)
        self._heads.put(Head.after(write), parsed)
        return instance

    def _start_write(
        self,
        definition: DefinitionRecord,
        tenant: str,
        instance_id: str,
        text: str,
        actor: str | None,
        *,
        latest: bool,
    ) -> tuple[TransitionWrite, Snapshot | None, Instance]:
        """A start decided, not committed: its write, the new snapshot as a reload would
        give it (`TransitionParts.parsed`), and the instance as it will be stored.

        Raises:
            PayloadInvalid, TransitionFailed: as `start`.
        """
        machine = self.registry.machine(definition.id, definition.version)
        input = json.loads(text)["input"]
        machine.check_input(input, instance_id=instance_id)
        step = machine.initial_transition(input)
        if step.snapshot.status == "error":
            raise transition_failed(instance_id, step.snapshot, "starting it")
        now = self.clock.now()
        write, parts = build_write(
            tenant=tenant,
            instance_id=instance_id,
            definition_id=definition.id,
            definition_version=definition.version,
            machine=machine,
            expected_version=0,
            step=step,
            event_text=text,
            actor=actor,
            now=now,
            from_value=None,
            idempotency=None,
            latest_definition=latest,
        )
        # As stored, without reading it back: a new instance has no work but its own, so
        # the audit row's runtime status is the instance's.
        return (
            write,
            parts.parsed,
            Instance(
                tenant=tenant,
                id=instance_id,
                definition_id=definition.id,
                definition_version=definition.version,
                version=write.audit.seq,
                snapshot=step.snapshot,
                runtime_status=write.audit.runtime_status,
                created_at=now,
                updated_at=now,
            ),
        )

    def send(
        self,
        instance_id: str,
        event: Mapping[str, object] | str,
        *,
        tenant: str = DEFAULT_TENANT,
        actor: str | None = None,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        roles: Collection[str] | None = None,
    ) -> AuditEntry:
        """Process an event and commit the transition; returns its audit entry.

        With `roles` (the roles the caller holds), a transition the event takes that names
        `"statewright": {"roles": [...]}` must name one of them (`admin` may send any).

        Raises:
            NotFound: no such instance in this tenant.
            EventError: the event has no string "type", or uses a reserved `xstate.` type.
            PayloadError: the event is not JSON data or is larger than `max_event_bytes`.
            PayloadInvalid: its fields fail the JSON Schema the instance's definition
                declares for its type (`"statewright": {"events": {TYPE: schema}}`), or the
                definition sets `strict_events` and declares none for it; `.errors` names
                each field. Checked before anything is decided: nothing is written.
            EventNotAccepted: the current state accepts no transition for it.
            NotPermitted: `roles` holds none of the roles its transition names.
            TransitionFailed: a guard or action raised; nothing was committed.
            VersionConflict: `expected_version` is stale, or another writer won the race.
            IdempotencyConflict: the key was used before for another request.
        """
        resolved = checked_send(event, tenant, instance_id, actor)
        return self._handle(  # `deliver` without normalizing the event a second time
            tenant,
            instance_id,
            resolved,
            actor=actor,
            idempotency_key=idempotency_key,
            expected_version=expected_version,
            roles=roles,
        )

    def deliver(
        self,
        instance_id: str,
        event: Mapping[str, object],
        *,
        tenant: str = DEFAULT_TENANT,
        actor: str | None = None,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
        roles: Collection[str] | None = None,
    ) -> AuditEntry:
        """`send` without the reserved-type check: how the runtime delivers timers and step
        results (`xstate.after.*`, `xstate.done.actor.*`, `xstate.error.actor.*`)."""
        check_id(tenant, "tenant")
        check_id(instance_id, "instance id")
        if actor is not None:
            check_id(actor, "actor")
        resolved = normalize_event(event)
        return self._handle(
            tenant,
            instance_id,
            resolved,
            actor=actor,
            idempotency_key=idempotency_key,
            expected_version=expected_version,
            roles=roles,
        )

    def _handle(
        self,
        tenant: str,
        instance_id: str,
        resolved: Mapping[str, object],
        *,
        actor: str | None,
        idempotency_key: str | None,
        expected_version: int | None,
        consumed_timer: tuple[str, int] | None = None,
        consumed_step: tuple[str, int, int] | None = None,
        roles: Collection[str] | None = None,
    ) -> AuditEntry:
        """Decide `resolved` on the instance and commit it.

        Without `expected_version`, a commit that loses the race to another writer is not
        the caller's problem: the event is decided again on the instance as it now stands,
        up to `SEND_ATTEMPTS` times with a short jittered pause between (`VersionConflict`
        only if it never got through). With `expected_version` the conflict is the answer.
        """
        if expected_version is not None:
            check_version(expected_version, "expected_version")
        text = event_json(resolved, self.max_event_bytes, "the event")
        idempotency = None
        if idempotency_key is not None:
            check_id(idempotency_key, "idempotency key")
            request_hash = canonical_hash({"event": resolved, "expected": expected_version})
            replay = self._replay(tenant, instance_id, idempotency_key, request_hash)
            if replay is not None:
                return replay
            idempotency = (idempotency_key, request_hash)
        head, lent = self._heads.take(tenant, instance_id)
        if head is not None and expected_version not in (None, head.version):
            head = None  # the caller expects another version: read what is stored
        lost = 0  # races lost to other writers, on a head read from the store
        while True:
            cached = head is not None
            if head is None:
                head = Head.of(self._fetch(tenant, instance_id))
            lending, lent = lent, None  # to this attempt only: a failed one may have changed it
            try:
                write, entry, parsed = self._prepare(  # by place: keywords cost a lookup each
                    head,
                    resolved,
                    text,
                    actor,
                    idempotency,
                    expected_version,
                    consumed_timer,
                    consumed_step,
                    roles,
                    True,  # taken
                    lending,  # lent
                )
                self._commit(write)
            except VersionConflict as conflict:
                self._heads.drop(tenant, instance_id)
                head = None
                if cached:
                    continue  # the cached head was stale: decide on the stored one
                lost += 1
                if expected_version is not None:
                    raise
                if lost >= SEND_ATTEMPTS:
                    raise kept_moving(conflict, lost) from conflict
                time.sleep(conflict_pause_s(lost))
                if idempotency is not None:  # the winner may have been this very request
                    replay = self._replay(tenant, instance_id, *idempotency)
                    if replay is not None:
                        return replay
                continue
            except IdempotencyConflict:
                self._heads.drop(tenant, instance_id)
                if idempotency is None:
                    raise
                # The key was stored after this send looked for it: by its twin (a retry of
                # the same request racing it) the answer is the twin's entry; by another
                # request, `_replay` raises the conflict naming the key.
                replay = self._replay(tenant, instance_id, *idempotency)
                if replay is None:
                    raise
                return replay
            except PayloadInvalid:
                raise  # the event's own fault: the head is as good as before
            except StatewrightError:
                self._heads.drop(tenant, instance_id)
                if cached:
                    head = None  # the cached head may be stale: decide on the stored one
                    continue
                raise
            except BaseException:
                self._heads.drop(tenant, instance_id)
                raise
            self._heads.put(Head.after(write), parsed)
            if consumed_step is not None:  # only a step's result is ever replaced
                log_unapplied(resolved, entry)
            return entry

    def _commit(self, write: TransitionWrite) -> None:
        """Commit one start or send: in a group with concurrent senders' (`grouping.py`),
        or alone."""
        if self._commits is None:
            self.store.commit_transition(write)
        else:
            self._commits.commit(write, self.store)

    def _commit_together(
        self, writes: Sequence[TransitionWrite]
    ) -> tuple[list[BaseException | None], bool]:
        """Commit writes of distinct instances (starts, sends) in ONE transaction
        (`Store.commit_transitions`; each in one of its own for an engine without group
        commit, as `_commit` does then): per write, None or its error, and whether that
        error is the database's own, failing every write (none of them committed)."""
        if self._commits is None or len(writes) == 1:  # alone: the cheapest path
            return [self._commit_alone(write) for write in writes], False
        try:
            return list(self.store.commit_transitions(writes)), False
        except Exception as error:  # the database's own error: nothing of the batch is in
            return [error] * len(writes), True

    def _commit_alone(self, write: TransitionWrite) -> BaseException | None:
        """Commit one write in a transaction of its own: None, or its error."""
        try:
            self.store.commit_transition(write)
        except Exception as error:
            return error
        return None

    def _replay(
        self, tenant: str, instance_id: str, key: str, request_hash: str
    ) -> AuditEntry | None:
        found = self.store.find_idempotency(tenant, instance_id, key)
        if found is None:
            return None
        if found.request_hash != request_hash:
            raise IdempotencyConflict(
                f"idempotency key {key!r} was used for another request to {instance_id}; "
                "use a new key for a new request"
            )
        (first,) = self.store.history(tenant, instance_id, after_seq=found.version - 1, limit=1)
        return AuditEntry.from_record(first)


def checked_event(event: Mapping[str, object] | str) -> Mapping[str, object]:
    """The event resolved (`normalize_event`), refused if of a reserved `xstate.` type.

    Raises:
        EventError: as `send`.
    """
    resolved = normalize_event(event)
    if str(resolved["type"]).startswith("xstate."):
        raise EventError(
            f"event type {resolved['type']!r} is reserved: statewright delivers xstate.* "
            "events itself (timers, step results); send your own event types"
        )
    return resolved


def checked_send(
    event: Mapping[str, object] | str, tenant: str, instance_id: str, actor: str | None
) -> Mapping[str, object]:
    """What `send` checks before it reads anything: the event resolved (`normalize_event`),
    not of a reserved `xstate.` type, and the ids well formed.

    Raises:
        EventError, PayloadError: as `send`.
    """
    resolved = checked_event(event)
    check_id(tenant, "tenant")
    check_id(instance_id, "instance id")
    if actor is not None:
        check_id(actor, "actor")
    return resolved
