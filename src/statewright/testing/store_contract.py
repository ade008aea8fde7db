"""The store contract: what every `Store` must do, as plain functions taking a migrated store.

Each `check_*` function takes an open store on an empty, migrated database, exercises one
promise and raises `AssertionError` if it is broken. `CONTRACT` lists them all; a test suite
runs each on each backend::

    @pytest.mark.parametrize("check", CONTRACT, ids=lambda check: check.__name__)
    def test_store_contract(store: Store, check: Check) -> None:
        check(store)

The builders (`start`, `step`) make consistent `TransitionWrite`s for the checks and for
other tests that need rows in a store.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from statewright.errors import (
    DefinitionMoved,
    IdempotencyConflict,
    InstanceExists,
    NotFound,
    StoreError,
    VersionConflict,
    WorkGone,
)
from statewright.store.protocol import SCHEMA_VERSION, Store
from statewright.store.records import (
    AuditRecord,
    DefinitionRecord,
    IdempotencyRecord,
    InstanceWrite,
    OutboxDelivered,
    OutboxFailed,
    OutboxWrite,
    StepAttemptRecord,
    StepRecord,
    StepWrite,
    TimerWrite,
    TransitionWrite,
    WorkerRecord,
)
from statewright.store.tokens import TokenRecord

__all__ = ["CONTRACT", "T0", "Check", "save_definition", "start", "step"]

_E = TypeVar("_E", bound=BaseException)

#: A check: takes a store on an empty migrated database, raises AssertionError on failure.
Check = Callable[[Store], None]
#: The time of the first transition in the checks (ms since the epoch).
T0 = 1_700_000_000_000
_CONFIG = '{"id": "order", "initial": "pending", "states": {"pending": {}}}'
#: Text that breaks naive SQL quoting or parameter styles of either backend.
_NASTY = 'it\'s "quoted" -- ; DROP TABLE instances; %s %(x)s :name ? $1 \\ \n\t ünï ✓ 🙂'


def save_definition(store: Store, definition_id: str = "order") -> None:
    """Save version 1 of a small definition (instances need a saved definition)."""
    store.save_definition(definition_id, f"sha-{definition_id}", _CONFIG, T0)


def step(
    instance_id: str = "order-42",
    version: int = 1,
    *,
    tenant: str = "acme",
    definition_id: str = "order",
    value: str = '"pending"',
    status: str = "active",
    runtime_status: str | None = None,
    **changes: Any,
) -> TransitionWrite:
    """The write of transition `version` of an instance (1 is the start); `changes` sets
    any other `TransitionWrite` field (timers, steps, outbox, idempotency, ...)."""
    audit = AuditRecord(
        tenant=tenant,
        instance_id=instance_id,
        seq=version,
        event=json.dumps({"type": "xstate.init" if version == 1 else f"E{version}"}),
        actor="ann",
        from_value=None if version == 1 else '"before"',
        to_value=value,
        status=status,
        runtime_status=runtime_status or "active",
        at=T0 + version * 1000,
        idempotency_key=None,
        microsteps="[]",
        effects="[]",
    )
    write = TransitionWrite(
        tenant=tenant,
        instance_id=instance_id,
        definition_id=definition_id,
        definition_version=1,
        expected_version=version - 1,
        instance=InstanceWrite(
            snapshot=json.dumps({"value": value, "version": version}),
            value=value,
            status=status,
            runtime_status=runtime_status,
        ),
        audit=audit,
    )
    return dataclasses.replace(write, **changes)


def start(instance_id: str = "order-42", **options: Any) -> TransitionWrite:
    """The write that starts an instance (`step(instance_id, 1, ...)`)."""
    return step(instance_id, 1, **options)


def _expect(kind: type[_E], call: Callable[[], object], what: str) -> _E:
    """Run `call`; the `kind` error it raised (AssertionError naming `what` if none)."""
    try:
        call()
    except kind as error:
        return error
    raise AssertionError(f"{what} was accepted")


def _commit_versions(store: Store, instance_id: str, last: int, **options: Any) -> None:
    for version in range(1, last + 1):
        store.commit_transition(step(instance_id, version, **options))


def _timer(timer_id: str, due_at: int) -> TimerWrite:
    return TimerWrite(timer_id=timer_id, due_at=due_at, event=json.dumps({"type": timer_id}))


def _step_write(invoke_id: str, amount: int = 1) -> StepWrite:
    return StepWrite(
        invoke_id=invoke_id,
        src="chargeCard",
        input=json.dumps({"amount": amount}),
        state="order.paying",
        idempotency_key=f"acme/order-42/{invoke_id}/{amount}",
        retry='{"attempts": 3}',
    )


def _message(message_id: str) -> OutboxWrite:
    return OutboxWrite(message_id=message_id, event=json.dumps({"type": message_id}))


# -- schema and definitions -------------------------------------------------------------------


def check_schema_is_current_and_migrate_is_idempotent(store: Store) -> None:
    """A migrated store is at SCHEMA_VERSION and empty; migrating again applies nothing."""
    assert store.schema_version() == SCHEMA_VERSION
    assert store.migrate() == []
    assert store.schema_version() == SCHEMA_VERSION
    assert (store.tenants(), store.count_instances(), store.list_definitions()) == ([], 0, [])


def check_definitions_are_versioned_by_hash(store: Store) -> None:
    """The same hash returns the stored version; a new hash gets the next version."""
    first = store.save_definition("order", "h1", _CONFIG, T0)
    assert first == DefinitionRecord(
        id="order", version=1, hash="h1", config=_CONFIG, created_at=T0
    )
    assert store.save_definition("order", "h1", "{}", T0 + 5) == first
    second = store.save_definition("order", "h2", '{"v": 2}', T0 + 9)
    assert (second.version, second.config) == (2, '{"v": 2}')
    other = store.save_definition("approval", "h1", "{}", T0)
    assert other.version == 1
    assert store.get_definition("order") == second
    assert store.get_definition("order", 1) == first
    assert store.get_definition("order", 3) is None
    assert store.get_definition("missing") is None
    assert store.list_definitions() == [other, second]


# -- commits ----------------------------------------------------------------------------------


def check_commit_of_a_start(store: Store) -> None:
    """A start inserts the instance at version 1 and its first audit row."""
    save_definition(store)
    write = start(runtime_status="active")
    store.commit_transition(write)
    record = store.load_instance("acme", "order-42")
    assert record is not None
    assert (record.tenant, record.id, record.version) == ("acme", "order-42", 1)
    assert (record.definition_id, record.definition_version) == ("order", 1)
    assert (record.snapshot, record.value) == (write.instance.snapshot, write.instance.value)
    assert (record.status, record.runtime_status) == ("active", "active")
    assert record.created_at == record.updated_at == write.audit.at
    assert store.history("acme", "order-42") == [write.audit]


def check_a_start_writes_its_work_in_order(store: Store) -> None:
    """A start with timers, steps and messages writes each row as given, in creation order,
    and the instance's runtime status from them."""
    save_definition(store)
    write = start(
        "s-1",
        timers_scheduled=(_timer("t-b", T0), _timer("t-a", T0)),
        steps_started=(_step_write("ship"), _step_write("charge", 7)),
        outbox=(_message("m-2"), _message("m-1")),
    )
    store.commit_transition(write)
    at = write.audit.at
    # The first due by (due time, creation number) comes first; the instance's next timer
    # waits while an earlier one is pending (claimed or not), so that workers never fire
    # one instance's timers out of order.
    timers = [store.claim_timers(T0, 60_000, 1) for _ in range(2)]
    assert [[(t.timer_id, t.due_at, t.event) for t in claimed] for claimed in timers] == [
        [("t-b", T0, '{"type": "t-b"}')],
        [],
    ]
    # Its lease over, the first is claimed again; the second still waits for it.
    again = store.claim_timers(T0 + 60_000, 60_000, 10)
    assert [t.timer_id for t in again] == ["t-b"]
    expected_steps = [
        StepRecord(tenant="acme", instance_id="s-1", **dataclasses.asdict(step_write),
                   started_version=1, status="pending", attempts=0, created_at=at,
                   next_attempt_at=at)
        for step_write in write.steps_started
    ]  # fmt: skip
    assert store.steps("acme", "s-1") == expected_steps
    claims = [store.claim_steps(at, 60_000, 1) for _ in range(3)]
    assert [[s.invoke_id for s in claimed] for claimed in claims] == [["ship"], ["charge"], []]
    assert [(m.message_id, m.version, m.event, m.status, m.created_at) for m in
            store.outbox("acme", "s-1")] == [
        ("m-2", 1, '{"type": "m-2"}', "pending", at), ("m-1", 1, '{"type": "m-1"}', "pending", at)
    ]  # fmt: skip
    statuses = {}
    starts: dict[str, dict[str, Any]] = {
        "running": {"steps_started": (_step_write("x"),)},
        "waiting": {"timers_scheduled": (_timer("t", T0),)},
        "active": {"outbox": (_message("only"),)},
        "done": {"status": "done", "value": '"done"'},
    }
    for name, changes in starts.items():
        store.commit_transition(start(f"s-{name}", **changes))
        record = store.load_instance("acme", f"s-{name}")
        assert record is not None
        statuses[name] = record.runtime_status
    assert statuses == {name: name for name in statuses}
    assert store.history("acme", "s-1") == [write.audit]


