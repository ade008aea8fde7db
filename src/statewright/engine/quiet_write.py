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

from statewright.chart import Macrostep, Snapshot
from statewright.engine.heads import Head
from statewright.engine.stored_texts import microsteps_data, microsteps_parts, snapshot_texts
from statewright.engine.views import AuditEntry
from statewright.store.record_makers import positional_maker
from statewright.store.records import AuditRecord, InstanceWrite, TransitionWrite

__all__ = ["quiet_write"]

# Positional: their fields in declared order (`tests/engine/test_quiet_commits.py` compares
# what they build with the general build's records).
_audit_record = positional_maker(AuditRecord)
_instance_write = positional_maker(InstanceWrite)
_transition_write = positional_maker(TransitionWrite)
_audit_entry = positional_maker(AuditEntry)


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
    tenant, instance_id, expected = head.tenant, head.id, head.version
    version = expected + 1
    microsteps, shape = microsteps_parts(step._steps)
    value_text = stored.value_text
    audit = _audit_record(
        tenant,
        instance_id,
        version,  # seq
        event_text,  # event
        actor,
        head.value,  # from_value
        value_text,  # to_value
        "active",  # status
        "active",  # runtime_status: no step or timer written, the audit row's view
        now,  # at
        None,  # idempotency_key
        microsteps,
        "[]",  # effects
    )
    write = _transition_write(
        tenant,
        instance_id,
        head.definition_id,
        head.definition_version,
        expected,  # expected_version
        _instance_write(stored.text, value_text, "active"),  # snapshot, value, status
        audit,
    )
    entry = _audit_entry(
        tenant,
        instance_id,
        version,  # seq
        dict(event),
        actor,
        before._config.value(),  # from_value: `before.value`
        stored.value,  # to_value
        "active",  # status
        "active",  # runtime_status
        now,  # at
        None,  # idempotency_key
        microsteps_data(shape),  # the entry's own copy
        [],  # effects
    )
    return write, entry, stored.parsed
