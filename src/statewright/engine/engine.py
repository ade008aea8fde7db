"""`Engine`: start instances and send them events, each transition committed whole.

    engine = Engine.open("sqlite:///app.db")
    engine.register(machine)
    order = engine.start("order", input={"orderId": "A-1", "amount": 2500})
    entry = engine.send(order.id, {"type": "APPROVE", "by": "ann"}, actor="ann")

`send` loads the instance, runs the chart's pure `transition`, and commits in ONE database
transaction the new snapshot (version + 1), the audit row and the rows its effects create or
delete (timers with absolute due times, steps to run, outbox messages). Nothing is executed
before the commit. Where a durable engine must differ from XState it does so here, and
docs/xstate-differences.md lists each difference:

- an event that enables no transition (no handler, and no eventless transition right after
  it) is refused with `EventNotAccepted`, naming the state and the events it accepts;
- a guard or action that raises refuses the send with `TransitionFailed`: nothing is written;
- `xstate.*` events are the runtime's to deliver (timers, step results), not the callers'.
"""

from __future__ import annotations

import builtins
import dataclasses
import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from statewright.chart import Machine, Macrostep, Snapshot
from statewright.chart.implementations import UserFunction
from statewright.chart.machine import normalize_event
from statewright.engine.clock import Clock, SystemClock
from statewright.engine.heads import DEFAULT_HEAD_CACHE, Head, HeadCache
from statewright.engine.payload import (
    DEFAULT_MAX_EVENT_BYTES,
    canonical_hash,
    check_id,
    dump_json,
    event_json,
)
from statewright.engine.registry import Registry
from statewright.engine.views import AuditEntry, Instance, StepResult, VerifyResult
from statewright.engine.writes import build_write
from statewright.errors import (
    DefinitionMoved,
    EventError,
    EventNotAccepted,
    IdempotencyConflict,
    NotFound,
    StatewrightError,
    TransitionFailed,
    VersionConflict,
    WorkGone,
)
from statewright.store import open_store
from statewright.store.records import (
    DefinitionRecord,
    InstanceRecord,
    StepRecord,
    TimerRecord,
    TransitionWrite,
)
from statewright.store.schema import open_schema
from statewright.store.url import resolve_url

if TYPE_CHECKING:
    from statewright.store.protocol import Store

__all__ = ["DEFAULT_TENANT", "Engine"]

log = logging.getLogger("statewright.engine")

DEFAULT_TENANT = "default"


