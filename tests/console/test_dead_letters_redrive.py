"""The queues page's "Redrive all": the count it asks about is what it redrives. A letter
that dies between the count and the "yes" is left alone, and the answer says how many were
redriven and why fewer than counted."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from console_kit import ConsoleServer
from playwright.sync_api import Page, expect

from statewright import Machine
from statewright.store.records import OutboxRecord

pytestmark = pytest.mark.slow

TENANT = "redrive-all"
PINGER = {
    "id": "pinger",
    "initial": "sent",
    "states": {"sent": {"entry": [{"type": "emit", "params": {"event": {"type": "ping.sent"}}}]}},
}


def _pending(server: ConsoleServer, *instance_ids: str) -> dict[str, OutboxRecord]:
    """An outbox message per instance, claimed as a worker would (no listener takes it)."""
    server.engine.register(Machine.from_config(PINGER))
    for instance_id in instance_ids:
        server.engine.start("pinger", instance_id=instance_id, tenant=TENANT)
    now = server.engine.clock.now()
    claimed = server.engine.store.due_outbox(now + 1, 10, types=["ping.sent"])
    return {m.instance_id: m for m in claimed if m.tenant == TENANT}


def _kill(server: ConsoleServer, message: OutboxRecord) -> None:
    assert server.engine.store.outbox_failed(message, error="boom", next_attempt_at=0, dead=True)


def test_redrive_all_redrives_what_it_counted(
    console_server: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    messages = _pending(console_server, "RD-1", "RD-2", "RD-3")
    _kill(console_server, messages["RD-1"])
    _kill(console_server, messages["RD-2"])
    page = logged_in_page("operator", TENANT)
    page.goto("/queues")
    rows = page.get_by_test_id("dead-letter-row")
    expect(rows).to_have_count(2, timeout=10_000)
    page.get_by_test_id("redrive-all").click()
    expect(page.get_by_test_id("redrive-count")).to_have_text("Send 2 dead letters again?")

    # Behind the page's back, between the count and the "yes": RD-3 dies, and someone else
    # redrives RD-1.
    _kill(console_server, messages["RD-3"])
    console_server.engine.redrive(messages["RD-1"].message_id, tenant=TENANT)
    page.get_by_test_id("redrive-go").click()

    done = page.get_by_test_id("redrive-done")
    expect(done).to_contain_text("1 of the 2 counted redriven: 1 was no longer dead")
    expect(done).to_contain_text("redriven by someone else")
    # RD-3 died after the count: still a dead letter, for the next redrive to count.
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("RD-3")
    dead = [d.instance_id for d in console_server.engine.dead_letters(tenant=TENANT)]
    assert dead == ["RD-3"]
