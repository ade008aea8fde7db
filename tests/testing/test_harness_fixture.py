"""The `harness` pytest fixture: Harnesses closed when the test ends, restarts on one file."""

from __future__ import annotations

from pathlib import Path

from statewright import Machine
from statewright.testing.fixtures import HarnessFactory, harness

__all__ = ["harness"]  # the fixture, imported as a project's conftest would enable it

ORDER = Path(__file__).parents[2] / "examples" / "order" / "order.json"


def test_a_restart_on_the_same_database_carries_on(harness: HarnessFactory, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    machine = Machine.load(ORDER, actors={"chargeCard": lambda _: {"paymentId": "p"}})
    first = harness(machine, url=url)
    first.start("order", instance_id="A-1", input={"orderId": "A-1", "amount": 2500})
    first.advance("24h")
    first.close()  # the process stops; its timer stays in the database

    second = harness(machine, url=url, start_ms=first.clock.now())
    second.assert_state("A-1", "pending_approval")
    second.assert_timer_pending("A-1", "xstate.after.48h.order.pending_approval", in_="24h")
    second.advance("24h")
    second.assert_state("A-1", "escalated")


def test_the_fixture_takes_the_workers_options(harness: HarnessFactory) -> None:
    machine = Machine.load(ORDER, actors={"chargeCard": lambda _: {"paymentId": "p"}})
    h = harness(machine, outbox_retry={"attempts": 1})

    def down(message: object) -> None:
        raise ConnectionError("warehouse down")

    h.listen("order.shipped", down)
    h.start("order", instance_id="A-1", input={"orderId": "A-1", "amount": 100})
    h.send("A-1", "RESERVED")
    h.send("A-1", {"type": "SHIPPED", "tracking": "T-1"})
    h.assert_dead_lettered("A-1", "order.shipped")  # at the first failure: one attempt
