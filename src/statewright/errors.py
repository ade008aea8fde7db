"""Every public exception statewright raises.

The tree::

    StatewrightError
    ├── DefinitionError        a machine definition has faults; `.faults` lists each one
    ├── ExpressionError        an expression failed to compile or to evaluate
    ├── ImplementationError    a guard, action or delay raised while a transition ran
    ├── EventError             an event is malformed (no "type", not a mapping, ...)
    ├── LoopLimitError         eventless transitions kept firing past the iteration limit
    ├── SnapshotError          a stored snapshot does not fit the machine it is restored into
    ├── PathError              test paths cannot be explored as asked (a bad filter, the limit)
    ├── NotFound               no such instance or definition (for this tenant)
    ├── InstanceExists         starting an instance under an id that is taken
    ├── EventNotAccepted       the instance's current state does not accept the event
    ├── InstanceNotActive      cancelling an instance that is done, stopped or in error
    ├── StepNotRetryable       a step retried now that is not waiting for its next attempt
    ├── TransitionFailed       a guard or action raised during send: nothing was committed
    ├── VersionConflict        expected_version is stale: someone else moved the instance
    ├── NotPermitted           the caller's roles may not send this event in this state
    ├── IdempotencyConflict    an idempotency key reused with a different request
    ├── WorkGone               a timer or step was already handled, cancelled or replaced
    ├── PruneRunning           another run of `prune` holds the database's pruning lock
    ├── MigrationBlocked       a migration gave up waiting for a lock another transaction holds
    ├── PayloadError           an event or input that is not JSON, or too large
    │   ├── PayloadInvalid     an event or input that fails its declared JSON Schema
    │   └── AsOfAhead          an as_of past the position it is a count of
    ├── ConfigError            a bad store URL or engine option
    ├── StoreError             the database failed or is not usable
    │   ├── SchemaOutOfDate    the database schema is older (or newer) than this version
    │   ├── ForeignDatabase    another application's database, and statewright's not shared in
    │   └── StoreUnavailable   the database cannot be reached
    └── InternalError          a bug in statewright: please report it

Each message says what is wrong, where, and what to do about it; the same facts are on
attributes for programs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "AsOfAhead",
    "ConfigError",
    "DefinitionError",
    "DefinitionMoved",
    "EventError",
    "EventNotAccepted",
    "ExpressionError",
    "Fault",
    "ForeignDatabase",
    "IdempotencyConflict",
    "ImplementationError",
    "InstanceExists",
    "InstanceNotActive",
    "InternalError",
    "LoopLimitError",
    "MigrationBlocked",
    "NotFound",
    "NotPermitted",
    "PathError",
    "PayloadError",
    "PayloadInvalid",
    "PruneRunning",
    "SchemaOutOfDate",
    "SnapshotError",
    "StatewrightError",
    "StepNotRetryable",
    "StoreError",
    "StoreUnavailable",
    "TransitionFailed",
    "VersionConflict",
    "WorkGone",
]


class StatewrightError(Exception):
    """The root of every error statewright raises on purpose."""


@dataclass(frozen=True, slots=True)
class Fault:
    """One problem found in a definition.

    Attributes:
        path: where it is, as a JSON path into the definition (`states.review.on.APPROVE[0]`).
        message: what is wrong.
        fix: what to do about it.
    """

    path: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        where = self.path or "(machine)"
        return f"{where}: {self.message}" + (f"; {self.fix}" if self.fix else "")


class DefinitionError(StatewrightError):
    """A machine definition has one or more faults; fix each one listed and load it again."""

    def __init__(
        self,
        faults: Sequence[Fault],
        *,
        machine_id: str | None = None,
        source: str | None = None,
        missing: Sequence[Fault] = (),
    ) -> None:
        self.faults = tuple(faults)
        self.machine_id = machine_id
        #: Those of `faults` that are guards, actions, steps or delays nobody provided (listed
        #: with the structural faults when loading stopped at one).
        self.missing = tuple(missing)
        #: The file the definition came from, if it came from one.
        self.source = source
        head = f"machine {machine_id!r}" if machine_id else "the definition"
        if source:
            head = f"{source}: {head}"
        count = len(self.faults)
        lines = "\n".join(f"  {fault}" for fault in self.faults)
        super().__init__(f"{head} has {count} fault{'s' if count != 1 else ''}:\n{lines}")


class ExpressionError(StatewrightError):
    """An expression failed to compile or to evaluate; the message names it and the cause."""

    def __init__(self, message: str, *, expression: str, path: str = "") -> None:
        self.expression = expression
        self.path = path
        where = f"{path}: " if path else ""
        super().__init__(f"{where}expression {expression!r}: {message}")


class ImplementationError(StatewrightError):
    """A guard, action or delay raised while a transition ran.

    The original exception is the `__cause__`; fix the implementation or the data it read.
    `path` is where the definition refers to it (`states.paying.invoke.onDone.actions[0]`),
    when known.
    """

    def __init__(
        self, message: str, *, kind: str, name: str, state: str, event: str, path: str = ""
    ) -> None:
        self.kind = kind
        self.name = name
        self.state = state
        self.event = event
        self.path = path
        super().__init__(message)


class EventError(StatewrightError):
    """An event is malformed; send a mapping with a string "type"."""


class LoopLimitError(StatewrightError):
    """Eventless transitions kept firing past the iteration limit.

    Usually a cycle of `always` transitions whose guards never turn false; the message names the
    states in the cycle. Raise `max_iterations` only if the loop is meant to be that long.
    """

    def __init__(self, message: str, *, states: Sequence[str], limit: int) -> None:
        self.states = tuple(states)
        self.limit = limit
        super().__init__(message)


class NotFound(StatewrightError):
    """No such instance or definition visible to this tenant; check the id and the tenant."""


class InstanceExists(StatewrightError):
    """An instance with this id exists already; pick another id or send it events."""


class EventNotAccepted(StatewrightError):
    """The instance's current state accepts no transition for the event.

    `accepted` lists the events it does accept now; send one of those.
    """

    def __init__(
        self, message: str, *, instance_id: str, state: object, event: str, accepted: Sequence[str]
    ) -> None:
        self.instance_id = instance_id
        self.state = state
        self.event = event
        self.accepted = tuple(accepted)
        super().__init__(message)


class InstanceNotActive(StatewrightError):
    """The instance has finished (`done`, `stopped` or `error`): there is nothing left to
    cancel, and nothing was changed. `status` says how it finished, at `version`."""

    def __init__(self, message: str, *, instance_id: str, status: str, version: int) -> None:
        self.instance_id = instance_id
        self.status = status
        self.version = version
        super().__init__(message)


class StepNotRetryable(StatewrightError):
    """The step cannot be retried now; `reason` says why, and nothing was changed.

    `reason` is one of `running` (an attempt runs now), `pending` (its first attempt is due
    already: a worker that provides it will take it), `finished` (it ended with a result),
    `gave_up` (its attempts are spent and its error went to the chart), `no_step` (the
    instance has no such step), `no_waiting_step` (none of its steps waits for a retry) or
    `not_active` (the instance has finished). `status` is the step's status when it has one.
    """

    def __init__(
        self,
        message: str,
        *,
        instance_id: str,
        invoke_id: str | None,
        reason: str,
        status: str | None = None,
    ) -> None:
        self.instance_id = instance_id
        self.invoke_id = invoke_id
        self.reason = reason
        self.status = status
        super().__init__(message)


class TransitionFailed(StatewrightError):
    """A guard or action raised while the event was processed; nothing was committed.

    The cause (`__cause__`, also `.error`) names the guard or action; fix it or the data.
    """

    def __init__(self, message: str, *, instance_id: str, state: object, error: object) -> None:
        self.instance_id = instance_id
        self.state = state
        self.error = error
        super().__init__(message)


class VersionConflict(StatewrightError):
    """The instance changed since you read it; reload it and send again if still right."""

    def __init__(self, message: str, *, instance_id: str, expected: int, found: int) -> None:
        self.instance_id = instance_id
        self.expected = expected
        self.found = found
        super().__init__(message)


class NotPermitted(StatewrightError):
    """The transition the event takes declares `"statewright": {"roles": [...]}` and the
    caller holds none of them; nothing was committed. `required` names the roles that may."""

    def __init__(
        self, message: str, *, instance_id: str, event: str, required: Sequence[str]
    ) -> None:
        self.instance_id = instance_id
        self.event = event
        self.required = tuple(required)
        super().__init__(message)


class IdempotencyConflict(StatewrightError):
    """The idempotency key was used before for a different request; use a new key."""


class WorkGone(StatewrightError):
    """A timer (or step) was handled by another worker, cancelled or replaced meanwhile;
    nothing was committed and there is nothing to do."""


class DefinitionMoved(StatewrightError):
    """A start was pinned to a definition version that is no longer the latest (another
    process registered a newer one meanwhile); nothing was committed. `Engine.start` starts
    it again on the latest version."""


class PathError(StatewrightError):
    """`statewright.testing.paths` cannot explore as asked: a filter names no state, a sample
    event is malformed, or more states are reachable than `limit` allows. The message says
    which, and how to narrow the exploration."""


class PayloadError(StatewrightError):
    """An event or input is not JSON data or is too large; send JSON within the limit."""


class AsOfAhead(PayloadError):
    """An `as_of` (a bulk operation's or a redrive's) is past the current position of what it
    counts: the audit log for a bulk operation, the dead letters for a redrive. Give back the
    `as_of` a dry run returned, or leave it out to act on what matches now; nothing was changed.

    `as_of` is the position given, `position` the current one.
    """

    def __init__(self, message: str, *, as_of: int, position: int) -> None:
        self.as_of = as_of
        self.position = position
        super().__init__(message)


class PayloadInvalid(PayloadError):
    """An event's fields (or a start input) do not fit the JSON Schema its definition
    declares (`"statewright": {"events": {TYPE: schema}}`, or `"input"`); nothing was changed.

    `errors` lists each failure as `{"path": "items[2].sku", "message": "..."}` ("" is the
    whole event); fix those fields and send again. `event_type` is None for a start input.
    """

    def __init__(
        self,
        message: str,
        *,
        event_type: str | None,
        errors: Sequence[Mapping[str, str]],
        definition_id: str,
        instance_id: str | None = None,
    ) -> None:
        self.event_type = event_type
        self.errors = tuple(dict(error) for error in errors)
        self.definition_id = definition_id
        self.instance_id = instance_id
        super().__init__(message)


class PruneRunning(StatewrightError):
    """Another run of `prune` holds the database's pruning lock (one run at a time, from any
    host); nothing was removed. `holder` describes it where the database can tell."""

    def __init__(self, message: str, *, holder: str | None = None) -> None:
        self.holder = holder
        super().__init__(message)


class MigrationBlocked(StatewrightError):
    """A schema migration waited its lock timeout for a table another transaction holds a
    lock on, and gave up rather than make every other writer queue behind it; nothing of
    that migration was changed. The message names each holder and the fix.

    Attributes:
        migration: the migration that waited (`0014_worker_schedules`).
        holders: one line per transaction found holding a lock on its tables (process id,
            table, state, when its transaction and its last query started, the query).
        pids: those transactions' server process ids, in the same order.
    """

    def __init__(
        self,
        message: str,
        *,
        migration: str = "",
        holders: Sequence[str] = (),
        pids: Sequence[int] = (),
    ) -> None:
        super().__init__(message)
        self.migration = migration
        self.holders = tuple(holders)
        self.pids = tuple(pids)


class ConfigError(StatewrightError):
    """A bad store URL or engine option; the message says the accepted forms."""


class StoreError(StatewrightError):
    """The database failed or is not usable.

    Attributes:
        public: the cause and the fix in words that do not name the store (no path, host
            or URL), which the HTTP API may tell a caller without a token (readiness); None
            where the message alone says it.
    """

    public: str | None = None


class SchemaOutOfDate(StoreError):
    """The database schema is not the one this version needs: older (run `statewright db
    migrate`) or newer (upgrade statewright); the message says which.

    Attributes:
        found: the database's schema version (None where it was not read).
        needed: the schema version this statewright needs (None likewise).
    """

    def __init__(
        self, message: str, *, found: int | None = None, needed: int | None = None
    ) -> None:
        super().__init__(message)
        self.found = found
        self.needed = needed


class ForeignDatabase(StoreError):
    """The database holds another application's tables and no statewright schema; nothing
    was created. Check the URL, or add statewright's tables beside them (`share=True`,
    `statewright db migrate --share`).

    Attributes:
        tables: a few of its tables, by name.
    """

    def __init__(self, message: str, *, tables: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.tables = tuple(tables)


class StoreUnavailable(StoreError):
    """The database cannot be reached; check that it runs and the URL."""


class SnapshotError(StatewrightError):
    """A stored snapshot does not fit the machine; restore it into the version that saved it."""


class InternalError(StatewrightError):
    """A bug in statewright, not in your definition: please report it with the message."""
