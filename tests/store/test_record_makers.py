"""`record_makers.maker` builds exactly what calling the record's class builds."""

from __future__ import annotations

import dataclasses

import pytest

from statewright.engine.views import AuditEntry
from statewright.store.record_makers import maker
from statewright.store.records import AuditRecord, InstanceWrite, TransitionWrite

AUDIT = dict(
    tenant="t", instance_id="i", seq=2, event="{}", actor=None, from_value='"a"',
    to_value='"b"', status="active", runtime_status="active", at=5, idempotency_key=None,
    microsteps="[]", effects="[]",
)  # fmt: skip


def test_a_made_record_equals_the_constructed_one_field_for_field() -> None:
    audit = maker(AuditRecord)(**AUDIT)
    assert type(audit) is AuditRecord and audit == AuditRecord(**AUDIT)
    instance = maker(InstanceWrite)(snapshot="{}", value='"b"', status="active")
    assert instance == InstanceWrite(snapshot="{}", value='"b"', status="active")
    assert instance.runtime_status is None  # a default, set as the constructor sets it
    common = dict(tenant="t", instance_id="i", definition_id="d", definition_version=1,
                  expected_version=1, instance=instance, audit=audit)  # fmt: skip
    write = maker(TransitionWrite)(**common)
    assert write == TransitionWrite(**common)  # type: ignore[arg-type]
    assert [getattr(write, f.name) for f in dataclasses.fields(write)] == [
        getattr(TransitionWrite(**common), f.name)  # type: ignore[arg-type]
        for f in dataclasses.fields(write)
    ]
    entry = dict(AUDIT, event={}, microsteps=[], effects=[])
    assert maker(AuditEntry)(**entry) == AuditEntry(**entry)  # type: ignore[arg-type]


def test_a_made_record_is_frozen_and_takes_only_its_fields() -> None:
    audit = maker(AuditRecord)(**AUDIT)
    with pytest.raises(dataclasses.FrozenInstanceError):
        audit.seq = 3  # type: ignore[misc]
    with pytest.raises(TypeError, match="missing 1 required keyword-only argument: 'seq'"):
        maker(AuditRecord)(**{k: v for k, v in AUDIT.items() if k != "seq"})
    with pytest.raises(TypeError, match="unexpected keyword argument 'extra'"):
        maker(AuditRecord)(**AUDIT, extra=1)


def test_a_class_without_slots_is_refused() -> None:
    @dataclasses.dataclass(frozen=True)
    class Plain:
        x: int

    with pytest.raises(TypeError, match=r"Plain\.x is not a slot"):
        maker(Plain)