def check_a_start_pinned_to_the_latest_definition_fails_on_a_newer_one(store: Store) -> None:
    """`latest_definition`: a start on version 1 after version 2 was saved raises
    DefinitionMoved and writes nothing; on version 2 it commits; unpinned, version 1 does."""
    save_definition(store)
    store.commit_transition(start("o-1", latest_definition=True))
    store.save_definition("order", "sha-order-2", _CONFIG, T0)
    work: dict[str, Any] = {
        "latest_definition": True,
        "timers_scheduled": (_timer("t", T0),),
        "steps_started": (_step_write("s"),),
        "outbox": (_message("o-2-started"),),
    }
    _expect(DefinitionMoved, lambda: store.commit_transition(start("o-2", **work)), "version 1")
    assert store.load_instance("acme", "o-2") is None
    assert store.history("acme", "o-2") == []
    assert (store.pending_timers("acme", "o-2"), store.steps("acme", "o-2")) == ([], [])
    assert store.outbox("acme", "o-2") == []
    store.commit_transition(start("o-2", definition_version=2, **work))
    store.commit_transition(start("o-3"))
    versions = [store.load_instance("acme", f"o-{n}") for n in (1, 2, 3)]
    assert [(r.definition_version if r else None) for r in versions] == [1, 2, 1]


def check_commit_of_an_update(store: Store) -> None:
    """An update moves the version to the audit row's seq and keeps created_at."""
    save_definition(store)
    store.commit_transition(start())
    update = step("order-42", 2, value='"paid"')
    store.commit_transition(update)
    record = store.load_instance("acme", "order-42")
    assert record is not None
    assert (record.version, record.value, record.snapshot) == (
        2,
        '"paid"',
        update.instance.snapshot,
    )
    assert record.created_at == T0 + 1000
    assert record.updated_at == update.audit.at
    assert [row.seq for row in store.history("acme", "order-42")] == [1, 2]


def check_start_under_a_taken_id_raises_instance_exists(store: Store) -> None:
    """Starting an instance whose id is taken fails, naming the id, and changes nothing."""
    save_definition(store)
    store.commit_transition(start())
    taken = _expect(
        InstanceExists,
        lambda: store.commit_transition(start(value='"other"')),
        "a second start of order-42",
    )
    assert "order-42" in str(taken)
    record = store.load_instance("acme", "order-42")
    assert record is not None and record.value == '"pending"'
    assert len(store.history("acme", "order-42")) == 1


def check_stale_version_raises_version_conflict(store: Store) -> None:
    """A write from a stale version names the expected and the found version."""
    save_definition(store)
    _commit_versions(store, "order-42", 8)
    conflict = _expect(
        VersionConflict,
        lambda: store.commit_transition(step("order-42", 8)),
        "a write expecting version 7 of a version-8 instance",
    )
    assert (conflict.instance_id, conflict.expected, conflict.found) == ("order-42", 7, 8)
    assert str(conflict) == (
        "order-42 changed under you (expected version 7, found 8); reload and resend"
    )
    assert len(store.history("acme", "order-42")) == 8


def check_update_of_a_missing_instance_raises_not_found(store: Store) -> None:
    """An update of an instance that does not exist raises NotFound and writes nothing."""
    save_definition(store)
    missing = _expect(
        NotFound,
        lambda: store.commit_transition(step("ghost", 2)),
        "an update of a missing instance",
    )
    assert "ghost" in str(missing)
    assert store.history("acme", "ghost") == []


def check_commit_needs_a_saved_definition(store: Store) -> None:
    """An instance of a definition that was never saved is refused."""
    _expect(
        StoreError,
        lambda: store.commit_transition(start(definition_id="never-saved")),
        "an instance of an unsaved definition",
    )
    assert store.load_instance("acme", "order-42") is None


def check_tenants_are_isolated(store: Store) -> None:
    """Another tenant sees none of an instance, and may use the same id for its own."""
    save_definition(store)
    store.commit_transition(
        start(timers_scheduled=(_timer("t", T0),), steps_started=(_step_write("s"),))
    )
    assert store.load_instance("globex", "order-42") is None
    assert store.history("globex", "order-42") == []
    assert store.pending_timers("globex", "order-42") == []
    assert store.steps("globex", "order-42") == []
    assert store.outbox("globex", "order-42") == []
    assert store.list_instances("globex") == []
    assert store.tenants() == ["acme"]
    assert store.count_instances("globex") == 0
    _expect(
        NotFound,
        lambda: store.commit_transition(step("order-42", 2, tenant="globex")),
        "another tenant's update of acme's instance",
    )
    store.commit_transition(start(tenant="globex", value='"theirs"'))
    ours, theirs = (
        store.load_instance("acme", "order-42"),
        store.load_instance("globex", "order-42"),
    )
    assert ours is not None and theirs is not None
    assert (ours.value, theirs.value) == ('"pending"', '"theirs"')
    assert store.pending_timers("globex", "order-42") == []


# -- effects ----------------------------------------------------------------------------------


def check_timers_replace_cancel_and_fire_in_order(store: Store) -> None:
    """Timers come in (due time, creation) order; the same id replaces; cancel deletes."""
    save_definition(store)
    scheduled = (_timer("a", T0 + 100), _timer("b", T0 + 50), _timer("c", T0 + 100))
    store.commit_transition(start(timers_scheduled=scheduled))
    timers = store.pending_timers("acme", "order-42")
    assert [timer.timer_id for timer in timers] == ["b", "a", "c"]
    assert timers[0].event == '{"type": "b"}'
    assert (timers[0].tenant, timers[0].instance_id, timers[0].due_at) == (
        "acme",
        "order-42",
        T0 + 50,
    )
    seqs = {timer.timer_id: timer.created_seq for timer in timers}
    assert seqs["a"] < seqs["c"]
    store.commit_transition(step("order-42", 2, timers_scheduled=(_timer("a", T0 + 100),)))
    timers = store.pending_timers("acme", "order-42")
    assert [timer.timer_id for timer in timers] == ["b", "c", "a"]
    assert timers[2].created_seq > seqs["c"]
    store.commit_transition(step("order-42", 3, timers_cancelled=("b", "never-scheduled")))
    assert [timer.timer_id for timer in store.pending_timers("acme", "order-42")] == ["c", "a"]
    # Cancel then schedule in one write (a re-entered state): the new timer stays.
    store.commit_transition(
        step("order-42", 4, timers_cancelled=("c",), timers_scheduled=(_timer("c", T0 + 1),))
    )
    assert [timer.timer_id for timer in store.pending_timers("acme", "order-42")] == ["c", "a"]


