"""Reading instances: one as it stands, a tenant's list, the history and step attempts, and
`verify`, which replays the audit log through the chart."""

from __future__ import annotations

import builtins
import dataclasses
import json
from collections.abc import Iterator
from typing import Literal, overload

from statewright.chart import Machine, Snapshot
from statewright.engine.deciding import DEFAULT_TENANT, Deciding
from statewright.engine.payload import dump_json
from statewright.engine.views import AuditEntry, Instance, StepAttempt, VerifyResult
from statewright.engine.workers import waiting_for
from statewright.errors import StatewrightError
from statewright.store.records import InstanceRecord

__all__ = ["Reads"]


#: How many instances `verify_all` reads a page.
_VERIFY_PAGE = 500


class Reads(Deciding):
    """`get`, `history`, `step_attempts`, `verify` and `verify_all` (`list` is in
    `listing.py`)."""

    def get(self, instance_id: str, *, tenant: str = DEFAULT_TENANT) -> Instance:
        """The instance as it stands, with what it waits for when nobody is doing it
        (`waiting_for`: "a worker that provides chargeCard").

        Raises:
            NotFound: no such instance in this tenant.
        """
        record = self._load(tenant, instance_id)
        view = self._view(record)
        waiting = waiting_for(self.store, record, self.clock.now())
        return view if waiting is None else dataclasses.replace(view, waiting_for=waiting)

    @overload
    def history(
        self, instance_id: str, *, tenant: str = ..., attempts: Literal[False] = False
    ) -> builtins.list[AuditEntry]: ...

    @overload
    def history(
        self, instance_id: str, *, tenant: str = ..., attempts: Literal[True]
    ) -> builtins.list[AuditEntry | StepAttempt]: ...

    def history(
        self, instance_id: str, *, tenant: str = DEFAULT_TENANT, attempts: bool = False
    ) -> builtins.list[AuditEntry] | builtins.list[AuditEntry | StepAttempt]:
        """Every committed transition of the instance, oldest first; with `attempts`, its
        failed step attempts too (`StepAttempt`, `kind` "step_attempt"), placed by time:
        after the transition that started its run, before the ones that came after it ended.

        Raises:
            NotFound: no such instance in this tenant.
        """
        self._load(tenant, instance_id)
        entries: builtins.list[AuditEntry] = []
        while True:
            page = self.store.history(tenant, instance_id, after_seq=len(entries), limit=1000)
            entries.extend(AuditEntry.from_record(record) for record in page)
            if len(page) < 1000:
                break
        if not attempts:
            return entries
        at = {entry.seq: entry.at for entry in entries}

        def order(entry: AuditEntry | StepAttempt) -> tuple[int, int, int]:
            if isinstance(entry, AuditEntry):
                return (entry.at, entry.seq, 0)
            # Never before the transition that started its run, even in the same millisecond.
            started = entry.started_version
            return (max(entry.at, at.get(started, entry.at)), started, 1)

        merged: builtins.list[AuditEntry | StepAttempt] = [*entries]
        merged.extend(self.step_attempts(instance_id, tenant=tenant))
        return sorted(merged, key=order)

    def step_attempts(
        self, instance_id: str, *, tenant: str = DEFAULT_TENANT
    ) -> builtins.list[StepAttempt]:
        """The instance's failed step attempts (attempt number, error, when and how long),
        in the order they ended.

        Raises:
            NotFound: no such instance in this tenant.
        """
        self._load(tenant, instance_id)
        return [
            StepAttempt.from_record(record)
            for record in self.store.step_attempts(tenant, instance_id)
        ]

    def verify(self, instance_id: str, *, tenant: str = DEFAULT_TENANT) -> VerifyResult:
        """Replay the audit log through the chart and compare with the stored snapshot.

        Guards and actions run again, so they must not have side effects outside the
        snapshot (that is what `emit` and steps are for). Safe beside live workers: the
        snapshot and the log are compared at the version read.

        Raises:
            NotFound: no such instance in this tenant.
        """
        record = self._load(tenant, instance_id)
        machine = self.registry.machine(record.definition_id, record.definition_version)
        # The instance as read is one committed version; its audit rows up to that version
        # were committed with it and never change, so reading only those (a worker may
        # commit more meanwhile) compares the log and the snapshot at the same version.
        entries: builtins.list[AuditEntry] = []
        while len(entries) < record.version:
            page = self.store.history(
                tenant,
                instance_id,
                after_seq=len(entries),
                limit=min(1000, record.version - len(entries)),
            )
            entries.extend(AuditEntry.from_record(row) for row in page)
            if not page:
                break
        return _replay_log(machine, record, entries)

    def count_instances(self, tenant: str | None = None) -> int:
        """How many instances one tenant has, or (`None`) every tenant together: for an
        operator's tools, such as `verify_all`'s progress."""
        return self.store.count_instances(tenant)

    def verify_all(self, *, tenant: str | None = None) -> Iterator[VerifyResult]:
        """`verify` every instance of one tenant, or (`None`) of every tenant, by tenant then
        id, read a page at a time (memory stays flat however many there are). An instance
        that cannot be replayed (its definition gone, a guard that now raises) is a failed
        result with the error as its `problem`, and the walk goes on."""
        for name in [tenant] if tenant is not None else self.store.tenants():
            after: str | None = None
            while True:
                page = self.store.list_instances(name, after_id=after, limit=_VERIFY_PAGE)
                for record in page:
                    try:
                        yield self.verify(record.id, tenant=record.tenant)
                    except StatewrightError as error:
                        yield VerifyResult(
                            tenant=record.tenant,
                            instance_id=record.id,
                            ok=False,
                            checked=0,
                            problem=str(error),
                        )
                if len(page) < _VERIFY_PAGE:
                    break
                after = page[-1].id

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
