"""The testing harness: the durable engine and worker on virtual time, as users test with it."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import pytest

from statewright import Machine
from statewright.runtime import OUTBOX_DEFAULT, OutboxMessage
from statewright.testing import Harness

EXAMPLE = Path(__file__).parents[2] / "examples" / "order"

CHAIN = {
    "id": "chain",
    "initial": "a",
    "states": {"a": {"after": {"1h": "b"}}, "b": {"after": {"1h": "c"}}, "c": {}},
}

NOTIFY = {
    "id": "notify",
    "initial": "idle",
    "states": {
        "idle": {
            "on": {"NOTE": {"actions": [{"type": "emit", "params": {"event": {"type": "note"}}}]}}
        }
    },
}


def order_machine() -> Machine:
    spec = importlib.util.spec_from_file_location("order_steps", EXAMPLE / "steps.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return Machine.load(EXAMPLE / "order.json", actors=module.ACTORS)


def test_an_unanswered_order_escalates_after_48_hours() -> None:
    with Harness(order_machine()) as h:
        h.start("order", instance_id="A-1", input={"orderId": "A-1", "amount": 2500})
        h.assert_timer_pending("A-1", "xstate.after.48h.order.pending_approval", in_="48h")

        assert h.advance("47h") == 0
        h.assert_state("A-1", "pending_approval")
        assert h.advance("1h") == 1

        h.assert_state("A-1", "escalated")
        h.assert_outbox_pending("A-1", "order.escalated")
        assert h.engine.verify("A-1").ok


def test_advance_fires_chained_timers_at_their_due_times() -> None:
    with Harness(Machine.from_config(CHAIN)) as h:
        h.start("chain", instance_id="c-1")
        assert h.advance("2h") == 2
        h.assert_state("c-1", "c")
        fired_at = [entry.at for entry in h.engine.history("c-1")][1:]
        assert fired_at[1] - fired_at[0] == 3_600_000


def test_assertions_say_what_they_found() -> None:
    with Harness(Machine.from_config(CHAIN)) as h:
        h.start("chain", instance_id="c-1")
        with pytest.raises(AssertionError, match=r"c-1 is in 'a' .*not 'b'"):
            h.assert_state("c-1", "b")
        with pytest.raises(AssertionError, match=r"outbox messages \[\] pending, not \['x'\]"):
            h.assert_outbox_pending("c-1", "x")
        with pytest.raises(AssertionError, match="no pending timer 'nope'"):
            h.assert_timer_pending("c-1", "nope")
        with pytest.raises(AssertionError, match="due in 3600000 ms, not 2h"):
            h.assert_timer_pending("c-1", "xstate.after.1h.chain.a", in_="2h")


def test_retries_and_dead_letters_can_be_asserted() -> None:
    calls: list[object] = []

    def flaky(input: object) -> dict[str, object]:
        calls.append(input)
        if len(calls) < 3:
            raise ConnectionError("provider down")
        return {"paymentId": "pay-1"}

    def carrier_down(message: object) -> None:
        raise ConnectionError("carrier API down")

    machine = order_machine().provide(actors={"chargeCard": flaky})
    with Harness(machine) as h:
        h.listen("order.escalated", lambda message: None)
        h.listen("order.shipped", carrier_down)

        h.start("order", instance_id="A-1", input={"orderId": "A-1", "amount": 100})

        h.assert_retry_scheduled("A-1", "payment", attempts=1)
        assert h.get("A-1").runtime_status == "retrying"
        h.advance("10s")
        h.assert_state("A-1", "fulfilment")
        assert len(calls) == 3
        h.send("A-1", "RESERVED")
        h.send("A-1", {"type": "SHIPPED", "tracking": "T-1"})
        h.assert_state("A-1", "shipped")
        h.assert_dead_lettered("A-1")
        for _ in range(10):  # the outbox's 10 attempts, at most 1 h apart
            h.advance("1h")
        h.assert_dead_lettered("A-1", "order.shipped")
        with pytest.raises(AssertionError, match="no step 'payment' waiting to retry"):
            h.assert_retry_scheduled("A-1", "payment")


def test_order_payment_fails_three_times_goes_to_review_and_retry_pays() -> None:
    outcomes = iter([False, False, False, True])

    def charge(input: object) -> dict[str, object]:
        if not next(outcomes):
            raise ConnectionError("gateway timeout")
        return {"paymentId": "pay-9"}

    machine = order_machine().provide(actors={"chargeCard": charge})
    with Harness(machine) as h:
        h.start("order", instance_id="A-9", input={"orderId": "A-9", "amount": 100})
        h.advance("1m")
        h.assert_state("A-9", "payment_failed")
        assert h.get("A-9").context["paymentError"] == "gateway timeout"  # type: ignore[index]

        h.send("A-9", "RETRY")

        h.assert_state("A-9", "fulfilment")
        assert h.get("A-9").context["paymentId"] == "pay-9"  # type: ignore[index]
        errors = [
            e
            for e in h.engine.history("A-9")
            if str(e.event["type"]).startswith("xstate.error.actor")
        ]
        assert len(errors) == 1


def test_advance_keeps_stepping_through_failed_deliveries_to_each_retry(store_url: str) -> None:
    with Harness(Machine.from_config(NOTIFY), url=store_url) as h:
        tried_at: list[int] = []

        def receiver_down(message: OutboxMessage) -> None:
            tried_at.append(h.clock.now())
            raise ConnectionError("receiver down")

        h.listen("note", receiver_down)
        h.start("notify", instance_id="n-1")
        h.send("n-1", "NOTE")
        assert len(tried_at) == 1

        h.advance("3h")

        # Every retry ran when it fell due, not all at the end of the advance: 10 attempts,
        # backing off from 10 s to the 1 h cap (with jitter), then the dead letter.
        h.assert_dead_lettered("n-1", "note")
        assert len(tried_at) == OUTBOX_DEFAULT.attempts
        waits = [later - earlier for earlier, later in itertools.pairwise(tried_at)]
        assert 5_000 <= waits[0] <= 10_000
        assert all(0 < wait <= 3_600_000 for wait in waits)
        assert tried_at[-1] < h.clock.now()


def test_advance_ends_at_a_timer_that_cannot_fire() -> None:
    def broken(*args: object) -> bool:
        raise RuntimeError("guard broke")

    stuck = {
        "id": "stuck",
        "initial": "a",
        "states": {"a": {"after": {"1h": {"target": "b", "guard": "ok"}}}, "b": {}},
    }
    with Harness(Machine.from_config(stuck, guards={"ok": broken})) as h:
        h.start("stuck", instance_id="s-1")
        start = h.clock.now()

        assert h.advance("48h") == 0  # the timer stays due; the advance still ends

        assert h.clock.now() - start == 48 * 3_600_000
        h.assert_state("s-1", "a")
        h.assert_timer_pending("s-1", "xstate.after.1h.stuck.a")
