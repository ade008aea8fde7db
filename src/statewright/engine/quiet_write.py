"""The write of a quiet transition, built in one go.

Most sends decide a macrostep that schedules, cancels, starts and stops nothing and leaves
the instance active: the write is then the instance's new snapshot and one audit row, and
the store commits it in its shortest way (`fast_params.is_quiet`). `quiet_write` builds
that write and its audit entry straight from the macrostep, with the texts of
`stored_texts.py`: the same records, field for field, that `writes.build_write` and
`Deciding._prepare` build for it (`tests/engine/test_quiet_commits.py` compares the stored
rows of both), without the effect lists, the decoded parts and the keyword plumbing that
only other transitions need, and made by `record_makers.maker` rather than by calling their
classes.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from statewright.chart import Macrostep, Snapshot
from statewright.engine.heads import Head
from statewright.engine.stored_texts import microsteps_text, snapshot_texts
from statewright.engine.views import AuditEntry
from statewright.store.record_makers import maker
from statewright.store.records import AuditRecord, InstanceWrite, TransitionWrite

__all__ = ["quiet_write"]

_audit_record = maker(AuditRecord)
_instance_write = maker(InstanceWrite)
_transition_write = maker(TransitionWrite)
_audit_entry = maker(AuditEntry)


def quiet_write(
    head: Head,
    before: Snapshot,
    step: Macrostep,
    event: Mapping[str, object],
    event_text: str,
    actor: str | None,
    now: int,
) -> tuple[TransitionWrite, AuditEntry, Snapshot] | None:
    """The write of `step` (decided from `before`, the snapshot of `head`, on `event`, whose
    JSON is `event_text`), its audit entry and the new snapshot parsed, for a macrostep with
    no effects that leaves the instance active; None for any other, or when only the general
    build can write its snapshot (`stored_texts.snapshot_texts`). No idempotency key, no
    consumed work: the caller keeps those to the general build."""
    if step._effects:
        return None
    stored = snapshot_texts(step._snapshot)
    if stored is None:
        return None
    tenant, instance_id, version = head.tenant, head.id, head.version + 1
    microsteps = microsteps_text(step._steps)
    audit = _audit_record(
        tenant=tenant,
        instance_id=instance_id,
        seq=version,
        event=event_text,
        actor=actor,
        from_value=head.value,
        to_value=stored.value_text,
        status="active",
        runtime_status="active",  # no step or timer written: the audit row's view
        at=now,
        idempotency_key=None,
        microsteps=microsteps.decode(),
        effects="[]",
    )
    write = _transition_write(
        tenant=tenant,
        instance_id=instance_id,
        definition_id=head.definition_id,
        definition_version=head.definition_version,
        expected_version=head.version,
        instance=_instance_write(snapshot=stored.text, value=stored.value_text, status="active"),
        audit=audit,
    )
    entry = _audit_entry(
        tenant=tenant,
        instance_id=instance_id,
        seq=version,
        event=dict(event),
        actor=actor,
        from_value=before.value,
        to_value=stored.value,
        status="active",
        runtime_status="active",
        at=now,
        idempotency_key=None,
        microsteps=orjson.loads(microsteps),  # the entry's own copy
        effects=[],
    )
    return write, entry, stored.parsed
