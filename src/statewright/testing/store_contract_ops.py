"""The store contract's part for operators and outside callers: instances by business state,
counts per state, a tenant's step runs, timers and dead letters by keyset, a step retried now,
dead letters redriven. Checks as in `store_contract`; `OPS_CONTRACT` lists them.
"""

from __future__ import annotations

import json

from statewright.store.protocol import Store
from statewright.store.records import OutboxWrite, StateMatch, StepWrite, TimerWrite
from statewright.testing.store_contract import T0, Check, save_definition, start

__all__ = ["OPS_CONTRACT"]


def _step_write(invoke_id: str) -> StepWrite:
    return StepWrite(
        invoke_id=invoke_id,
        src="chargeCard",
        input="{}",
        state="order.paying",
        idempotency_key=f"k/{invoke_id}",
        retry=None,
    )


def check_instances_are_found_by_business_state(store: Store) -> None:
    """A state path matches an atomic value, a compound or parallel state and a nested one;
    a matcher may be limited to one definition version; counts group by state value."""
    save_definition(store)
    save_definition(store, "approval")
    values = {
        "o-1": '"review"',
        "o-2": '{"review":"legal"}',
        "o-3": '{"ship":{"pack":"done","label":"printing"}}',
        "o-4": '"paid"',
        "o-5": '{"review":"legal"}',
    }
    for instance_id, value in values.items():
        store.commit_transition(start(instance_id, value=value))
    store.commit_transition(start("a-1", value='"review"', definition_id="approval"))
    store.commit_transition(start("x-1", value='"review"', tenant="globex"))

    def ids(*paths: tuple[str, ...], **filters: object) -> list[str]:
        matches = [StateMatch(path=path) for path in paths]
        found = store.find_instances("acme", states=matches, **filters)  # type: ignore[arg-type]
        return [record.id for record in found]

    assert ids(("review",)) == ["a-1", "o-1", "o-2", "o-5"]
    assert ids(("review", "legal")) == ["o-2", "o-5"]
    assert ids(("review", "legal"), after_id="o-2") == ["o-5"]
    assert ids(("ship",)) == ["o-3"]
    assert ids(("ship", "pack")) == ["o-3"]
    assert ids(("ship", "label", "printing")) == ["o-3"]
    assert ids(("ship", "label", "done")) == []
    assert ids(("paid",), ("ship", "pack", "done")) == ["o-3", "o-4"]
    assert ids(("review",), definition_id="order", limit=2) == ["o-1", "o-2"]
    assert ids(("legal",)) == []
    assert store.find_instances("acme", states=[]) == []
    only = StateMatch(path=("review",), definition_id="approval", definition_version=1)
    assert [r.id for r in store.find_instances("acme", states=[only])] == ["a-1"]
    stale = StateMatch(path=("review",), definition_id="approval", definition_version=2)
    assert store.find_instances("acme", states=[stale]) == []
    counts = [(c.definition_id, json.loads(c.value), c.count) for c in store.count_by_state("acme")]
    assert sorted(counts, key=str) == sorted(
        [
            ("approval", "review", 1),
            ("order", "paid", 1),
            ("order", "review", 1),
            ("order", {"review": "legal"}, 2),
            ("order", {"ship": {"pack": "done", "label": "printing"}}, 1),
        ],
        key=str,
    )
    reviewing = store.count_by_state("acme", states=[StateMatch(path=("review",))])
    assert sum(c.count for c in reviewing) == 4
    assert [c.count for c in store.count_by_state("globex", definition_id="order")] == [1]