class Engine:
    """Durable instances of registered machines on one store."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock | None = None,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        head_cache: int = DEFAULT_HEAD_CACHE,
    ) -> None:
        """Run on an open, migrated `store`; prefer `Engine.open(url)`. `head_cache` is how
        many instances' latest heads are kept to skip the read before a send (`heads.py`)."""
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self.max_event_bytes = max_event_bytes
        self.registry = Registry(store, self.clock)
        self._heads = HeadCache(head_cache)

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        clock: Clock | None = None,
        create: bool = True,
        share: bool = False,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        head_cache: int = DEFAULT_HEAD_CACHE,
    ) -> Engine:
        """Open the store at `url` (`sqlite:///path.db` or `postgresql://user@host:port/db`;
        by default the STATEWRIGHT_URL environment variable, else `sqlite:///statewright.db`).

        An empty database gets the schema when `create` is true (a SQLite file is created
        then too, in a folder that must exist); several processes may do so at once. A
        database at an older schema version is not changed: run `statewright db migrate`.
        A database that holds another application's tables is refused unless `share` is
        true (statewright's tables then go beside them).

        Raises:
            SchemaOutOfDate: the schema is older or newer than this version needs.
            ConfigError: the URL is not one of the accepted forms.
            StoreError: another application's database (and not `share`), no such SQLite
                file (and not `create`) or no such folder, a damaged or read-only file.
            StoreUnavailable: the database cannot be reached.
        """
        store = open_store(resolve_url(url), create=create)
        try:
            open_schema(store, create=create, share=share)
        except BaseException:
            store.close()
            raise
        return cls(store, clock=clock, max_event_bytes=max_event_bytes, head_cache=head_cache)

    def close(self) -> None:
        """Release the store's connections."""
        self.store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- definitions --------------------------------------------------------------------------

    def register(self, machine: Machine) -> DefinitionRecord:
        """Store a machine's definition (a new version if it changed) and its implementations.

        Running instances stay on the version they started with.
        """
        return self.registry.register(machine)

    # -- instances ----------------------------------------------------------------------------

    def start(
        self,
        definition_id: str,
        *,
        input: object = None,
        instance_id: str | None = None,
        tenant: str = DEFAULT_TENANT,
        actor: str | None = None,
    ) -> Instance:
        """Start an instance of the latest version of a definition.

        Raises:
            NotFound: no such definition.
            InstanceExists: `instance_id` is taken in this tenant.
            PayloadError: `input` is not JSON data or too large; an id is malformed.
            TransitionFailed: a guard or action raised while entering the initial state.
            DefinitionMoved: other processes registered newer versions of the definition
                during five attempts in a row; start it again.
        """
        check_id(tenant, "tenant")
        instance_id = check_id(
            uuid.uuid4().hex if instance_id is None else instance_id, "instance id"
        )
        if actor is not None:
            check_id(actor, "actor")
        event = {"type": "xstate.init", "input": input}
        text = event_json(event, self.max_event_bytes, "the start input")
        # Pinned to the latest version seen here; the store refuses the start if another
        # process registered a newer one (DefinitionMoved), and it is made again on that.
        attempt = 0
        while True:
            definition = self.registry.latest(definition_id, fresh=attempt > 0)
            try:
                return self._start_on(definition, tenant, instance_id, text, actor)
            except DefinitionMoved:
                attempt += 1
                if attempt == _START_ROUNDS:
                    raise

    def _start_on(
        self,
        definition: DefinitionRecord,
        tenant: str,
        instance_id: str,
        text: str,
        actor: str | None,
    ) -> Instance:
        """Start the instance on this definition version, if it is still the latest."""
        machine = self.registry.machine(definition.id, definition.version)
        step = machine.initial_transition(json.loads(text)["input"])
        if step.snapshot.status == "error":
            raise _failed(instance_id, step.snapshot, "starting it")
        now = self.clock.now()
        write, _ = build_write(
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
            latest_definition=True,
        )
        self.store.commit_transition(write)
        self._heads.put(Head.after(write))
        # As stored, without reading it back: a new instance has no work but its own, so
        # the audit row's runtime status is the instance's.
        return Instance(
            tenant=tenant,
            id=instance_id,
            definition_id=definition.id,
            definition_version=definition.version,
            version=write.audit.seq,
            snapshot=step.snapshot,
            runtime_status=write.audit.runtime_status,
            created_at=now,
            updated_at=now,
        )

    def send(
        self,
        instance_id: str,
        event: dict[str, object] | str,
        *,
        tenant: str = DEFAULT_TENANT,
        actor: str | None = None,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
    ) -> AuditEntry:
        """Process an event and commit the transition; returns its audit entry.

        Raises:
            NotFound: no such instance in this tenant.
            EventError: the event has no string "type", or uses a reserved `xstate.` type.
            PayloadError: the event is not JSON data or is larger than `max_event_bytes`.
            EventNotAccepted: the current state accepts no transition for it.
            TransitionFailed: a guard or action raised; nothing was committed.
            VersionConflict: `expected_version` is stale, or another writer won the race.
            IdempotencyConflict: the key was used before for another request.
        """
        resolved = normalize_event(event)
        if str(resolved["type"]).startswith("xstate."):
            raise EventError(
                f"event type {resolved['type']!r} is reserved: statewright delivers xstate.* "
                "events itself (timers, step results); send your own event types"
            )
        return self.deliver(
            instance_id,
            resolved,
            tenant=tenant,
            actor=actor,
            idempotency_key=idempotency_key,
            expected_version=expected_version,
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
        )

    def fire_timer(self, timer: TimerRecord) -> AuditEntry:
        """Deliver a due timer's event and delete the timer in the same transaction.

        The event is committed even if no transition takes it (a guarded `after` whose guards
        fail is consumed, as in XState), so a timer fires exactly once.

        Raises:
            WorkGone: another worker fired it, or it was cancelled or replaced meanwhile.
            TransitionFailed: a guard or action raised; the timer stays for a later try.
        """
        event = json.loads(timer.event)
        return self._handle(
            timer.tenant,
            timer.instance_id,
            event,
            actor=None,
            idempotency_key=None,
            expected_version=None,
            consumed_timer=(timer.timer_id, timer.created_seq),
        )

    def step_function(self, step: StepRecord) -> UserFunction | None:
        """The provided actor a step run calls, or None if this process has none for it."""
        return self.step_functions([step])[0]

    def finish_step(
        self,
        step: StepRecord,
        *,
        output: object = None,
        error: object = None,
        failed: bool = False,
    ) -> AuditEntry:
        """Apply a step run's result: XState's done event (`output`) or, when `failed`, its
        error event (`error`), and delete the step run in the same transaction.

        Raises:
            WorkGone: the step run was stopped with its state, replaced or finished meanwhile;
                the result is discarded.
        """
        return self._handle(
            step.tenant,
            step.instance_id,
            _step_event(step, output, error, failed),
            actor=None,
            idempotency_key=None,
            expected_version=None,
            consumed_step=(step.invoke_id, step.started_version, step.attempts),
        )

    # -- work in batches: one database transaction for many (the worker's loops) ------------

    def fire_timers(self, timers: Sequence[TimerRecord]) -> builtins.list[Outcome]:
        """`fire_timer` for many timers, committed in one database transaction (one flush to
        disk for all). Per timer, in order: its audit entry, or the error `fire_timer` would
        have raised (the others are committed regardless)."""
        return self._handle_batch(
            [
                _Work(
                    timer.tenant,
                    timer.instance_id,
                    json.loads(timer.event),
                    consumed_timer=(timer.timer_id, timer.created_seq),
                )
                for timer in timers
            ]
        )

    def finish_steps(self, results: Sequence[StepResult]) -> builtins.list[Outcome]:
        """`finish_step` for many step runs, committed in one database transaction. Per
        result, in order: its audit entry, or the error `finish_step` would have raised
        (e.g. `WorkGone` for a run stopped meanwhile, `PayloadError` for an output too
        large); the others are committed regardless."""
        return self._handle_batch(
            [
                _Work(
                    result.step.tenant,
                    result.step.instance_id,
                    _step_event(result.step, result.output, result.error, result.failed),
                    consumed_step=(
                        result.step.invoke_id,
                        result.step.started_version,
                        result.step.attempts,
                    ),
                )
                for result in results
            ]
        )

    def step_functions(self, steps: Sequence[StepRecord]) -> builtins.list[UserFunction | None]:
        """`step_function` for many step runs, reading their instances in one query."""
        records = self.store.load_instances([(step.tenant, step.instance_id) for step in steps])
        for loaded in records.values():
            # Their results come next: `finish_steps` starts from these heads, not a re-read.
            self._heads.put(Head.of(loaded))
        functions: builtins.list[UserFunction | None] = []
        for step in steps:
            record = records.get((step.tenant, step.instance_id))
            if record is None:
                functions.append(None)
                continue
            machine = self.registry.machine(record.definition_id, record.definition_version)
            functions.append(machine.implementations.actors.get(step.src))
        return functions

    def _handle_batch(self, work: builtins.list[_Work]) -> builtins.list[Outcome]:
        """Prepare every item against its instance as loaded, commit them together, and go
        round again for items that met a moved instance (another event came first) or share
        an instance with an earlier item of the batch (applied one after the other)."""
        outcomes: builtins.list[Outcome | None] = [None] * len(work)
        conflicts: dict[int, int] = {}  # by item: how often its instance had moved
        todo = list(range(len(work)))
        while todo:
            now: builtins.list[int] = []
            later: builtins.list[int] = []
            keys: dict[tuple[str, str], None] = {}
            for index in todo:
                key = work[index].key
                (later if key in keys else now).append(index)
                keys[key] = None
            heads = self._load_heads(builtins.list(keys))
            prepared: builtins.list[tuple[int, TransitionWrite, AuditEntry]] = []
            for index in now:
                item = work[index]
                try:
                    prepared.append((index, *self._prepare_work(item, heads.get(item.key))))
                except StatewrightError as error:
                    outcomes[index] = error
            committed = self.store.commit_transitions([write for _, write, _ in prepared])
            for (index, write, entry), refused in zip(prepared, committed, strict=True):
                if refused is None:
                    outcomes[index] = entry
                    self._heads.put(Head.after(write))
                    continue
                self._heads.drop(write.tenant, write.instance_id)
                conflicts[index] = conflicts.get(index, 0) + 1
                if isinstance(refused, VersionConflict) and conflicts[index] < _BATCH_ROUNDS:
                    later.append(index)
                else:
                    outcomes[index] = refused
            todo = sorted(later)
        return [outcome for outcome in outcomes if outcome is not None]

    def _load_heads(self, keys: builtins.list[tuple[str, str]]) -> dict[tuple[str, str], Head]:
        """The heads of these instances: cached ones as they are (a stale one fails its
        commit with VersionConflict, and the item goes round again, read afresh), the others
        read in one query; an instance that does not exist is left out."""
        heads: dict[tuple[str, str], Head] = {}
        missing: builtins.list[tuple[str, str]] = []
        for key in keys:
            head = self._heads.get(*key)
            if head is None:
                missing.append(key)
            else:
                heads[key] = head
        for key, record in self.store.load_instances(missing).items():
            heads[key] = Head.of(record)
        return heads

    def _prepare_work(self, item: _Work, record: Head | None) -> tuple[TransitionWrite, AuditEntry]:
        if record is None:
            raise NotFound(
                f"no instance {item.key[1]!r} in tenant {item.key[0]!r}; its "
                f"{item.event['type']!r} is discarded"
            )
        text = event_json(item.event, self.max_event_bytes, "the event")
        return self._prepare(
            record,
            item.event,
            text,
            actor=None,
            idempotency=None,
            expected_version=None,
            consumed_timer=item.consumed_timer,
            consumed_step=item.consumed_step,
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
    ) -> AuditEntry:
        text = event_json(resolved, self.max_event_bytes, "the event")
        idempotency = None
        if idempotency_key is not None:
            check_id(idempotency_key, "idempotency key")
            request_hash = canonical_hash({"event": resolved, "expected": expected_version})
            replay = self._replay(tenant, instance_id, idempotency_key, request_hash)
            if replay is not None:
                return replay
            idempotency = (idempotency_key, request_hash)
        head = self._heads.get(tenant, instance_id)
        if head is not None and expected_version not in (None, head.version):
            head = None  # the caller expects another version: read what is stored
        while True:
            cached = head is not None
            if head is None:
                head = Head.of(self._fetch(tenant, instance_id))
            try:
                write, entry = self._prepare(
                    head,
                    resolved,
                    text,
                    actor=actor,
                    idempotency=idempotency,
                    expected_version=expected_version,
                    consumed_timer=consumed_timer,
                    consumed_step=consumed_step,
                )
                self.store.commit_transition(write)
            except StatewrightError:
                self._heads.drop(tenant, instance_id)
                if cached:
                    head = None  # the cached head may be stale: decide on the stored one
                    continue
                raise
            except BaseException:
                self._heads.drop(tenant, instance_id)
                raise
            self._heads.put(Head.after(write))
            return entry

    def _prepare(
        self,
        record: Head,
        resolved: Mapping[str, object],
        text: str,
        *,
        actor: str | None,
        idempotency: tuple[str, str] | None,
        expected_version: int | None,
        consumed_timer: tuple[str, int] | None,
        consumed_step: tuple[str, int, int] | None,
    ) -> tuple[TransitionWrite, AuditEntry]:
        """Run the event through the chart: the write to commit and the entry it makes.

        Raises:
            VersionConflict, EventNotAccepted, TransitionFailed, WorkGone: as `send`.
        """
        instance_id = record.id
        if expected_version is not None and expected_version != record.version:
            raise VersionConflict(
                f"{instance_id} changed under you (expected version {expected_version}, found "
                f"{record.version}); reload and resend",
                instance_id=instance_id,
                expected=expected_version,
                found=record.version,
            )
        machine = self.registry.machine(record.definition_id, record.definition_version)
        snapshot = Snapshot.from_json(machine, json.loads(record.snapshot))
        step = machine.transition(snapshot, resolved)
        consume = consumed_timer is not None or consumed_step is not None
        _check_accepted(instance_id, snapshot, step, resolved, consume=consume)
        write, parts = build_write(
            tenant=record.tenant,
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
            idempotency=idempotency,
        )
        if consume:
            write = dataclasses.replace(
                write, consumed_timer=consumed_timer, consumed_step=consumed_step
            )
        audit = write.audit
        entry = AuditEntry(
            tenant=record.tenant,
            instance_id=instance_id,
            seq=audit.seq,
            event=dict(resolved),
            actor=actor,
            from_value=snapshot.value,
            to_value=parts.to_value,
            status=audit.status,
            runtime_status=audit.runtime_status,
            at=audit.at,
            idempotency_key=idempotency[0] if idempotency else None,
            microsteps=parts.microsteps,
            effects=parts.effects,
        )
        return write, entry

    def get(self, instance_id: str, *, tenant: str = DEFAULT_TENANT) -> Instance:
        """The instance as it stands.

        Raises:
            NotFound: no such instance in this tenant.
        """
        return self._view(self._load(tenant, instance_id))

    def list(
        self,
        *,
        tenant: str = DEFAULT_TENANT,
        definition_id: str | None = None,
        status: str | None = None,
        runtime_status: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> builtins.list[Instance]:
        """Instances of a tenant, by id, filtered; page with `after` (the last id seen)."""
        check_id(tenant, "tenant")
        records = self.store.list_instances(
            tenant,
            definition_id=definition_id,
            status=status,
            runtime_status=runtime_status,
            after_id=after,
            limit=max(1, min(limit, 1000)),
        )
        return [self._view(record) for record in records]

    def history(
        self, instance_id: str, *, tenant: str = DEFAULT_TENANT
    ) -> builtins.list[AuditEntry]:
        """Every committed transition of the instance, oldest first.

        Raises:
            NotFound: no such instance in this tenant.
        """
        self._load(tenant, instance_id)
        entries: builtins.list[AuditEntry] = []
        while True:
            page = self.store.history(tenant, instance_id, after_seq=len(entries), limit=1000)
            entries.extend(AuditEntry.from_record(record) for record in page)
            if len(page) < 1000:
                return entries

    def verify(self, instance_id: str, *, tenant: str = DEFAULT_TENANT) -> VerifyResult:
        """Replay the audit log through the chart and compare with the stored snapshot.

        Guards and actions run again, so they must not have side effects outside the
        snapshot (that is what `emit` and steps are for).
        """
        record = self._load(tenant, instance_id)
        machine = self.registry.machine(record.definition_id, record.definition_version)
        entries = self.history(instance_id, tenant=tenant)
        return _replay_log(machine, record, entries)

    # -- helpers ------------------------------------------------------------------------------

    def _load(self, tenant: str, instance_id: str) -> InstanceRecord:
        check_id(tenant, "tenant")
        check_id(instance_id, "instance id")
        return self._fetch(tenant, instance_id)

    def _fetch(self, tenant: str, instance_id: str) -> InstanceRecord:
        """`_load` for ids already checked."""
        record = self.store.load_instance(tenant, instance_id)
        if record is None:
            raise NotFound(
                f"no instance {instance_id!r} in tenant {tenant!r}; check the id and the tenant"
            )
        return record

    def _view(self, record: InstanceRecord) -> Instance:
        machine = self.registry.machine(record.definition_id, record.definition_version)
        return Instance(
            tenant=record.tenant,
            id=record.id,
            definition_id=record.definition_id,
            definition_version=record.definition_version,
            version=record.version,
            snapshot=Snapshot.from_json(machine, json.loads(record.snapshot)),
            runtime_status=record.runtime_status,
            created_at=record.created_at,
            updated_at=record.updated_at,
        )

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


#: How often a batch item is tried whose instance keeps moving meanwhile.
_BATCH_ROUNDS = 10
#: How many times a start is made again on a definition version registered meanwhile.
_START_ROUNDS = 5

#: What a batch gives back per item: its audit entry, or the error it got.
Outcome = AuditEntry | StatewrightError


@dataclasses.dataclass(frozen=True, slots=True)
class _Work:
    """One timer or step result to apply in a batch."""

    tenant: str
    instance_id: str
    event: Mapping[str, object]
    consumed_timer: tuple[str, int] | None = None
    consumed_step: tuple[str, int, int] | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.tenant, self.instance_id)


