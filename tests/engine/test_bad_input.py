"""Bad input gets a clear error and changes nothing in the database."""

from __future__ import annotations

import math

import pytest
from tests_support import order_machine

from statewright.engine import Engine
from statewright.errors import EventError, NotFound, PayloadError, StatewrightError
from statewright.testing import VirtualClock

SQL_NASTIES = [
    "'; DROP TABLE instances; --",
    'Robert"); DELETE FROM audit; --',
    "\\x00 OR 1=1",
    "%s %(x)s ? $1 :name",
    "ünïcødé ✓ 𝄞",
]


def fingerprint(engine: Engine) -> tuple[object, ...]:
    instances = engine.list(tenant="default", limit=1000)
    return tuple((i.id, i.version, len(engine.history(i.id))) for i in instances)


@pytest.fixture
def started(engine: Engine) -> Engine:
    engine.start("order", input={"amount": 5}, instance_id="o-1")
    return engine


@pytest.mark.parametrize(
    "event",
    [{}, {"type": 5}, {"type": ""}, {"kind": "APPROVE"}, ["APPROVE"], 42, None, {"type": "*"}],
    ids=["empty", "number-type", "empty-type", "no-type", "list", "int", "none", "wildcard"],
)
def test_malformed_events_are_refused(started: Engine, event: object) -> None:
    before = fingerprint(started)
    with pytest.raises(EventError):
        started.send("o-1", event)  # type: ignore[arg-type]
    assert fingerprint(started) == before


@pytest.mark.parametrize(
    "payload",
    [{1, 2}, math.nan, math.inf, object(), b"bytes"],
    ids=["set", "nan", "inf", "object", "bytes"],
)
def test_events_that_are_not_json_are_refused(started: Engine, payload: object) -> None:
    before = fingerprint(started)
    with pytest.raises(PayloadError, match="not JSON data"):
        started.send("o-1", {"type": "NOTE", "text": payload})
    assert fingerprint(started) == before


def test_an_oversized_event_is_refused_with_the_limit(store_url: str, clock: VirtualClock) -> None:
    with Engine.open(store_url, clock=clock, max_event_bytes=1000) as engine:
        engine.register(order_machine())
        engine.start("order", input={"amount": 5}, instance_id="o-1")
        before = fingerprint(engine)
        with pytest.raises(PayloadError, match="over the limit of 1000"):
            engine.send("o-1", {"type": "NOTE", "text": "x" * 2000})
        with pytest.raises(PayloadError, match="over the limit of 1000"):
            engine.start("order", input={"amount": 5, "blob": "y" * 2000})
        assert fingerprint(engine) == before
        engine.send("o-1", {"type": "NOTE", "text": "x" * 500})


@pytest.mark.parametrize("bad_id", ["", "a" * 201, "tab\there", "nul\x00"])
def test_malformed_ids_are_refused(started: Engine, bad_id: str) -> None:
    before = fingerprint(started)
    with pytest.raises(PayloadError, match="1 to 200 characters"):
        started.send(bad_id, "REJECT")
    with pytest.raises(PayloadError):
        started.start("order", input={"amount": 1}, instance_id=bad_id)
    with pytest.raises(PayloadError):
        started.send("o-1", "REJECT", tenant=bad_id)
    assert fingerprint(started) == before


def test_unknown_ids_and_other_tenants_ids_change_nothing(started: Engine) -> None:
    before = fingerprint(started)
    for call in (
        lambda: started.send("o-2", "REJECT"),
        lambda: started.send("o-1", "REJECT", tenant="other"),
        lambda: started.get("o-1", tenant="other"),
        lambda: started.verify("o-1", tenant="other"),
    ):
        with pytest.raises(NotFound):
            call()
    assert fingerprint(started) == before


@pytest.mark.parametrize("nasty", SQL_NASTIES)
def test_sql_metacharacters_in_every_string_field_are_stored_verbatim(
    engine: Engine, nasty: str
) -> None:
    clean = nasty.replace("\\x00", "x00")
    order = engine.start(
        "order", input={"amount": 1, "note": nasty}, instance_id=clean, tenant=clean, actor=clean
    )
    entry = engine.send(
        clean, {"type": "NOTE", "text": nasty}, tenant=clean, actor=clean, idempotency_key=clean
    )

    assert order.id == clean
    assert entry.actor == clean and entry.idempotency_key == clean
    assert engine.get(clean, tenant=clean).context["note"] == nasty  # type: ignore[index]
    assert [e.event.get("text") for e in engine.history(clean, tenant=clean)] == [None, nasty]
    assert engine.list(tenant=clean)[0].id == clean
    with pytest.raises(StatewrightError):
        engine.send(clean, {"type": nasty}, tenant=clean)
    assert engine.get(clean, tenant=clean).version == 2