def check_instances_are_found_by_id_prefix(store: Store) -> None:
    """An id prefix matches the ids that start with it, case and all, and only those: no
    LIKE wildcards, a last character U+10FFFF (which has no successor) kept; with the other
    filters, a business state and paging after an id."""
    top = "\U0010ffff"
    save_definition(store)
    paid = ("A-100", "A-2", "a-10", "A_10", f"A-1{top}z", f"{top}-x")
    ids = ("A-1", "A-10", "A-100", "A-101", "A-11", "A-2", "a-10", "A_10", "A%1", f"A-1{top}")
    for instance_id in (*ids, f"A-1{top}z", f"{top}-x", top):
        value = '"paid"' if instance_id in paid else '"review"'
        store.commit_transition(start(instance_id, value=value))
    store.commit_transition(start("A-10x", tenant="globex"))

    def found(prefix: str, **filters: object) -> list[str]:
        records = store.find_instances("acme", id_prefix=prefix, **filters)  # type: ignore[arg-type]
        return [record.id for record in records]

    assert found("A-10") == ["A-10", "A-100", "A-101"]
    assert found("A-10", after_id="A-10", limit=1) == ["A-100"]
    assert found("A-10", status="active", limit=2) == ["A-10", "A-100"]
    assert found("A_1") == ["A_10"]
    assert found("A%") == ["A%1"]
    assert found("a") == ["a-10"]
    assert found("A-1") == ["A-1", "A-10", "A-100", "A-101", "A-11", f"A-1{top}", f"A-1{top}z"]
    assert found(f"A-1{top}") == [f"A-1{top}", f"A-1{top}z"]
    assert found(top) == [top, f"{top}-x"]
    assert found("B") == []
    review = [StateMatch(path=("review",))]
    assert found("A-1", states=review) == ["A-1", "A-10", "A-101", "A-11", f"A-1{top}"]
    assert found("A-1", states=review, after_id="A-10", limit=2) == ["A-101", "A-11"]
    assert found(top, states=review) == [top]
    assert found(top, states=[StateMatch(path=("paid",))]) == [f"{top}-x"]


def check_steps_and_timers_are_listed_per_tenant_by_keyset(store: Store) -> None:
    """A tenant's step runs and timers, of one instance or all, page by (instance, key)."""
    save_definition(store)
    timers = (
        TimerWrite(timer_id="b", due_at=T0 + 5, event='{"type": "b"}'),
        TimerWrite(timer_id="a", due_at=T0 + 9, event='{"type": "a"}'),
    )
    store.commit_transition(start("o-1", steps_started=(_step_write("s2"), _step_write("s1"))))
    store.commit_transition(
        start("o-2", steps_started=(_step_write("s1"),), timers_scheduled=timers)
    )
    store.commit_transition(start("o-3", tenant="globex", steps_started=(_step_write("s9"),)))
    keys = [(s.instance_id, s.invoke_id) for s in store.list_steps("acme")]
    assert keys == [("o-1", "s1"), ("o-1", "s2"), ("o-2", "s1")]
    page = store.list_steps("acme", after=("o-1", "s1"), limit=1)
    assert [(s.instance_id, s.invoke_id) for s in page] == [("o-1", "s2")]
    assert [s.invoke_id for s in store.list_steps("acme", instance_id="o-2")] == ["s1"]
    after = store.list_steps("acme", instance_id="o-1", after=("o-1", "s1"))
    assert [(s.instance_id, s.invoke_id) for s in after] == [("o-1", "s2")]
    assert store.list_steps("acme", status="running") == []
    (claimed,) = store.claim_steps(T0 + 2_000, 60_000, 1)
    running = store.list_steps("acme", status="running")
    assert [(s.instance_id, s.invoke_id, s.attempts) for s in running] == [
        (claimed.instance_id, claimed.invoke_id, 1)
    ]
    assert [t.timer_id for t in store.list_timers("acme")] == ["a", "b"]
    assert [t.timer_id for t in store.list_timers("acme", after=("o-2", "a"))] == ["b"]
    assert store.list_timers("acme", instance_id="o-1") == []
    after_a = store.list_timers("acme", instance_id="o-2", after=("o-2", "a"))
    assert [(t.instance_id, t.timer_id) for t in after_a] == [("o-2", "b")]
    assert store.list_timers("globex") == []