def _step_event(step: StepRecord, output: object, error: object, failed: bool) -> dict[str, object]:
    """XState's done event for a step run's output, or its error event."""
    if failed:
        return {
            "type": f"xstate.error.actor.{step.invoke_id}",
            "actorId": step.invoke_id,
            "error": error,
        }
    return {
        "type": f"xstate.done.actor.{step.invoke_id}",
        "actorId": step.invoke_id,
        "output": output,
    }


def _check_accepted(
    instance_id: str,
    before: Snapshot,
    step: Macrostep,
    event: Mapping[str, object],
    *,
    consume: bool = False,
) -> None:
    after = step.snapshot
    if after.status == "error" and before.status == "active":
        if _is_unhandled_step_error(after, event):
            return  # XState's outcome, committed: the instance is in error with the step's error
        raise _failed(instance_id, after, f"handling {event['type']!r}")
    if consume and before.status != "active":
        raise WorkGone(
            f"{instance_id} is {before.status}: its timers and steps ended with it; "
            f"{event['type']!r} is discarded"
        )
    moved = step.selected or any(m.transitions for m in step.microsteps[1:])
    if before.status != "active" or not (moved or consume):
        accepted = ", ".join(before.accepted_events) or "nothing (it is " + before.status + ")"
        raise EventNotAccepted(
            f"{instance_id} (in {_state_text(before.value)}) does not accept "
            f"{event['type']!r}; it accepts {accepted}",
            instance_id=instance_id,
            state=before.value,
            event=str(event["type"]),
            accepted=before.accepted_events,
        )