def check_due_timers_are_claimed_once_until_their_lease_ends(store: Store) -> None:
    """`claim_timers` hands each due timer to one claimer, in firing order; a claim whose
    lease ended (its worker died) is due again; a replaced timer is a new, unclaimed one."""
    save_definition(store)
    store.commit_transition(start("order-a", timers_scheduled=(_timer("a", T0 + 2),)))
    timers = (_timer("b", T0 + 1), _timer("later", T0 + 60_000))
    store.commit_transition(start("order-b", timers_scheduled=timers))
    first = store.claim_timers(T0 + 10, 1_000, 1)
    second = store.claim_timers(T0 + 10, 1_000, 10)
    assert [t.timer_id for t in first + second] == ["b", "a"]
    assert store.claim_timers(T0 + 10, 1_000, 10) == []
    assert [t.timer_id for t in store.claim_timers(T0 + 1_010, 1_000, 10)] == ["b", "a"]
    store.commit_transition(step("order-a", 2, timers_scheduled=(_timer("a", T0 + 3),)))
    assert [t.timer_id for t in store.claim_timers(T0 + 1_020, 1_000, 10)] == ["a"]
    assert [t.timer_id for t in store.due_timers(T0 + 1_020)] == ["b", "a"]  # still pending


def check_an_instances_timers_are_claimed_in_order(store: Store) -> None:
    """An instance's timer is not claimed while an earlier one of the same instance is
    pending (claimed or not), so that two workers never fire its timers out of order;
    other instances' timers are not held up."""
    save_definition(store)
    timers = (_timer("first", T0 + 1), _timer("second", T0 + 2))
    store.commit_transition(start("order-1", timers_scheduled=timers))
    store.commit_transition(start("order-2", timers_scheduled=(_timer("other", T0 + 3),)))
    claimed = store.claim_timers(T0 + 10, 1_000, 10)
    assert [(t.instance_id, t.timer_id) for t in claimed] == [
        ("order-1", "first"),
        ("order-2", "other"),
    ]
    assert store.claim_timers(T0 + 10, 1_000, 10) == []  # "second" waits for "first"
    # "first" fired (deleted with its transition): "second" is due next.
    store.commit_transition(step("order-1", 2, consumed_timer=("first", claimed[0].created_seq)))
    assert [t.timer_id for t in store.claim_timers(T0 + 10, 1_000, 10)] == ["second"]


def check_steps_start_stop_and_replace(store: Store) -> None:
    """Started steps are pending with 0 attempts; stop deletes; a restart replaces the row."""
    save_definition(store)
    write = start(steps_started=(_step_write("charge"), _step_write("reserve")))
    store.commit_transition(write)
    charge, reserve = store.steps("acme", "order-42")
    assert (charge.invoke_id, reserve.invoke_id) == ("charge", "reserve")
    assert (charge.tenant, charge.instance_id, charge.src) == ("acme", "order-42", "chargeCard")
    assert (charge.input, charge.state, charge.retry) == (
        '{"amount": 1}',
        "order.paying",
        '{"attempts": 3}',
    )
    assert charge.idempotency_key == "acme/order-42/charge/1"
    assert (charge.status, charge.attempts) == ("pending", 0)
    assert (charge.started_version, charge.created_at) == (1, write.audit.at)
    store.commit_transition(step("order-42", 2, steps_stopped=("charge", "never-started")))
    assert [row.invoke_id for row in store.steps("acme", "order-42")] == ["reserve"]
    store.commit_transition(
        step("order-42", 3, steps_stopped=("reserve",), steps_started=(_step_write("reserve", 7),))
    )
    (restarted,) = store.steps("acme", "order-42")
    assert (restarted.input, restarted.started_version) == ('{"amount": 7}', 3)
    store.commit_transition(step("order-42", 4, steps_started=(_step_write("charge", 9),)))
    assert [row.invoke_id for row in store.steps("acme", "order-42")] == ["reserve", "charge"]


def check_outbox_rows_accumulate_in_order(store: Store) -> None:
    """Outbox messages are stored pending, with the version that emitted them, in order."""
    save_definition(store)
    store.commit_transition(start(outbox=(_message("m-1"), _message("m-2"))))
    store.commit_transition(step("order-42", 2, outbox=(_message("m-3"),)))
    messages = store.outbox("acme", "order-42")
    assert [(m.message_id, m.version) for m in messages] == [("m-1", 1), ("m-2", 1), ("m-3", 2)]
    first = messages[0]
    assert (first.tenant, first.instance_id, first.event) == ("acme", "order-42", '{"type": "m-1"}')
    assert (first.status, first.attempts, first.created_at) == ("pending", 0, T0 + 1000)


def check_outbox_claims_only_the_event_types_asked_for(store: Store) -> None:
    """A claim with `types` takes only the messages whose event type a descriptor matches as a
    listener pattern does (exact, case-sensitive, no SQL wildcards; `x.*` for `x` and
    `x.<...>`); the others stay pending and untouched for a claim that asks for them."""
    save_definition(store)
    types = ["order", "order.shipped", "order.shipped.late", "orders", "Order.shipped", "ping",
             "pin_", "a.b.c", "a.*.*", "100%"]  # fmt: skip
    store.commit_transition(start(outbox=tuple(_message(t) for t in types)))
    now = T0 + 2000

    def claimed(descriptors: list[str] | None) -> list[str]:
        # A lease of 0 leaves every message due again at `now`, for the next claim.
        claim = store.due_outbox(now, 100, lease_ms=0, types=descriptors)
        return sorted(message.message_id for message in claim)

    assert claimed(["order.*"]) == ["order", "order.shipped", "order.shipped.late"]
    assert claimed(["order.shipped"]) == ["order.shipped"]
    assert claimed(["pin_", "100%"]) == ["100%", "pin_"]
    assert claimed(["a.*.*"]) == ["a.*.*"]
    assert claimed(["ping", "Order.*", "a.b.*"]) == ["Order.shipped", "a.b.c", "ping"]
    assert claimed(["nothing.*"]) == [] and claimed([]) == []
    assert claimed(["ping", "*"]) == claimed(None) == sorted(types)

    def others() -> set[tuple[str, str, int, int]]:
        return {
            (m.message_id, m.status, m.attempts, m.next_attempt_at)
            for m in store.outbox("acme", "order-42")
            if m.message_id != "ping"
        }

    before = others()
    (ping,) = store.due_outbox(now, 100, lease_ms=60_000, types=["ping"])
    assert ping.message_id == "ping"
    assert store.next_work_at(outbox=True, outbox_types=["ping"]) == now + 60_000
    assert store.next_work_at(outbox=True, outbox_types=["orders"]) == now
    assert store.next_work_at(outbox=True, outbox_types=["nothing"]) is None
    assert store.next_work_at(outbox=True, outbox_types=[]) is None
    # Untouched: not claimed, so not charged (the claims above with a lease of 0 charged each
    # message they took an attempt).
    assert others() == before


def check_outbox_leases_renew_only_while_the_claim_is_ours(store: Store) -> None:
    """A heartbeat extends a claimed message's lease; once the message was claimed again (its
    lease ran out), delivered or failed, the old claim renews nothing."""
    save_definition(store)
    store.commit_transition(start(outbox=(_message("m-1"), _message("m-2"))))
    now = T0 + 2_000
    claimed = store.due_outbox(now, 10, lease_ms=1_000)
    first, second = sorted(claimed, key=lambda message: message.message_id)
    assert store.renew_outbox_lease(first, now + 1_000, now + 60_000)
    assert store.renew_outbox_lease(first, now + 60_000, now + 90_000)
    # Not due again while renewed; the unrenewed one falls due when its lease ends.
    assert [m.message_id for m in store.due_outbox(now + 30_000, 10, 1_000)] == ["m-2"]
    assert not store.renew_outbox_lease(second, now + 1_000, now + 60_000)  # claimed again
    assert not store.renew_outbox_lease(first, now + 1_000, now + 120_000)  # not its lease
    (again,) = store.due_outbox(now + 90_000, 10, 1_000, types=["m-1"])  # ran out: taken over
    assert not store.renew_outbox_lease(first, now + 90_000, now + 150_000)
    assert store.outbox_delivered(again, now + 90_500)
    assert not store.renew_outbox_lease(again, now + 91_000, now + 150_000)
    by_id = {m.message_id: m for m in store.outbox("acme", "order-42")}
    assert by_id["m-1"].status == "delivered"
    assert (by_id["m-2"].status, by_id["m-2"].next_attempt_at) == ("pending", now + 31_000)


