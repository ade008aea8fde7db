"""The queues page's Schedules panel: the cron schedules the server's own worker runs (from
its implementations file's SCHEDULES), one whose worker died marked as run by no live
worker, the next tick as a countdown; and, for a tenant with none, how to define them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

import pytest
from console_kit import MACHINES_FILE, ConsoleServer
from pages_kit import serving_console
from playwright.sync_api import Page, expect

from statewright.engine import Engine
from statewright.engine.workers import WORKER_GONE_MS
from statewright.store.records import WorkerRecord

pytestmark = pytest.mark.slow

SETUP = f"""
import runpy
_examples = runpy.run_path({str(MACHINES_FILE)!r})
MACHINES = _examples["MACHINES"]
SCHEDULES = [{{
    "name": "remind-open-orders",
    "cron": "*/5 * * * *",
    "timezone": "Europe/Riga",
    "description": "Nudge the orders still open",
    "action": {{"event": {{"type": "REMIND"}},
               "where": {{"definition": "order", "status": "active"}}}},
}}]
"""
ORPHAN = {
    "name": "nightly-export",
    "cron": "0 2 * * *",
    "action": {"start": "order", "input": {"orderId": "X", "amount": 1}},
}


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    """`statewright serve --with-worker` whose worker runs a schedule of its SCHEDULES."""
    folder = tmp_path_factory.mktemp("schedules-console")
    setup = folder / "implementations.py"
    setup.write_text(SETUP)
    with serving_console(folder, setup) as server:
        yield server


def _dead_worker(engine: Engine) -> None:
    """A worker that ran `nightly-export` and stopped being heard of a minute ago."""
    heard = engine.clock.now() - WORKER_GONE_MS - 60_000
    engine.store.register_worker(
        WorkerRecord(
            id="w-dead", host="old-box", pid=99, steps="[]", listeners="[]",
            started_at=heard - 1000, heartbeat_at=heard, schedules=json.dumps([ORPHAN]),
        )
    )  # fmt: skip


def test_the_panel_shows_each_schedule_its_workers_and_ticks(
    console_server: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    _dead_worker(console_server.engine)
    page = logged_in_page("viewer")
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    page.goto("/queues")
    panel = page.get_by_test_id("schedules-panel")
    live = panel.get_by_test_id("schedule-row").filter(has_text="remind-open-orders")
    expect(live).to_contain_text("Nudge the orders still open", timeout=10_000)
    expect(live.get_by_test_id("schedule-summary")).to_have_text(
        "send REMIND to order instances in status active"
    )
    expect(live).to_contain_text("*/5 * * * *")
    expect(live).to_contain_text("Europe/Riga")
    expect(live.get_by_test_id("schedule-workers")).to_contain_text(re.compile(r":\d+"))
    expect(live.get_by_test_id("schedule-next-tick")).to_have_text(re.compile(r"^(in .+|now)$"))
    orphan = panel.get_by_test_id("schedule-row").filter(has_text="nightly-export")
    expect(orphan.get_by_test_id("schedule-no-worker")).to_have_text("no live worker runs it")
    expect(orphan.get_by_test_id("schedule-last-tick")).to_have_text("never")
    expect(orphan).to_contain_text("start order")
    expect(page.get_by_test_id("stat-unrun-schedules")).to_contain_text("1")
    expect(panel.get_by_test_id("schedules-empty")).to_be_hidden()
    assert not [text for text in messages if "Content Security Policy" in text]


def test_a_tick_the_worker_ran_is_shown_done(
    console_server: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    engine = console_server.engine
    tick = engine.clock.now() // 300_000 * 300_000  # the last 5-minute mark: already due
    assert engine.store.claim_tick("remind-open-orders", tick, engine.clock.now(), 60_000)
    engine.store.finish_tick("remind-open-orders", tick)
    page = logged_in_page("viewer")
    page.goto("/queues")
    row = page.get_by_test_id("schedule-row").filter(has_text="remind-open-orders")
    expect(row.get_by_test_id("schedule-last-tick")).to_contain_text("done", timeout=10_000)
    expect(row.get_by_test_id("schedule-last-tick")).to_contain_text("ago")


def test_a_tenant_without_schedules_is_told_how_to_define_them(
    console_server: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    page = logged_in_page("viewer", tenant="elsewhere")
    page.goto("/queues")
    empty = page.get_by_test_id("schedules-empty")
    expect(empty).to_be_visible(timeout=10_000)
    expect(empty).to_contain_text("SCHEDULES")
    expect(empty).to_contain_text("statewright worker")
    expect(page.get_by_test_id("schedule-row")).to_have_count(0)
