"""The rows the engine and the stores exchange: frozen values, one per kind of row.

Times are integers: milliseconds since the Unix epoch, UTC. JSON columns travel as `str`
(already serialised by the engine), so that what is stored is exactly what was written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TypeVar

from statewright.store.record_makers import draft_class, set_class, slot_setters

_T = TypeVar("_T")

__all__ = [
    "AuditRecord",
    "DefinitionRecord",
    "IdempotencyRecord",
    "InstanceRecord",
    "InstanceWrite",
    "OutboxDelivered",
    "OutboxFailed",
    "OutboxRecord",
    "OutboxWrite",
    "StateCountRecord",
    "StateMatch",
    "StepAttemptRecord",
    "StepRecord",
    "StepWrite",
    "TimerRecord",
    "TimerWrite",
    "TransitionWrite",
    "WorkCountRecord",
    "WorkerRecord",
    "direct_init",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class DefinitionRecord:
    """A stored machine definition: id + version; `hash` is the sha256 of canonical JSON."""

    id: str
    version: int
    hash: str
    config: str
    created_at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class InstanceRecord:
    """An instance as stored: its snapshot (JSON text) and the columns lists filter on."""

    tenant: str
    id: str
    definition_id: str
    definition_version: int
    version: int
    snapshot: str
    value: str
    status: str
    runtime_status: str
    created_at: int
    updated_at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRecord:
    """One committed transition: the event, who sent it, from where to where, and when.

    `seq` equals the instance version the transition produced (1 for the start).
    """

    tenant: str
    instance_id: str
    seq: int
    event: str
    actor: str | None
    from_value: str | None
    to_value: str
    status: str
    runtime_status: str
    at: int
    idempotency_key: str | None
    microsteps: str
    effects: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TimerWrite:
    """A timer to create (or replace, same `timer_id`): deliver `event` at `due_at`."""

    timer_id: str
    due_at: int
    event: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TimerRecord:
    """A pending timer as stored; `created_seq` orders timers with equal due times."""

    tenant: str
    instance_id: str
    timer_id: str
    due_at: int
    event: str
    created_seq: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StepWrite:
    """A step to start: invocation `invoke_id` runs actor `src` with `input` (JSON text).

    `idempotency_key` is stable for this invocation, for the outside world.
    """

    invoke_id: str
    src: str
    input: str
    state: str
    idempotency_key: str
    retry: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxWrite:
    """An outbox message to deliver after commit; `message_id` is stable."""

    message_id: str
    event: str


@dataclass(frozen=True, slots=True, kw_only=True)
class IdempotencyRecord:
    """A remembered `send`: the key, a hash of the request, and the version it produced."""

    tenant: str
    instance_id: str
    key: str
    request_hash: str
    version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class InstanceWrite:
    """The new state of an instance after a transition."""

    snapshot: str
    value: str
    status: str
    #: Computed by the store in the same transaction when None: running if a step is
    #: pending, waiting if a timer is pending, else active (or the status when not active).
    runtime_status: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TransitionWrite:
    """Everything one transition writes, committed in ONE database transaction.

    For a start, `expected_version` is 0 and the instance row is inserted; otherwise the row
    is updated only if its version is still `expected_version`.
    """

    tenant: str
    instance_id: str
    definition_id: str
    definition_version: int
    expected_version: int
    instance: InstanceWrite
    audit: AuditRecord
    timers_cancelled: tuple[str, ...] = ()
    timers_scheduled: tuple[TimerWrite, ...] = ()
    steps_stopped: tuple[str, ...] = ()
    steps_started: tuple[StepWrite, ...] = ()
    outbox: tuple[OutboxWrite, ...] = ()
    #: The instance left `active`: delete every pending timer and step it has.
    drop_pending_work: bool = False
    idempotency: IdempotencyRecord | None = None
    #: The timer (id, creation number) whose event this transition handles: deleted in the
    #: same transaction, which fails with WorkGone if it is no longer there as it was.
    consumed_timer: tuple[str, int] | None = None
    #: The step run (invoke id, started version, attempts) whose result this transition
    #: applies: deleted in the same transaction, which fails with WorkGone if it was stopped,
    #: replaced or finished meanwhile, so a result is applied exactly once.
    consumed_step: tuple[str, int, int] | None = None
    #: For a start: commit only if `definition_version` is still the latest stored version
    #: of `definition_id`, else fail with DefinitionMoved (nothing written).
    latest_definition: bool = False
    #: The failed attempt whose error this transition delivers (a step given up), kept for
    #: the history in the same transaction.
    step_attempt: StepAttemptRecord | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StepRecord:
    """A step run waiting to be (or being) run: what `StepWrite` created."""

    tenant: str
    instance_id: str
    invoke_id: str
    src: str
    input: str
    state: str
    idempotency_key: str
    retry: str | None
    started_version: int
    status: str
    attempts: int
    created_at: int
    next_attempt_at: int = 0
    lease_until: int | None = None
    last_error: str | None = None
    #: The status the latest claim took the run from; "running" means its previous attempt's
    #: worker stopped (its lease lapsed) and this claim took the run over.
    claimed_from: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StepAttemptRecord:
    """A failed attempt of a step run, kept for the history after the run is gone.

    `started_at` is None for an attempt whose worker was lost (only its end was seen: the
    take-over of its lapsed lease).
    """

    tenant: str
    instance_id: str
    invoke_id: str
    started_version: int
    attempt: int
    src: str
    error_type: str
    error_message: str
    started_at: int | None
    ended_at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkCountRecord:
    """One kind of waiting work over every tenant (`work_counts`): how many rows, at most the
    cap the count was read with, and the earliest due time among them (None for none, or for
    a kind that is not due)."""

    kind: str
    count: int
    oldest: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerRecord:
    """A running worker as it advertises itself: which step sources and listener patterns
    (JSON arrays) it provides, the specs of the cron schedules it runs (a JSON array; None
    from a worker older than schema 14), and when it was last heard of."""

    id: str
    host: str
    pid: int
    steps: str
    listeners: str
    started_at: int
    heartbeat_at: int
    schedules: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleTickRecord:
    """A claimed tick of a cron schedule: `status` "running" (claimed, its action not done;
    `lease_until` ends the claim) or "done"; `claims` counts the workers that claimed it
    (more than 1: taken over from a worker that died)."""

    name: str
    tick_at: int
    status: str
    lease_until: int | None
    claims: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxRecord:
    """An outbox message as stored."""

    tenant: str
    instance_id: str
    message_id: str
    version: int
    event: str
    status: str
    attempts: int
    created_at: int
    next_attempt_at: int = 0
    last_error: str | None = None
    delivered_at: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxDelivered:
    """The outcome of a claimed message's delivery: its listeners all returned (recorded at
    the `now` of the write that records it)."""

    message: OutboxRecord


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxFailed:
    """The outcome of a claimed message's delivery: it failed, to be tried again at
    `next_attempt_at`, or dead-lettered (`dead`), as `Store.outbox_failed` records it."""

    message: OutboxRecord
    error: str
    next_attempt_at: int
    dead: bool
    attempts: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StateMatch:
    """A business state to filter instances on: its key path from the root (`("review",
    "legal")`), for every definition or only `definition_id` (and `definition_version`)."""

    path: tuple[str, ...]
    definition_id: str | None = None
    definition_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StateCountRecord:
    """How many instances of a definition have one state value (JSON text)."""

    definition_id: str
    value: str
    count: int


def direct_init(cls: type[_T]) -> type[_T]:
    """Give the frozen slots dataclass `cls` an `__init__` that builds the object as
    `record_makers` does: turned into its draft twin, its fields stored as a plain
    object's, and turned back into `cls` (an instance of a subclass takes each field
    through its slot's descriptor instead). The generated one's `object.__setattr__` per
    field costs about ten times as much, and several records are built per transition. The
    same fields (all keyword-only, or all positional-or-keyword, as declared) and
    defaults; the instances stay frozen (assignment still raises). Returns `cls`, so it can
    decorate it.
    """
    keyword_only = {field.kw_only for field in fields(cls)}  # type: ignore[arg-type]
    if len(keyword_only) > 1:
        raise TypeError(f"{cls.__name__}: fields all keyword-only or none")
    names, parameters, body = slot_setters(cls)
    names.update(_cls=cls, _draft=draft_class(cls), _set_class=set_class)
    stores = "".join(f"        self.{field.name} = {field.name}\n" for field in fields(cls))  # type: ignore[arg-type]
    star = "*, " if keyword_only == {True} else ""
    source = (
        f"def __init__(self, {star}{', '.join(parameters)}):\n"
        "    if type(self) is _cls:\n"
        "        _set_class(self, _draft)\n"
        f"{stores}"
        "        self.__class__ = _cls\n"
        "    else:\n" + "\n".join("    " + line for line in body) + "\n"
    )
    exec(source, names)  # as dataclasses builds its own __init__
    init: Callable[..., None] = names["__init__"]  # type: ignore[assignment]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


for _name in __all__[:-1]:
    direct_init(globals()[_name])