def check_outbox_claims_charge_an_attempt_each(store: Store) -> None:
    """Each claim charges the message an attempt, so that a delivery lost with its worker
    has spent one; a claim that ran out (claimed again since) renews and records nothing; an
    outcome keeps the claim's count (a first delivery shows 1), or one fewer for a claim that
    gives the message up unmade; `skip` leaves messages unclaimed."""
    save_definition(store)
    store.commit_transition(start(outbox=(_message("m-1"), _message("m-2"))))
    now = T0 + 2_000
    (first,) = store.due_outbox(now, 10, lease_ms=1_000, skip=["m-2"])
    assert (first.message_id, first.attempts, first.next_attempt_at) == ("m-1", 1, now + 1_000)
    (again,) = store.due_outbox(now + 1_000, 10, 1_000, skip=["m-2"])  # ran out: claimed again
    assert (again.attempts, again.next_attempt_at) == (2, now + 2_000)
    assert not store.renew_outbox_lease(first, now + 1_000, now + 5_000)
    assert not store.outbox_delivered(first, now + 1_500)
    assert not store.outbox_failed(first, error="late", next_attempt_at=now, dead=False)
    assert store.renew_outbox_lease(again, now + 2_000, now + 3_000)
    assert store.outbox_failed(again, error="boom", next_attempt_at=now + 9_000, dead=False)
    (second,) = store.due_outbox(now + 1_000, 10, 1_000, types=["m-2"])
    assert store.outbox_delivered(second, now + 1_000)

    def rows() -> dict[str, tuple[str, int, str | None]]:
        return {
            m.message_id: (m.status, m.attempts, m.last_error)
            for m in store.outbox("acme", "order-42")
        }

    assert rows() == {"m-1": ("pending", 2, "boom"), "m-2": ("delivered", 1, None)}
    (third,) = store.due_outbox(now + 9_000, 10, 1_000)
    assert third.attempts == 3
    assert store.outbox_failed(third, error="lost", next_attempt_at=now, dead=True, attempts=2)
    assert rows()["m-1"] == ("dead", 2, "lost")


def check_outbox_batches_start_one_message_at_a_time(store: Store) -> None:
    """`due_outbox(..., started=1)` claims a batch and starts (charges) its first message only,
    the earliest due; `start_outbox` starts each of the others when its turn comes, holding
    it a whole lease from then, in one write with the outcome of the one before, so that a
    batch lost with its worker has charged only the message then being delivered. A held
    message is started also after its lease ran out, unless another claim took it; an
    outcome whose claim is no longer ours is not recorded."""
    save_definition(store)
    ids = ("m-1", "m-2", "m-3", "m-4", "m-5")
    store.commit_transition(start(outbox=tuple(_message(message_id) for message_id in ids)))
    now = T0 + 2_000

    def rows() -> dict[str, tuple[str, int, int]]:
        return {
            m.message_id: (m.status, m.attempts, m.next_attempt_at)
            for m in store.outbox("acme", "order-42")
        }

    held = now + 1_000
    claimed = store.due_outbox(now, 10, lease_ms=1_000, started=1)
    assert [(m.message_id, m.attempts, m.next_attempt_at) for m in claimed] == [
        ("m-1", 1, held),
        *((message_id, 0, held) for message_id in ids[1:]),
    ]
    first, second, third, fourth, _ = claimed
    assert store.due_outbox(now, 10, lease_ms=1_000) == []  # held, though not started
    recorded, started = store.start_outbox(
        second, now + 100, now + 1_100, after=OutboxDelivered(message=first)
    )
    assert recorded and started is not None
    assert (started.message_id, started.attempts, started.next_attempt_at) == (
        "m-2",
        1,
        now + 1_100,
    )
    assert rows() == {
        "m-1": ("delivered", 1, held),
        "m-2": ("pending", 1, now + 1_100),
        **{message_id: ("pending", 0, held) for message_id in ids[2:]},
    }
    assert store.renew_outbox_lease(started, now + 1_100, now + 1_200)  # the start's claim
    assert not store.renew_outbox_lease(second, held, now + 1_200)  # not the batch's any more
    started = dataclasses.replace(started, next_attempt_at=now + 1_200)
    # Past the batch's lease: m-3 is taken by another claim (held, uncharged), m-4 is not.
    (taken,) = store.due_outbox(held, 1, lease_ms=1_000, started=0)
    assert (taken.message_id, taken.attempts, taken.next_attempt_at) == ("m-3", 0, held + 1_000)
    failure = OutboxFailed(message=started, error="boom", next_attempt_at=now + 9_000, dead=True)
    recorded, lost = store.start_outbox(third, held + 1, held + 2_000, after=failure)
    assert recorded and lost is None  # m-2's failure recorded, m-3 not ours to start
    assert store.start_outbox(third, held + 1, held + 2_000) == (True, None)
    recorded, late = store.start_outbox(
        fourth, held + 1, held + 5_000, after=OutboxDelivered(message=first)
    )
    assert not recorded  # m-1's outcome is not this claim's to record again
    assert late is not None and (late.attempts, late.next_attempt_at) == (1, held + 5_000)
    assert rows() == {
        "m-1": ("delivered", 1, held),
        "m-2": ("dead", 1, now + 9_000),
        "m-3": ("pending", 0, held + 1_000),
        "m-4": ("pending", 1, held + 5_000),
        "m-5": ("pending", 0, held),
    }
    # A claim starts the earliest due (m-4, failed and due again first); then by creation.
    assert store.outbox_failed(late, error="later", next_attempt_at=now, dead=False)
    again = store.due_outbox(held + 10_000, 10, lease_ms=1_000, started=1)
    assert [(m.message_id, m.attempts) for m in again] == [("m-4", 2), ("m-3", 0), ("m-5", 0)]


def check_idempotency_rows(store: Store) -> None:
    """The idempotency row is found by its key; a reused key fails the whole commit."""
    save_definition(store)
    store.commit_transition(start())

    def remembered(version: int) -> IdempotencyRecord:
        return IdempotencyRecord(
            tenant="acme", instance_id="order-42", key="k-1", request_hash="sha", version=version
        )

    store.commit_transition(step("order-42", 2, idempotency=remembered(2)))
    assert store.find_idempotency("acme", "order-42", "k-1") == remembered(2)
    assert store.find_idempotency("acme", "order-42", "k-2") is None
    assert store.find_idempotency("globex", "order-42", "k-1") is None
    reused = _expect(
        IdempotencyConflict,
        lambda: store.commit_transition(step("order-42", 3, idempotency=remembered(3))),
        "a second use of an idempotency key",
    )
    assert "k-1" in str(reused)
    record = store.load_instance("acme", "order-42")
    assert record is not None and record.version == 2


def check_drop_pending_work_deletes_every_timer_and_step(store: Store) -> None:
    """An instance that leaves `active` loses all its timers and steps, old and new."""
    save_definition(store)
    store.commit_transition(
        start(timers_scheduled=(_timer("t1", T0),), steps_started=(_step_write("s1"),))
    )
    store.commit_transition(
        step(
            "order-42",
            2,
            status="done",
            timers_scheduled=(_timer("t2", T0),),
            steps_started=(_step_write("s2"),),
            drop_pending_work=True,
        )
    )
    assert store.pending_timers("acme", "order-42") == []
    assert store.steps("acme", "order-42") == []


def check_runtime_status_is_computed_from_pending_work(store: Store) -> None:
    """Without a given runtime status: the status if not active, else running with a step,
    waiting with a timer, active with neither; a given one is kept."""
    save_definition(store)

    def runtime_status() -> str:
        record = store.load_instance("acme", "order-42")
        assert record is not None
        return record.runtime_status

    store.commit_transition(start())
    assert runtime_status() == "active"
    store.commit_transition(step("order-42", 2, timers_scheduled=(_timer("t", T0),)))
    assert runtime_status() == "waiting"
    store.commit_transition(step("order-42", 3, steps_started=(_step_write("s"),)))
    assert runtime_status() == "running"
    store.commit_transition(step("order-42", 4))  # nothing changes: still computed
    assert runtime_status() == "running"
    store.commit_transition(step("order-42", 5, steps_stopped=("s",)))
    assert runtime_status() == "waiting"
    store.commit_transition(step("order-42", 6, runtime_status="retrying"))
    assert runtime_status() == "retrying"
    store.commit_transition(step("order-42", 7, status="error"))
    assert runtime_status() == "error"
    assert store.list_instances("acme", runtime_status="error")[0].id == "order-42"