def _is_unhandled_step_error(after: Snapshot, event: Mapping[str, object]) -> bool:
    """A step failed and nothing handles its error event: as in XState, the instance goes to
    `error` with the step's error. That is an outcome to commit, not a refused send."""
    return str(event["type"]).startswith("xstate.error.actor.") and after.error is event.get(
        "error"
    )


def _failed(instance_id: str, snapshot: Snapshot, doing: str) -> TransitionFailed:
    error = snapshot.error
    failed = TransitionFailed(
        f"{instance_id} (in {_state_text(snapshot.value)}) refused the event: {error} "
        f"while {doing}; nothing was committed",
        instance_id=instance_id,
        state=snapshot.value,
        error=error,
    )
    if isinstance(error, BaseException):
        failed.__cause__ = error
    return failed


def _state_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        parts = [f"{key}.{_state_text(inner)}" if inner else key for key, inner in value.items()]
        return parts[0] if len(parts) == 1 else "(" + ", ".join(parts) + ")"
    return str(value)


def _replay_log(
    machine: Machine, record: InstanceRecord, entries: list[AuditEntry]
) -> VerifyResult:
    def result(ok: bool, checked: int, problem: str | None = None) -> VerifyResult:
        return VerifyResult(
            tenant=record.tenant, instance_id=record.id, ok=ok, checked=checked, problem=problem
        )

    if not entries or entries[0].event.get("type") != "xstate.init":
        return result(False, 0, "the audit log does not begin with the start")
    snapshot: Snapshot | None = None
    for entry in entries:
        if snapshot is None:
            snapshot = machine.initial_transition(entry.event.get("input")).snapshot
        else:
            snapshot = machine.transition(snapshot, entry.event).snapshot
        if snapshot.value != entry.to_value or snapshot.status != entry.status:
            return result(
                False,
                entry.seq,
                f"at version {entry.seq} the replay is in "
                f"{snapshot.value!r} ({snapshot.status}), the log says "
                f"{entry.to_value!r} ({entry.status})",
            )
    assert snapshot is not None
    stored = json.loads(record.snapshot)
    if json.loads(dump_json(snapshot.to_json(), "snapshot")) != stored:
        return result(False, len(entries), "the replayed snapshot differs from the stored one")
    if len(entries) != record.version:
        return result(
            False, len(entries), f"the log has {len(entries)} rows for version {record.version}"
        )
    return result(True, len(entries))
