"""`record_makers.maker` builds exactly what calling the record's class builds."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from statewright.engine.views import AuditEntry
from statewright.store.record_makers import draft_class, maker, positional_maker
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


def test_the_positional_maker_takes_the_fields_in_their_declared_order() -> None:
    audit = positional_maker(AuditRecord)(*AUDIT.values())
    assert type(audit) is AuditRecord and audit == AuditRecord(**AUDIT)
    assert positional_maker(InstanceWrite)("{}", '"b"', "active") == InstanceWrite(
        snapshot="{}", value='"b"', status="active"
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        audit.at = 6  # type: ignore[misc]
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'effects'"):
        positional_maker(AuditRecord)(*list(AUDIT.values())[:-1])


def test_a_record_built_through_its_draft_is_its_class_and_nothing_else() -> None:
    made = [maker(AuditRecord)(**AUDIT), AuditRecord(**AUDIT)]
    for audit in made:
        assert type(audit) is AuditRecord and isinstance(audit, AuditRecord)
        assert not hasattr(audit, "__dict__")
        assert copy.copy(audit) == audit and pickle.loads(pickle.dumps(audit)) == audit
        with pytest.raises(dataclasses.FrozenInstanceError):
            del audit.tenant
    assert hash(made[0]) == hash(made[1])


def test_a_subclass_of_a_record_is_built_through_its_slots() -> None:
    @dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
    class Tagged(InstanceWrite):
        tag: str = "x"

    tagged = Tagged(snapshot="{}", value='"b"', status="active", tag="y")
    assert type(tagged) is Tagged and (tagged.snapshot, tagged.tag) == ("{}", "y")
    # The base's __init__ on a subclass instance (as `super().__init__` runs it).
    other = object.__new__(Tagged)
    InstanceWrite.__init__(other, snapshot="{}", value='"c"', status="active")
    assert type(other) is Tagged and other.value == '"c"'


def test_a_class_a_draft_cannot_stand_for_is_refused() -> None:
    @dataclasses.dataclass(frozen=True, slots=True, weakref_slot=True)
    class Weak:
        x: int

    with pytest.raises(TypeError, match="Weak: a draft cannot share its layout"):
        draft_class(Weak)  # a __weakref__ slot lies elsewhere in a draft

    class Base:
        __slots__ = ("y",)

    @dataclasses.dataclass(frozen=True, slots=True)
    class Child(Base):
        x: int

    with pytest.raises(TypeError, match="Child: only a slots dataclass based on object"):
        maker(Child)