# -- reads ------------------------------------------------------------------------------------


def check_history_pages_in_sequence_order(store: Store) -> None:
    """history() returns audit rows after `after_seq`, at most `limit`, by seq."""
    save_definition(store)
    _commit_versions(store, "order-42", 5)
    assert [row.seq for row in store.history("acme", "order-42")] == [1, 2, 3, 4, 5]
    assert [row.seq for row in store.history("acme", "order-42", after_seq=2, limit=2)] == [3, 4]
    assert store.history("acme", "order-42", after_seq=5) == []


def check_list_filters_and_pages(store: Store) -> None:
    """list_instances filters by definition, status and runtime status, pages by id, and
    lists every tenant, by (tenant, id), for None."""
    save_definition(store)
    save_definition(store, "approval")
    store.commit_transition(start("o-3"))
    store.commit_transition(start("o-1", status="done"))
    store.commit_transition(start("o-2", timers_scheduled=(_timer("t", T0),)))
    store.commit_transition(start("a-1", definition_id="approval"))
    store.commit_transition(start("o-0", tenant="globex"))

    def ids(**filters: Any) -> list[str]:
        tenant = filters.pop("tenant", "acme")
        return [record.id for record in store.list_instances(tenant, **filters)]

    assert ids() == ["a-1", "o-1", "o-2", "o-3"]
    assert ids(definition_id="order") == ["o-1", "o-2", "o-3"]
    assert ids(status="done") == ["o-1"]
    assert ids(runtime_status="waiting") == ["o-2"]
    assert ids(definition_id="order", status="active") == ["o-2", "o-3"]
    assert ids(limit=2) == ["a-1", "o-1"]
    assert ids(after_id="o-1", limit=2) == ["o-2", "o-3"]
    assert ids(after_id="o-3") == []
    everyone = store.list_instances(None)
    assert [(r.tenant, r.id) for r in everyone][-2:] == [("acme", "o-3"), ("globex", "o-0")]
    assert ids(tenant=None, status="active") == ["a-1", "o-2", "o-3", "o-0"]
    assert (store.count_instances(), store.count_instances("acme")) == (5, 4)
    assert store.tenants() == ["acme", "globex"]
    _expect(
        ValueError, lambda: store.list_instances(None, after_id="o-1"), "after_id without tenant"
    )
    _expect(ValueError, lambda: store.list_instances("acme", limit=0), "limit=0")


# -- whole or nothing -------------------------------------------------------------------------


def check_a_failed_commit_leaves_nothing_behind(store: Store) -> None:
    """A commit that fails half-way (a duplicate outbox id) writes none of its rows."""
    save_definition(store)
    effects: dict[str, Any] = {
        "timers_scheduled": (_timer("t", T0),),
        "steps_started": (_step_write("s"),),
        "outbox": (_message("dup"), _message("dup")),
    }
    _expect(
        StoreError,
        lambda: store.commit_transition(start(**effects)),
        "two outbox messages with one id",
    )
    assert store.load_instance("acme", "order-42") is None
    assert store.history("acme", "order-42") == []
    assert store.pending_timers("acme", "order-42") == []
    assert store.steps("acme", "order-42") == []
    assert store.outbox("acme", "order-42") == []
    store.commit_transition(
        start(
            outbox=(_message("dup"),),
            timers_scheduled=(_timer("t0", T0),),
            steps_started=(_step_write("s0"),),
        )
    )
    cancels: dict[str, Any] = {"timers_cancelled": ("t0",), "steps_stopped": ("s0",)}
    _expect(
        StoreError,
        lambda: store.commit_transition(step("order-42", 2, **effects, **cancels)),
        "an outbox id used before",
    )
    record = store.load_instance("acme", "order-42")
    assert record is not None and record.version == 1
    assert [row.seq for row in store.history("acme", "order-42")] == [1]
    assert [timer.timer_id for timer in store.pending_timers("acme", "order-42")] == ["t0"]
    assert [row.invoke_id for row in store.steps("acme", "order-42")] == ["s0"]
    assert [m.message_id for m in store.outbox("acme", "order-42")] == ["dup"]
    store.commit_transition(step("order-42", 2))  # the instance is still usable


def check_a_batch_commits_together_and_leaves_refused_writes_out(store: Store) -> None:
    """`commit_transitions`: every write that `commit_transition` would accept is committed
    in one transaction; each refused one (stale version, taken id, a row the database
    refuses) is left out with its error, at its index, and writes nothing."""
    save_definition(store)
    store.commit_transition(start("order-1"))
    _commit_versions(store, "order-2", 2)
    outcomes = store.commit_transitions(
        [
            step("order-1", 2, outbox=(_message("m-1"),)),
            step("order-2", 2),  # stale: order-2 is at version 2
            start("order-3", timers_scheduled=(_timer("t", T0),)),
            start("order-1"),  # taken
            step("order-1", 3, outbox=(_message("m-1"),)),  # the database refuses the id
            step("order-2", 3, steps_started=(_step_write("charge"),)),
        ]
    )
    kinds = [None if outcome is None else type(outcome) for outcome in outcomes]
    assert kinds == [None, VersionConflict, None, InstanceExists, StoreError, None], outcomes
    versions = {
        instance_id: record.version
        for (_, instance_id), record in store.load_instances(
            [("acme", "order-1"), ("acme", "order-2"), ("acme", "order-3")]
        ).items()
    }
    assert versions == {"order-1": 2, "order-2": 3, "order-3": 1}
    assert [row.seq for row in store.history("acme", "order-1")] == [1, 2]
    assert [m.message_id for m in store.outbox("acme", "order-1")] == ["m-1"]
    assert [t.timer_id for t in store.pending_timers("acme", "order-3")] == ["t"]
    assert [s.invoke_id for s in store.steps("acme", "order-2")] == ["charge"]
    assert store.commit_transitions([]) == []


def check_a_batch_writes_every_row_a_single_commit_writes(store: Store) -> None:
    """A batch with no refused write (written query by query across the batch) leaves the
    rows that committing its writes one by one leaves: instances, consumed and cancelled
    work, new timers, steps and messages, dropped work, runtime statuses, audit rows."""
    save_definition(store)
    store.commit_transition(start("a", timers_scheduled=(_timer("t1", T0), _timer("t2", T0))))
    store.commit_transition(start("b", steps_started=(_step_write("charge"),)))
    store.commit_transition(start("c", timers_scheduled=(_timer("t", T0),)))
    (claimed,) = store.claim_steps(T0 + 1_000, 60_000, 10)
    outcomes = store.commit_transitions(
        [
            step("a", 2, consumed_timer=("t1", store.pending_timers("acme", "a")[0].created_seq),
                 timers_cancelled=("t2",), timers_scheduled=(_timer("t3", T0 + 5),)),
            step("b", 2, consumed_step=("charge", claimed.started_version, claimed.attempts),
                 steps_started=(_step_write("ship"),), outbox=(_message("b-paid"),)),
            step("c", 2, drop_pending_work=True, value='"done"', status="done"),
            start("d", outbox=(_message("d-started"),)),
        ]
    )  # fmt: skip
    assert outcomes == [None, None, None, None]
    records = store.load_instances([("acme", name) for name in "abcd"])
    assert [records[("acme", name)].version for name in "abcd"] == [2, 2, 2, 1]
    assert [t.timer_id for t in store.pending_timers("acme", "a")] == ["t3"]
    assert [(s.invoke_id, s.started_version) for s in store.steps("acme", "b")] == [("ship", 2)]
    assert [m.message_id for m in store.outbox("acme", "b")] == ["b-paid"]
    assert store.pending_timers("acme", "c") == []
    assert [m.message_id for m in store.outbox("acme", "d")] == ["d-started"]
    statuses = [records[("acme", name)].runtime_status for name in "abcd"]
    assert statuses == ["waiting", "running", "done", "active"]
    assert [len(store.history("acme", name)) for name in "abcd"] == [2, 2, 2, 1]