def check_a_step_waiting_for_its_retry_is_made_due_now(store: Store) -> None:
    """retry_step_now moves a waiting run's next attempt to now (the next claim takes it),
    and refuses a run that is running or that another claim has taken meanwhile."""
    save_definition(store)
    store.commit_transition(start(steps_started=(_step_write("charge"),)))
    (run,) = store.claim_steps(T0 + 1_000, 60_000, 1)
    assert not store.retry_step_now(run, T0 + 1_500)  # running, not waiting
    assert store.retry_step(run, next_attempt_at=T0 + 3_600_000, error="down")
    (waiting,) = store.steps("acme", "order-42")
    assert (waiting.status, waiting.next_attempt_at) == ("retrying", T0 + 3_600_000)
    assert store.claim_steps(T0 + 2_000, 60_000, 1) == []
    assert store.retry_step_now(waiting, T0 + 2_000)
    (now,) = store.steps("acme", "order-42")
    assert (now.status, now.next_attempt_at, now.last_error) == ("retrying", T0 + 2_000, "down")
    (again,) = store.claim_steps(T0 + 2_000, 60_000, 1)
    assert again.attempts == 2
    assert not store.retry_step_now(waiting, T0 + 2_500)  # that wait is over


def check_dead_letters_are_listed_and_redriven_per_tenant(store: Store) -> None:
    """A tenant's dead letters are listed by id and filter; a redrive of one, or of those a
    filter matches, puts them back to pending with their attempts reset."""
    save_definition(store)

    def message(message_id: str, event_type: str) -> OutboxWrite:
        return OutboxWrite(message_id=message_id, event=json.dumps({"type": event_type}))

    store.commit_transition(start("o-1", outbox=(message("m1", "paid"), message("m2", "sent"))))
    store.commit_transition(start("o-2", outbox=(message("m3", "paid"),)))
    store.commit_transition(start("o-9", tenant="globex", outbox=(message("m9", "paid"),)))
    for claimed in store.due_outbox(T0 + 5_000, 10):
        dead = claimed.message_id != "m2"
        store.outbox_failed(claimed, error="boom", next_attempt_at=T0 + 9_000, dead=dead)

    def ids(tenant: str = "acme", **filters: object) -> list[str]:
        found = store.list_dead_letters(tenant, **filters)  # type: ignore[arg-type]
        return [letter.message_id for letter in found]

    assert ids() == ["m1", "m3"]
    assert ids("globex") == ["m9"]
    assert ids(instance_id="o-2") == ["m3"]
    assert ids(instance_id="o-1") == ["m1"]  # m2 failed, not dead
    assert ids(instance_id="o-1", after_id="m1") == []
    assert ids(instance_id="o-1", event_type="sent") == []
    assert ids(instance_id="o-1", event_type="paid", message_id="m1") == ["m1"]
    assert ids(after_id="m1", limit=1) == ["m3"]
    waiting = store.list_pending_outbox("acme")
    assert [m.message_id for m in waiting] == ["m2"]
    assert store.list_pending_outbox("acme", after_id="m2") == []
    assert ids(event_type="paid", after_id="m1") == ["m3"]
    assert ids(message_id="m2") == []  # failed, not dead
    (letter,) = store.list_dead_letters("acme", limit=1)
    assert (letter.status, letter.attempts, letter.last_error) == ("dead", 1, "boom")
    assert store.redrive_dead_letters("globex", T0 + 6_000, message_id="m1") == 0
    assert store.redrive_dead_letters("acme", T0 + 6_000, message_id="m1") == 1
    (pending,) = [m for m in store.outbox("acme", "o-1") if m.message_id == "m1"]
    assert (pending.status, pending.attempts, pending.last_error) == ("pending", 0, None)
    assert pending.next_attempt_at == T0 + 6_000
    assert store.redrive_dead_letters("acme", T0 + 7_000, event_type="paid") == 1
    assert ids() == []
    assert ids("globex") == ["m9"]


#: Every check of this part, in reading order.
OPS_CONTRACT: tuple[Check, ...] = (
    check_instances_are_found_by_business_state,
    check_instances_are_found_by_id_prefix,
    check_steps_and_timers_are_listed_per_tenant_by_keyset,
    check_a_step_waiting_for_its_retry_is_made_due_now,
    check_dead_letters_are_listed_and_redriven_per_tenant,
)
