"""The store's records: frozen values whose constructor takes each field by keyword, with
the declared defaults (built through the slots directly, see `records._direct_init`)."""

from __future__ import annotations

import dataclasses

import pytest

from statewright.store import records
from statewright.store.records import AuditRecord, InstanceWrite, TransitionWrite


def _audit(**changes: object) -> AuditRecord:
    values: dict[str, object] = {
        "tenant": "acme",
        "instance_id": "o-1",
        "seq": 2,
        "event": '{"type":"GO"}',
        "actor": None,
        "from_value": '"a"',
        "to_value": '"b"',
        "status": "active",
        "runtime_status": "active",
        "at": 5,
        "idempotency_key": None,
        "microsteps": "[]",
        "effects": "[]",
    }
    return AuditRecord(**{**values, **changes})  # type: ignore[arg-type]


def test_a_record_holds_what_it_was_given_and_stays_frozen() -> None:
    audit = _audit()
    assert (audit.tenant, audit.seq, audit.to_value, audit.actor) == ("acme", 2, '"b"', None)
    assert audit == _audit() and hash(audit) == hash(_audit()) and audit != _audit(seq=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        audit.seq = 3  # type: ignore[misc]
    assert dataclasses.replace(audit, seq=3) == _audit(seq=3)


def test_defaults_apply_and_every_field_is_keyword_only() -> None:
    write = TransitionWrite(
        tenant="acme",
        instance_id="o-1",
        definition_id="order",
        definition_version=1,
        expected_version=1,
        instance=InstanceWrite(snapshot="{}", value='"b"', status="active"),
        audit=_audit(),
    )
    assert write.instance.runtime_status is None
    assert (write.timers_scheduled, write.outbox, write.idempotency) == ((), (), None)
    assert write.drop_pending_work is False
    with pytest.raises(TypeError, match="missing 1 required keyword-only argument: 'effects'"):
        AuditRecord(**{f: getattr(_audit(), f) for f in AuditRecord.__slots__[:-1]})
    with pytest.raises(TypeError, match="positional"):
        InstanceWrite("{}", '"b"', "active")  # type: ignore[call-arg]


@pytest.mark.parametrize("name", [name for name in records.__all__ if name != "direct_init"])
def test_every_record_takes_exactly_its_fields(name: str) -> None:
    cls = getattr(records, name)
    with pytest.raises(TypeError, match="unexpected keyword argument 'nonsense'"):
        cls(nonsense=1)
    assert cls.__init__.__qualname__ == f"{name}.__init__"
