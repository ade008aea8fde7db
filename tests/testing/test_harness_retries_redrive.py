"""Harness helpers for jittered retries and for redriving dead letters."""

from __future__ import annotations

from pathlib import Path

import pytest

from statewright import Machine
from statewright.runtime import OutboxMessage
from statewright.testing import Harness

ORDER = Path(__file__).parents[2] / "examples" / "order" / "order.json"


def declined(input: object) -> dict[str, object]:
    raise ConnectionError("gateway down")


def test_a_retry_is_asserted_within_the_jitter_of_its_policy() -> None:
    with Harness(Machine.load(ORDER, actors={"chargeCard": declined})) as h:
        h.start("order", instance_id="A-1", input={"orderId": "A-1", "amount": 100})
        # "delay": "1s" with equal jitter: the first retry comes after 0.5 s to 1 s.
        h.assert_retry_scheduled("A-1", "payment", attempts=1, in_=("0.5s", "1s"))
        with pytest.raises(AssertionError, match=r"retries in \d+ ms, not between 2s and 4s"):
            h.assert_retry_scheduled("A-1", "payment", in_=("2s", "4s"))


def test_redrive_delivers_the_dead_letters_again() -> None:
    delivered: list[str] = []
    down = True

    def warehouse(message: OutboxMessage) -> None:
        if down:
            raise ConnectionError("warehouse down")
        delivered.append(message.id)

    with Harness(Machine.load(ORDER, actors={"chargeCard": lambda _: {"paymentId": "p"}})) as h:
        h.listen("order.shipped", warehouse)
        h.start("order", instance_id="A-1", input={"orderId": "A-1", "amount": 100})
        h.send("A-1", "RESERVED")
        h.send("A-1", {"type": "SHIPPED", "tracking": "T-1"})
        h.advance("1d")
        h.assert_dead_lettered("A-1", "order.shipped")
        down = False

        with pytest.raises(
            AssertionError,
            match="A-1 has no dead letters of order.paid to "
            r"redrive; dead-lettered: \['order.shipped'\]",
        ):
            h.redrive("A-1", "order.paid")
        assert h.redrive("A-1", "order.shipped") == 1

        h.assert_dead_lettered("A-1")
        assert delivered == ["default/A-1/4/0"]


def test_a_duration_of_the_wrong_type_is_named() -> None:
    with Harness() as h, pytest.raises(ValueError, match=r"\['1s'\] is not a duration"):
        h.advance(["1s"])  # type: ignore[arg-type]