def check_a_batch_of_updates_leaves_each_runtime_status_its_pending_work_gives(
    store: Store,
) -> None:
    """A batch of transitions of existing instances only (PostgreSQL writes it in one
    statement) consumes, cancels, stops and drops exactly the named work, creates the new
    work in order, and leaves each instance the runtime status its pending work gives: a
    step waiting for a retry that the batch keeps wins over one it starts, a timer it keeps
    counts, and nothing left means active."""
    save_definition(store)
    store.commit_transition(start("a", timers_scheduled=(_timer("t1", T0), _timer("t2", T0))))
    store.commit_transition(start("b", steps_started=(_step_write("charge"),)))
    store.commit_transition(start("c", timers_scheduled=(_timer("t", T0),)))
    store.commit_transition(start("e", steps_started=(_step_write("s1"), _step_write("s2"))))
    store.commit_transition(
        start("f", steps_started=(_step_write("s"),), timers_scheduled=(_timer("t", T0),))
    )
    store.commit_transition(start("g", steps_started=(_step_write("only"),)))
    claimed = {(s.instance_id, s.invoke_id): s for s in store.claim_steps(T0 + 1_000, 60_000, 10)}
    assert store.retry_step(claimed[("e", "s2")], next_attempt_at=T0 + 9_000, error="boom")

    def consumed(instance_id: str, invoke_id: str) -> tuple[str, int, int]:
        run = claimed[(instance_id, invoke_id)]
        return (invoke_id, run.started_version, run.attempts)

    t1 = store.pending_timers("acme", "a")[0]
    outcomes = store.commit_transitions(
        [
            step("a", 2, consumed_timer=("t1", t1.created_seq), timers_cancelled=("t2",),
                 timers_scheduled=(_timer("t3", T0 + 5), _timer("t4", T0 + 5))),
            step("b", 2, consumed_step=consumed("b", "charge"),
                 steps_started=(_step_write("ship"), _step_write("pack")),
                 outbox=(_message("b-paid"), _message("b-next"))),
            step("c", 2, drop_pending_work=True, value='"done"', status="done"),
            step("e", 2, consumed_step=consumed("e", "s1"), steps_started=(_step_write("s3"),)),
            step("f", 2, steps_stopped=("s",)),
            step("g", 2, consumed_step=consumed("g", "only")),
        ]
    )  # fmt: skip
    assert outcomes == [None] * 6, outcomes
    names = "abcefg"
    records = store.load_instances([("acme", name) for name in names])
    assert [records[("acme", name)].version for name in names] == [2] * 6
    statuses = [records[("acme", name)].runtime_status for name in names]
    assert statuses == ["waiting", "running", "done", "retrying", "waiting", "active"]
    assert [t.timer_id for t in store.pending_timers("acme", "a")] == ["t3", "t4"]
    assert [s.invoke_id for s in store.steps("acme", "b")] == ["ship", "pack"]
    assert [m.message_id for m in store.outbox("acme", "b")] == ["b-paid", "b-next"]
    assert store.pending_timers("acme", "c") == []
    assert [(s.invoke_id, s.status) for s in store.steps("acme", "e")] == [
        ("s2", "retrying"),
        ("s3", "pending"),
    ]
    assert store.steps("acme", "f") == []
    assert [t.timer_id for t in store.pending_timers("acme", "f")] == ["t"]
    assert store.steps("acme", "g") == []
    assert [len(store.history("acme", name)) for name in names] == [2] * 6
    # New work is claimed in creation order (the retry after, being due later).
    due = [(s.instance_id, s.invoke_id) for _ in range(4)
           for s in store.claim_steps(T0 + 10_000, 60_000, 1)]  # fmt: skip
    assert due == [("b", "ship"), ("b", "pack"), ("e", "s3"), ("e", "s2")], due


def check_a_batch_of_updates_writes_nothing_of_a_refused_write(store: Store) -> None:
    """A batch of updates with a stale version or a step result whose run is gone commits
    the other writes and none of the rows of the refused ones."""
    save_definition(store)
    store.commit_transition(start("ok", steps_started=(_step_write("s"),)))
    store.commit_transition(start("stale"))
    store.commit_transition(start("gone", steps_started=(_step_write("s"),)))
    runs = {s.instance_id: s for s in store.claim_steps(T0 + 1_000, 60_000, 10)}
    store.commit_transition(step("stale", 2))
    store.commit_transition(step("gone", 2, steps_stopped=("s",)))

    def result(instance_id: str, version: int) -> TransitionWrite:
        run = runs[instance_id]
        return step(
            instance_id,
            version,
            consumed_step=("s", run.started_version, run.attempts),
            steps_started=(_step_write("next"),),
            outbox=(_message(f"{instance_id}-m"),),
        )

    outcomes = store.commit_transitions(
        [result("ok", 2), step("stale", 2, outbox=(_message("stale-m"),)), result("gone", 3)]
    )
    kinds = [None if outcome is None else type(outcome).__name__ for outcome in outcomes]
    assert kinds == [None, "VersionConflict", "WorkGone"], outcomes
    assert [s.invoke_id for s in store.steps("acme", "ok")] == ["next"]
    assert [m.message_id for m in store.outbox("acme", "ok")] == ["ok-m"]
    assert store.outbox("acme", "stale") == [] and store.outbox("acme", "gone") == []
    assert store.steps("acme", "gone") == []
    assert [len(store.history("acme", name)) for name in ("ok", "stale", "gone")] == [2, 2, 2]


def check_load_instances_reads_many_by_key(store: Store) -> None:
    """`load_instances` finds each (tenant, id) pair, never a same id of another tenant, and
    leaves out keys with no instance."""
    save_definition(store)
    odd = "o'; DROP TABLE instances; --"
    for tenant, instance_id in (("acme", "a"), ("acme", odd), ("globex", "a"), ("globex", "b")):
        store.commit_transition(start(instance_id, tenant=tenant))
    keys = [("acme", "a"), ("acme", odd), ("globex", "b"), ("acme", "b"), ("nobody", "a")]
    found = store.load_instances(keys)
    assert sorted(found) == [("acme", "a"), ("acme", odd), ("globex", "b")]
    assert all(record.tenant == key[0] and record.id == key[1] for key, record in found.items())
    assert store.load_instances([]) == {}


def check_step_leases_renew_only_while_the_claim_is_ours(store: Store) -> None:
    """A heartbeat extends the lease of a claimed run; once the run was claimed again (its
    lease expired), finished or stopped, the old claim renews nothing."""
    save_definition(store)
    NOW = T0 + 1_000  # the start's time: the runs are due from then
    store.commit_transition(start(steps_started=(_step_write("charge"), _step_write("ship"))))
    first = store.claim_steps(NOW, 1_000, 10)
    assert [claimed.invoke_id for claimed in first] == ["charge", "ship"]
    assert store.renew_step_leases(first, NOW + 60_000) == [True, True]
    assert store.claim_steps(NOW + 30_000, 1_000, 10) == []  # renewed: not due again yet
    assert {s.lease_until for s in store.steps("acme", "order-42")} == {NOW + 60_000}
    again = store.claim_steps(NOW + 60_000, 1_000, 10)  # expired: another worker takes over
    assert [claimed.attempts for claimed in again] == [2, 2]
    assert store.renew_step_leases(first, NOW + 90_000) == [False, False]
    store.commit_transition(step("order-42", 2, steps_stopped=("ship",)))
    assert store.renew_step_leases(again, NOW + 90_000) == [True, False]
    assert store.renew_step_leases([], NOW) == []


def check_the_next_due_time_of_timers_or_steps_alone(store: Store) -> None:
    """`next_work_at` with `steps=False` is the next timer's due time, with `timers=False`
    the next step run's (a worker's two loops each wait for their own kind)."""
    save_definition(store)
    store.commit_transition(
        start(timers_scheduled=(_timer("t", T0 + 5_000),), steps_started=(_step_write("s"),))
    )
    step_at = store.next_work_at(outbox=False, timers=False)
    assert step_at is not None and step_at < T0 + 5_000
    assert store.next_work_at(outbox=False) == step_at
    assert store.next_work_at(outbox=False, steps=False) == T0 + 5_000
    assert store.next_work_at(outbox=False, timers=False, srcs=["sendEmail"]) is None
    assert store.next_work_at(outbox=False, timers=False, steps=False) is None


