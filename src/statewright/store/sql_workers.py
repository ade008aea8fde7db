"""The store operations on the rows beside the work itself: the failed step attempts kept
for the history, and the workers' rows (what each running worker provides, and when it was
last heard of). A mixin of `SqlStore`, over the same named queries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import ClassVar

from statewright.store.records import StepAttemptRecord, WorkerRecord
from statewright.store.transaction import Params, Row, Transaction, params_of

__all__ = ["WorkerRows"]


class WorkerRows:
    """Step attempts and workers' rows (see the module docstring)."""

    queries: ClassVar[Mapping[str, str]]

    def _transaction(self, *, write: bool, what: str) -> AbstractContextManager[Transaction]:
        raise NotImplementedError

    def _read_all(self, sql: str, params: Params, *, what: str) -> list[Row]:
        raise NotImplementedError

    def _run_alone(self, sql: str, params: Params, *, what: str) -> int:
        raise NotImplementedError

    def record_step_attempts(self, attempts: Sequence[StepAttemptRecord]) -> None:
        """Keep failed step attempts for the history (an attempt recorded already is kept
        as it was)."""
        if not attempts:
            return
        rows = [params_of(attempt) for attempt in attempts]
        with self._transaction(write=True, what=f"recording {len(rows)} step attempts") as tx:
            tx.run_many(self.queries["insert_step_attempt"], rows)

    def step_attempts(self, tenant: str, instance_id: str) -> list[StepAttemptRecord]:
        """The instance's failed step attempts, in the order they ended."""
        rows = self._read_all(
            self.queries["step_attempts"],
            {"tenant": tenant, "instance_id": instance_id},
            what=f"reading the step attempts of {instance_id!r}",
        )
        return [StepAttemptRecord(**row) for row in rows]

    # -- workers ------------------------------------------------------------------------------

    def register_worker(self, worker: WorkerRecord, *, forget_before: int | None = None) -> None:
        """Record that a worker runs and what it provides (again on every heartbeat: its
        `heartbeat_at` and what it provides are updated); with `forget_before`, forget the
        workers not heard of since then."""
        with self._transaction(write=True, what=f"registering worker {worker.id!r}") as tx:
            tx.run(self.queries["upsert_worker"], params_of(worker))
            if forget_before is not None:
                tx.run(self.queries["forget_workers"], {"before": forget_before})
        self._after_heartbeat()

    def _after_heartbeat(self) -> None:
        """Housekeeping a worker's heartbeat does besides (the store adds its own)."""

    def remove_worker(self, worker_id: str) -> None:
        """Forget a worker that stopped cleanly."""
        self._run_alone(
            self.queries["delete_worker"], {"id": worker_id}, what=f"removing worker {worker_id!r}"
        )

    def live_workers(self, alive_after: int) -> list[WorkerRecord]:
        """The workers heard of at or after `alive_after`, oldest first."""
        rows = self._read_all(
            self.queries["live_workers"], {"alive_after": alive_after}, what="listing workers"
        )
        return [WorkerRecord(**row) for row in rows]