def nested(depth: int) -> object:
    """Arrays nested `depth` deep (an odd depth alternates objects and arrays)."""
    value: object = "bottom"
    for level in range(depth):
        value = {"inner": value} if depth % 2 and level % 2 else [value]
    return value


@pytest.mark.parametrize(
    "event",
    [
        {"type": "NOTE", "text": "half a pair \ud800"},
        {"type": "NOTE", "text": {"key \udfff": 1}},
        {"type": "NOTE\ud800"},
    ],
    ids=["value", "key", "type"],
)
def test_a_lone_surrogate_in_an_event_is_refused(started: Engine, event: dict[str, object]) -> None:
    before = fingerprint(started)
    with pytest.raises(PayloadError, match="lone surrogate") as info:
        started.send("o-1", event)
    assert "valid UTF-8" in str(info.value)
    with pytest.raises(PayloadError, match="lone surrogate"):
        started.start("order", input={"amount": 1, "note": event})
    assert fingerprint(started) == before


def test_the_surrogate_is_located(started: Engine) -> None:
    with pytest.raises(PayloadError, match=r"at \.items\[1\]\.name"):
        started.send("o-1", {"type": "NOTE", "items": [{"name": "ok"}, {"name": "\ud800"}]})


@pytest.mark.parametrize("field", ["instance_id", "tenant", "actor", "idempotency_key"])
def test_a_lone_surrogate_in_an_id_is_refused(started: Engine, field: str) -> None:
    before = fingerprint(started)
    ids = {"instance_id": "o-1", field: "id-\ud800"}
    instance_id = ids.pop("instance_id")
    with pytest.raises(PayloadError, match="lone surrogates"):
        started.send(instance_id, {"type": "NOTE", "text": "x"}, **ids)
    if field != "idempotency_key":
        with pytest.raises(PayloadError, match="lone surrogates"):
            started.start("order", input={"amount": 1}, **{field: "id-\ud800"})
    assert fingerprint(started) == before


@pytest.mark.parametrize("depth", [65, 5000])
def test_an_event_nested_too_deep_is_refused(started: Engine, depth: int) -> None:
    before = fingerprint(started)
    with pytest.raises(PayloadError, match="nested deeper than 64 objects and arrays"):
        started.send("o-1", {"type": "NOTE", "text": nested(depth)})
    with pytest.raises(PayloadError, match="nested deeper than 64"):
        started.start("order", input={"amount": 1, "deep": nested(depth)})
    assert fingerprint(started) == before


def test_an_event_nested_within_the_limit_is_accepted(started: Engine) -> None:
    entry = started.send("o-1", {"type": "NOTE", "text": nested(62)})
    assert entry.seq == 2
    assert started.verify("o-1").ok


@pytest.mark.parametrize("expected", ["2", 2.0, True, -1, [2]])
def test_an_expected_version_that_is_no_whole_number_is_refused(
    started: Engine, expected: object
) -> None:
    before = fingerprint(started)
    with pytest.raises(PayloadError, match="expected_version must be a whole number") as info:
        started.send("o-1", "REJECT", expected_version=expected)  # type: ignore[arg-type]
    if expected == "2":
        assert "pass the number 2" in str(info.value)
    assert fingerprint(started) == before


@pytest.mark.parametrize("field", ["definition_id", "status", "runtime_status", "after"])
def test_a_lone_surrogate_in_a_list_filter_is_refused(started: Engine, field: str) -> None:
    with pytest.raises(PayloadError, match="lone surrogates"):
        started.list(**{field: "x\ud800"})  # type: ignore[arg-type]


def test_a_lone_surrogate_in_a_definition_id_is_refused(started: Engine) -> None:
    before = fingerprint(started)
    with pytest.raises(PayloadError, match="definition id"):
        started.start("or\ud800der", input={"amount": 1})
    assert fingerprint(started) == before


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"instance_id": "orders/2026/1"}, "instance id 'orders/2026/1' cannot be used: it holds"),
        ({"instance_id": ".."}, "instance id '..' cannot be used: it is read as a path step"),
        ({"instance_id": "ok", "tenant": "eu/west"}, "tenant 'eu/west' cannot be used"),
    ],
    ids=["slash", "dots", "tenant"],
)
def test_a_new_id_no_url_can_carry_is_refused_naming_a_fix(
    engine: Engine, kwargs: dict[str, str], match: str
) -> None:
    """Such an instance could never be read over HTTP, and a "/" would make its outbox
    message ids ambiguous; nothing is stored."""
    with pytest.raises(PayloadError, match=match):
        engine.start("order", input={"amount": 5}, **kwargs)
    with pytest.raises(PayloadError, match='holds a "/"'):
        engine.create_token(tenant="eu/west")
    assert engine.list() == [] and engine.list(tenant="eu/west") == []