def check_a_claim_takes_only_the_step_sources_given(store: Store) -> None:
    """A claim with `srcs` takes only runs of those sources; the others stay pending with no
    attempt charged, until a claim that provides them."""
    save_definition(store)
    NOW = T0 + 1_000
    ship = dataclasses.replace(_step_write("ship"), src="shipOrder")
    store.commit_transition(start(steps_started=(_step_write("charge"), ship)))
    # What is due for a worker is what it can claim: a run of a source it lacks is not.
    assert store.next_work_at(outbox=False, srcs=["sendEmail"]) is None
    assert store.next_work_at(outbox=False, srcs=[]) is None
    due = store.next_work_at(outbox=False)
    assert due is not None and store.next_work_at(outbox=False, srcs=["shipOrder"]) == due
    assert store.claim_steps(NOW, 1_000, 10, srcs=[]) == []
    assert store.claim_steps(NOW, 1_000, 10, srcs=["sendEmail"]) == []
    (shipped,) = store.claim_steps(NOW, 1_000, 10, srcs=["shipOrder", "sendEmail"])
    assert (shipped.invoke_id, shipped.attempts, shipped.claimed_from) == ("ship", 1, "pending")
    later = NOW + 3_600_000
    assert store.claim_steps(later, 1_000, 10, srcs=["shipOrder"]) == [
        dataclasses.replace(shipped, attempts=2, lease_until=later + 1_000, claimed_from="running")
    ]  # its lease lapsed: taken over
    charge = {s.invoke_id: s for s in store.steps("acme", "order-42")}["charge"]
    assert (charge.status, charge.attempts) == ("pending", 0)  # never charged
    (claimed,) = store.claim_steps(later, 1_000, 10, srcs=["chargeCard"])
    assert (claimed.invoke_id, claimed.attempts) == ("charge", 1)


def _attempt(invoke_id: str, attempt: int, **changes: Any) -> StepAttemptRecord:
    record = StepAttemptRecord(
        tenant="acme",
        instance_id="order-42",
        invoke_id=invoke_id,
        started_version=1,
        attempt=attempt,
        src="chargeCard",
        error_type="CardDeclined",
        error_message=_NASTY,
        started_at=T0 + 2_000,
        ended_at=T0 + 2_500 + attempt,
    )
    return dataclasses.replace(record, **changes)


def check_failed_step_attempts_are_kept_with_their_retry_or_error(store: Store) -> None:
    """A retry keeps its failed attempt in the same transaction (nothing when the claim is
    no longer ours); a transition that delivers a step's error keeps its attempt (nothing
    when the transition is refused); a lost attempt is kept once."""
    save_definition(store)
    store.commit_transition(start(steps_started=(_step_write("charge"), _step_write("ship"))))
    runs = {s.invoke_id: s for s in store.claim_steps(T0 + 1_000, 60_000, 10)}
    first = _attempt("charge", 1)
    assert store.retry_step(runs["charge"], next_attempt_at=T0 + 5_000, error="x", attempt=first)
    stale = _attempt("charge", 1, error_type="Stale")
    assert not store.retry_step(
        runs["charge"], next_attempt_at=T0 + 5_000, error="x", attempt=stale
    )
    assert store.step_attempts("acme", "order-42") == [first]
    lost = _attempt("ship", 1, error_type="WORKER_LOST", started_at=None)
    store.record_step_attempts([lost, lost])
    store.record_step_attempts([])
    (again,) = store.claim_steps(T0 + 5_000, 60_000, 10)
    last = _attempt("charge", 2, ended_at=T0 + 6_000)
    gone = step("order-42", 2, step_attempt=_attempt("charge", 9), consumed_step=("charge", 1, 1))
    _expect(WorkGone, lambda: store.commit_transition(gone), "a result of a stale claim")
    store.commit_transition(
        step("order-42", 2, step_attempt=last, consumed_step=("charge", 1, again.attempts))
    )
    assert store.step_attempts("acme", "order-42") == [first, lost, last]
    assert store.step_attempts("acme", "nobody") == []


def check_a_batch_keeps_the_attempts_of_the_steps_it_gives_up(store: Store) -> None:
    """`commit_transitions` writes each write's failed attempt with it, and none of a write
    it leaves out."""
    save_definition(store)
    for instance_id in ("order-1", "order-2"):
        store.commit_transition(start(instance_id, steps_started=(_step_write("charge"),)))
    runs = {s.instance_id: s for s in store.claim_steps(T0 + 1_000, 60_000, 10)}

    def given_up(instance_id: str, attempts: int) -> TransitionWrite:
        attempt = _attempt("charge", 1, instance_id=instance_id)
        return step(instance_id, 2, step_attempt=attempt, consumed_step=("charge", 1, attempts))

    outcomes = store.commit_transitions(
        [given_up("order-1", runs["order-1"].attempts), given_up("order-2", 7)]
    )
    assert [type(outcome) for outcome in outcomes] == [type(None), WorkGone]
    assert [a.instance_id for a in store.step_attempts("acme", "order-1")] == ["order-1"]
    assert store.step_attempts("acme", "order-2") == []


def check_workers_register_renew_and_go(store: Store) -> None:
    """A worker's row is written, renewed with what it provides now, read while it was
    heard of recently enough, deleted when it stops, and forgotten once long unheard of."""
    worker = WorkerRecord(
        id="w-1",
        host="host-a",
        pid=4242,
        steps='["chargeCard"]',
        listeners='["order.*"]',
        started_at=T0,
        heartbeat_at=T0,
    )
    old = dataclasses.replace(worker, id="w-0", heartbeat_at=T0 - 7_200_000)
    store.register_worker(old)
    store.register_worker(worker)
    assert store.live_workers(T0 - 7_200_000) == [old, worker]
    renewed = dataclasses.replace(worker, steps='["chargeCard", "ship"]', heartbeat_at=T0 + 5)
    store.register_worker(dataclasses.replace(renewed, started_at=T0 + 5), forget_before=T0)
    assert store.live_workers(T0 - 7_200_000) == [renewed]  # w-0 forgotten; start kept
    assert store.live_workers(T0 + 6) == []
    store.remove_worker("w-1")
    store.remove_worker("w-1")
    assert store.live_workers(0) == []


def check_sql_metacharacters_are_stored_verbatim(store: Store) -> None:
    """Every string field comes back exactly as written, quotes and placeholders included;
    JSON text keeps its spacing and key order."""
    nasty = _NASTY
    as_json = json.dumps({"z": nasty, "a": [1, 2.50, None]}, ensure_ascii=False).replace(
        ", ", ",   "
    )
    definition = store.save_definition(nasty, nasty + "#hash", as_json, T0)
    assert store.get_definition(nasty) == definition and definition.config == as_json
    write = TransitionWrite(
        tenant=nasty,
        instance_id=nasty + "#id",
        definition_id=nasty,
        definition_version=1,
        expected_version=0,
        instance=InstanceWrite(snapshot=as_json, value=nasty, status=nasty),
        audit=AuditRecord(
            tenant=nasty,
            instance_id=nasty + "#id",
            seq=1,
            event=as_json,
            actor=nasty,
            from_value=nasty,
            to_value=nasty,
            status=nasty,
            runtime_status=nasty,
            at=T0,
            idempotency_key=nasty,
            microsteps=as_json,
            effects=as_json,
        ),
        timers_scheduled=(TimerWrite(timer_id=nasty, due_at=T0, event=as_json),),
        steps_started=(
            StepWrite(
                invoke_id=nasty,
                src=nasty,
                input=as_json,
                state=nasty,
                idempotency_key=nasty,
                retry=as_json,
            ),
        ),
        outbox=(OutboxWrite(message_id=nasty, event=as_json),),
        idempotency=IdempotencyRecord(
            tenant=nasty, instance_id=nasty + "#id", key=nasty, request_hash=nasty, version=1
        ),
    )
    store.commit_transition(write)
    instance_id = nasty + "#id"
    record = store.load_instance(nasty, instance_id)
    assert record is not None
    assert (record.tenant, record.id, record.definition_id) == (nasty, instance_id, nasty)
    assert (record.snapshot, record.value, record.status) == (as_json, nasty, nasty)
    assert record.runtime_status == nasty  # not active: the status itself
    assert store.history(nasty, instance_id) == [write.audit]
    (timer,) = store.pending_timers(nasty, instance_id)
    assert (timer.timer_id, timer.event) == (nasty, as_json)
    (started,) = store.steps(nasty, instance_id)
    assert (started.invoke_id, started.src, started.input) == (nasty, nasty, as_json)
    assert (started.state, started.idempotency_key, started.retry) == (nasty, nasty, as_json)
    (message,) = store.outbox(nasty, instance_id)
    assert (message.message_id, message.event) == (nasty, as_json)
    assert store.find_idempotency(nasty, instance_id, nasty) == write.idempotency
    assert [r.id for r in store.list_instances(nasty, status=nasty, definition_id=nasty)] == [
        instance_id
    ]
    assert store.count_instances(nasty) == 1


