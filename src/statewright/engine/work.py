"""Timers and step results: applied one at a time, or many in one database transaction
(the worker's loops)."""

from __future__ import annotations

import builtins
import dataclasses
import json
from collections.abc import Mapping, Sequence

from statewright.chart import Snapshot
from statewright.chart.implementations import UserFunction
from statewright.engine.heads import Head
from statewright.engine.payload import event_json
from statewright.engine.sending import Sending
from statewright.engine.unapplied import log_unapplied
from statewright.engine.views import AuditEntry, StepResult
from statewright.errors import NotFound, StatewrightError, VersionConflict
from statewright.store.records import StepAttemptRecord, StepRecord, TimerRecord, TransitionWrite

__all__ = ["Outcome", "Work"]

#: How often a batch item is tried whose instance keeps moving meanwhile.
_BATCH_ROUNDS = 10

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
    step_attempt: StepAttemptRecord | None = None

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


class Work(Sending):
    """Firing timers and applying step results, alone or in batches."""

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

        An output whose transition raises (its `assign` reads a field the output lacks, say)
        is applied as the step's error event instead, carrying `{"type", "message", "path",
        "output"}` of that failure: the run ends on `onError`, and is not run again.

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
                    step_attempt=result.attempt,
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
            prepared: builtins.list[tuple[int, TransitionWrite, AuditEntry, Snapshot | None]] = []
            for index in now:
                item = work[index]
                try:
                    prepared.append((index, *self._prepare_work(item, heads.get(item.key))))
                except StatewrightError as error:
                    outcomes[index] = error
            committed = self.store.commit_transitions([write for _, write, _, _ in prepared])
            for (index, write, entry, parsed), refused in zip(prepared, committed, strict=True):
                if refused is None:
                    outcomes[index] = entry
                    self._heads.put(Head.after(write), parsed)
                    log_unapplied(work[index].event, entry)
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

    def _prepare_work(
        self, item: _Work, record: Head | None
    ) -> tuple[TransitionWrite, AuditEntry, Snapshot | None]:
        if record is None:
            raise NotFound(
                f"no instance {item.key[1]!r} in tenant {item.key[0]!r}; its "
                f"{item.event['type']!r} is discarded"
            )
        text = event_json(item.event, self.max_event_bytes, "the event")
        write, entry, parsed = self._prepare(
            record,
            item.event,
            text,
            actor=None,
            idempotency=None,
            expected_version=None,
            consumed_timer=item.consumed_timer,
            consumed_step=item.consumed_step,
        )
        if item.step_attempt is not None:  # kept for the history in the same transaction
            write = dataclasses.replace(write, step_attempt=item.step_attempt)
        return write, entry, parsed
