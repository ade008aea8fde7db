"""Bulk send, cancel and retry over a filter, with a dry-run count."""

from __future__ import annotations

import pytest

from statewright.engine import Engine
from statewright.errors import EventError, EventNotAccepted, InstanceNotActive, PayloadError
from statewright.testing import VirtualClock


@pytest.fixture
def orders(engine: Engine) -> Engine:
    for number in range(5):
        engine.start("order", input={"amount": 5}, instance_id=f"o-{number}")
    engine.send("o-4", "REJECT")
    return engine


def test_a_dry_run_counts_and_changes_nothing(orders: Engine) -> None:
    result = orders.bulk_send({"type": "APPROVE", "by": "ann"}, state="pending", dry_run=True)
    assert (result.matched, result.done, result.dry_run) == (4, (), True)
    assert [i.value for i in orders.list(state="pending")] == ["pending"] * 4


def test_bulk_send_reaches_every_match_and_reports_refusals(orders: Engine) -> None:
    orders.send("o-2", {"type": "APPROVE", "by": "ann"})  # paying: does not accept APPROVE
    result = orders.bulk_send(
        {"type": "APPROVE", "by": "bob"}, definition_id="order", status="active",
        idempotency_key="bulk-1", actor="bob",
    )  # fmt: skip
    assert result.matched == 4
    assert result.done == ("o-0", "o-1", "o-3")
    assert list(result.refused) == ["o-2"]
    assert isinstance(result.refused["o-2"], EventNotAccepted)
    assert orders.history("o-0")[-1].idempotency_key == "bulk-1/o-0"
    again = orders.bulk_send({"type": "APPROVE", "by": "bob"}, state="paying",
                             idempotency_key="bulk-1")  # fmt: skip
    # The same bulk again: the instances it reached answer with their first result.
    assert set(again.done) == {"o-0", "o-1", "o-3"} and list(again.refused) == ["o-2"]
    assert [e.seq for e in orders.history("o-0")] == [1, 2]


def test_bulk_cancel_and_retry(orders: Engine, clock: VirtualClock) -> None:
    orders.send("o-1", {"type": "APPROVE", "by": "ann"})
    (run,) = orders.store.claim_steps(clock.now(), 60_000, 10)
    orders.store.retry_step(run, next_attempt_at=clock.now() + 3_600_000, error="down")
    retried = orders.bulk_retry(runtime_status="retrying")
    assert (retried.matched, retried.done) == (1, ("o-1",))
    assert orders.steps("o-1")[0].next_attempt_at == clock.now()
    cancelled = orders.bulk_cancel(reason="closing the shop", definition_id="order")
    assert cancelled.done == ("o-0", "o-1", "o-2", "o-3")
    assert isinstance(cancelled.refused["o-4"], InstanceNotActive)
    assert sum(c.count for c in orders.count_by_state(status="stopped")) == 4


def test_bulk_refuses_more_matches_than_its_limit(orders: Engine) -> None:
    with pytest.raises(PayloadError, match="more than the limit of 2"):
        orders.bulk_cancel(limit=2)
    assert orders.get("o-0").status == "active"


@pytest.mark.parametrize(
    ("event", "error", "match"),
    [
        ({"type": "xstate.stop"}, EventError, "reserved"),
        ({"type": "APPROVE", "note": "x" * 70_000}, PayloadError, "over the limit of 65536"),
        ({"type": "APPROVE", "at": float("nan")}, PayloadError, "not JSON data"),
    ],
    ids=["reserved", "too-large", "nan"],
)
def test_an_event_no_instance_could_take_refuses_the_bulk_once(
    orders: Engine, event: dict[str, object], error: type[Exception], match: str
) -> None:
    """Refused up front, as one error, not once per instance matched; nothing is sent."""
    versions = {i.id: i.version for i in orders.list()}
    for dry_run in (True, False):
        with pytest.raises(error, match=match):
            orders.bulk_send(event, state="pending", dry_run=dry_run)
    assert {i.id: i.version for i in orders.list()} == versions