def check_concurrent_writers_of_one_version_conflict(store: Store) -> None:
    """Two threads writing from the same version: exactly one commits, the other conflicts;
    two threads starting the same id: one starts it, the other gets InstanceExists."""
    save_definition(store)
    store.commit_transition(start())
    outcomes = _race(store, [step("order-42", 2, value='"a"'), step("order-42", 2, value='"b"')])
    assert sorted(outcomes) == ["VersionConflict", "ok"], outcomes
    outcomes = _race(store, [start("order-43"), start("order-43")])
    assert sorted(outcomes) == ["InstanceExists", "ok"], outcomes


def check_concurrent_definition_saves_get_distinct_versions(store: Store) -> None:
    """Threads saving one new definition get one row; different hashes get 1, 2, ..."""
    barrier = threading.Barrier(4)
    saved: list[DefinitionRecord] = []

    def save(hash: str) -> None:
        barrier.wait()
        saved.append(store.save_definition("order", hash, _CONFIG, T0))

    threads = [threading.Thread(target=save, args=(hash,)) for hash in ("a", "a", "b", "c")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    by_hash = {record.hash: record.version for record in saved}
    assert len(saved) == 4 and sorted(by_hash.values()) == [1, 2, 3]
    assert len({record for record in saved if record.hash == "a"}) == 1


def _race(store: Store, writes: list[TransitionWrite]) -> list[str]:
    barrier = threading.Barrier(len(writes))
    outcomes: list[str] = []

    def commit(write: TransitionWrite) -> None:
        barrier.wait()
        try:
            store.commit_transition(write)
            outcomes.append("ok")
        except (VersionConflict, InstanceExists) as error:
            outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=commit, args=(write,)) for write in writes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def _token(prefix: str, tenant: str = "acme", **changes: Any) -> TokenRecord:
    fields: dict[str, Any] = {
        "prefix": prefix,
        "digest": "d" * 64,
        "tenant": tenant,
        "role": "operator",
        "event_roles": '["approver"]',
        "payloads": 1,
        "name": _NASTY,
        "created_at": T0,
    }
    return TokenRecord(**{**fields, **changes})


def check_tokens_are_found_listed_and_revoked(store: Store) -> None:
    """A saved token is found by its prefix, listed per tenant, and revoked once."""
    store.save_token(_token("p1"))
    store.save_token(_token("p2", tenant="other", payloads=0, created_at=T0 + 1))
    assert store.find_token("p1") == _token("p1")
    assert store.find_token("nope") is None
    assert [t.prefix for t in store.list_tokens()] == ["p1", "p2"]
    assert [t.prefix for t in store.list_tokens("other")] == ["p2"]
    assert store.list_tokens("other")[0].payloads == 0
    assert store.revoke_token("p1", T0 + 5)
    assert not store.revoke_token("p1", T0 + 9), "a second revocation changes nothing"
    assert not store.revoke_token("nope", T0 + 9)
    found = store.find_token("p1")
    assert found is not None and found.revoked_at == T0 + 5
    _expect(StoreError, lambda: store.save_token(_token("p2")), "a taken prefix")


def check_idempotent_requests_are_claimed_once_and_replayed(store: Store) -> None:
    """A key is claimed once per tenant; a finished request is returned as kept; a claim
    left unanswered is taken over once stale; dropped and forgotten keys are free again."""
    assert store.claim_request("acme", "k1", "h1", T0, T0 - 60_000) is None
    assert store.claim_request("other", "k1", "h9", T0, T0 - 60_000) is None, "per tenant"
    running = store.claim_request("acme", "k1", "h2", T0 + 1, T0 - 60_000)
    assert running is not None and running.response_status is None and running.request_hash == "h1"
    store.finish_request("acme", "k1", 201, '{"body": 1}')
    done = store.claim_request("acme", "k1", "h1", T0 + 2, T0 - 60_000)
    assert done is not None and (done.response_status, done.response) == (201, '{"body": 1}')
    assert store.claim_request("acme", "k2", "h1", T0, T0 - 60_000) is None
    assert store.claim_request("acme", "k2", "h1", T0 + 70_000, T0 + 10_000) is None, "stale"
    store.drop_request("acme", "k2")
    assert store.claim_request("acme", "k2", "h3", T0 + 80_000, T0) is None, "dropped"
    assert store.forget_requests(T0 + 50_000) == 2  # acme/k1 and other/k1
    assert store.claim_request("acme", "k1", "h4", T0 + 90_000, T0) is None, "forgotten"


#: Every check, in a sensible reading order.
CONTRACT: tuple[Check, ...] = (
    check_schema_is_current_and_migrate_is_idempotent,
    check_definitions_are_versioned_by_hash,
    check_commit_of_a_start,
    check_a_start_writes_its_work_in_order,
    check_a_start_pinned_to_the_latest_definition_fails_on_a_newer_one,
    check_commit_of_an_update,
    check_start_under_a_taken_id_raises_instance_exists,
    check_stale_version_raises_version_conflict,
    check_update_of_a_missing_instance_raises_not_found,
    check_commit_needs_a_saved_definition,
    check_tenants_are_isolated,
    check_timers_replace_cancel_and_fire_in_order,
    check_due_timers_are_claimed_once_until_their_lease_ends,
    check_an_instances_timers_are_claimed_in_order,
    check_steps_start_stop_and_replace,
    check_outbox_rows_accumulate_in_order,
    check_outbox_claims_only_the_event_types_asked_for,
    check_outbox_leases_renew_only_while_the_claim_is_ours,
    check_outbox_claims_charge_an_attempt_each,
    check_outbox_batches_start_one_message_at_a_time,
    check_idempotency_rows,
    check_drop_pending_work_deletes_every_timer_and_step,
    check_runtime_status_is_computed_from_pending_work,
    check_history_pages_in_sequence_order,
    check_list_filters_and_pages,
    check_a_failed_commit_leaves_nothing_behind,
    check_a_batch_commits_together_and_leaves_refused_writes_out,
    check_a_batch_writes_every_row_a_single_commit_writes,
    check_a_batch_of_updates_leaves_each_runtime_status_its_pending_work_gives,
    check_a_batch_of_updates_writes_nothing_of_a_refused_write,
    check_load_instances_reads_many_by_key,
    check_step_leases_renew_only_while_the_claim_is_ours,
    check_a_claim_takes_only_the_step_sources_given,
    check_the_next_due_time_of_timers_or_steps_alone,
    check_failed_step_attempts_are_kept_with_their_retry_or_error,
    check_a_batch_keeps_the_attempts_of_the_steps_it_gives_up,
    check_workers_register_renew_and_go,
    check_sql_metacharacters_are_stored_verbatim,
    check_concurrent_writers_of_one_version_conflict,
    check_concurrent_definition_saves_get_distinct_versions,
    check_tokens_are_found_listed_and_revoked,
    check_idempotent_requests_are_claimed_once_and_replayed,
)
