"""The order example: every path through it, on the in-memory actor and virtual clock."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from statewright import Emit, Machine, ScheduleTimer, StartStep
from statewright.testing import Actor

EXAMPLE = Path(__file__).parents[2] / "examples" / "order"


def load_steps() -> dict[str, object]:
    spec = importlib.util.spec_from_file_location("order_steps", EXAMPLE / "steps.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.ACTORS)


@pytest.fixture(scope="module")
def machine() -> Machine:
    return Machine.load(EXAMPLE / "order.json", actors=load_steps())  # type: ignore[arg-type]


def start(machine: Machine, amount: int, order_id: str = "A-1") -> Actor:
    return Actor(machine, input={"orderId": order_id, "amount": amount}).start()


def test_small_order_is_approved_automatically_and_paid(machine: Machine) -> None:
    actor = start(machine, 250)
    assert actor.snapshot.value == {
        "fulfilment": {"inventory": "reserving", "shipping": "preparing"}
    }
    assert actor.snapshot.context["approvedBy"] == "auto"
    assert actor.snapshot.context["paymentId"] == "pay-A-1"
    started = [e for e in actor.effects if isinstance(e, StartStep)]
    assert [(e.src, e.input) for e in started] == [
        ("chargeCard", {"orderId": "A-1", "amount": 250})
    ]


def test_large_order_waits_for_approval_with_a_48h_timer(machine: Machine) -> None:
    snapshot, effects = machine.initial_transition({"orderId": "B-7", "amount": 2500})
    assert snapshot.value == "pending_approval"
    assert snapshot.has_tag("needs-human")
    assert set(snapshot.accepted_events) == {"APPROVE", "REJECT"}
    assert effects == (
        ScheduleTimer(
            id="xstate.after.48h.order.pending_approval",
            delay_ms=48 * 3600 * 1000,
            event={"type": "xstate.after.48h.order.pending_approval"},
        ),
    )


def test_unanswered_approval_escalates_after_48_hours(machine: Machine) -> None:
    actor = start(machine, 2500)
    actor.advance("47h")
    assert actor.snapshot.value == "pending_approval"
    actor.advance("1h")
    assert actor.snapshot.value == "escalated"
    assert actor.emitted == [{"type": "order.escalated", "orderId": "A-1"}]


def test_approval_cancels_the_escalation_timer(machine: Machine) -> None:
    actor = start(machine, 2500)
    actor.send({"type": "APPROVE", "by": "ann"})
    assert actor.pending_timers == []
    assert actor.snapshot.context["approvedBy"] == "ann"
    actor.advance("72h")
    assert actor.snapshot.matches("fulfilment")


def test_fulfilment_runs_inventory_and_shipping_in_parallel_then_ships(machine: Machine) -> None:
    actor = start(machine, 100)
    actor.send({"type": "SHIPPED", "tracking": "TRK-9"})
    assert actor.snapshot.value == {
        "fulfilment": {"inventory": "reserving", "shipping": "handed_over"}
    }
    actor.send("RESERVED")
    assert actor.snapshot.value == "shipped"
    assert actor.snapshot.status == "done"
    assert actor.snapshot.output == {"orderId": "A-1", "outcome": "shipped", "paymentId": "pay-A-1"}
    assert actor.emitted == [{"type": "order.shipped", "orderId": "A-1", "tracking": "TRK-9"}]


def test_declined_payment_goes_to_manual_review_and_can_be_retried(machine: Machine) -> None:
    actor = start(machine, 7000)
    actor.send({"type": "APPROVE", "by": "ann"})
    assert actor.snapshot.value == "payment_failed"
    assert actor.snapshot.context["paymentError"] == "card declined for 7000"
    actor.send("RETRY")
    assert actor.snapshot.value == "payment_failed"
    steps = [e for e in actor.effects if isinstance(e, StartStep)]
    assert len(steps) == 2
    actor.send("CANCEL")
    assert actor.snapshot.status == "done"
    assert actor.snapshot.output == {"orderId": "A-1", "outcome": "cancelled", "paymentId": None}


def test_rejected_order_finishes_without_payment(machine: Machine) -> None:
    actor = start(machine, 2500)
    actor.send("REJECT")
    assert actor.snapshot.status == "done"
    assert actor.snapshot.output == {"orderId": "A-1", "outcome": "rejected", "paymentId": None}
    assert not any(isinstance(e, StartStep) for e in actor.effects)
    assert not any(isinstance(e, Emit) for e in actor.effects)


def test_the_payment_step_carries_its_retry_policy(machine: Machine) -> None:
    invoke = machine.get_state("order.payment").invoke[0]
    assert invoke.retry == {"attempts": 3, "backoff": "exponential", "delay": 1000}


def test_snapshot_survives_a_json_round_trip_mid_flow(machine: Machine) -> None:
    actor = start(machine, 2500)
    restored = machine.snapshot_from_json(actor.snapshot.to_json())
    assert restored == actor.snapshot
    snapshot, _ = machine.transition(restored, {"type": "APPROVE", "by": "bo"})
    assert snapshot.value == "payment"
    assert snapshot.children == {
        "payment": {
            "src": "chargeCard",
            "input": {"orderId": "A-1", "amount": 2500},
            "state": "order.payment",
        }
    }
