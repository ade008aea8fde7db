"""The instances list keeps to its filters: a bulk action never runs while searching by id,
the confirmed bulk request is the one counted, a parallel state's chip filters the list (and
its row, chip and instance page write the state alike), and a row that leaves the filters
drops out live."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from console_kit import ConsoleServer
from playwright.sync_api import Page, Request, expect

pytestmark = pytest.mark.slow
expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
def drafts(console_server: ConsoleServer) -> ConsoleServer:
    """Three intake instances in draft, and an order the server's worker pays and moves on
    to its parallel fulfilment state."""
    engine = console_server.engine
    for number in (1, 2, 3):
        engine.start("intake", input={"applicant": f"ann-{number}"}, instance_id=f"IN-{number}")
    engine.start("order", input={"orderId": "F-1", "amount": 420}, instance_id="F-1")
    return console_server


def bulk_posts(page: Page) -> list[Request]:
    """Every bulk request `page` sends from now on."""
    sent: list[Request] = []
    page.on("request", lambda r: "/api/v1/bulk/" in r.url and sent.append(r))
    return sent


def test_while_searching_by_id_the_bulk_controls_are_disabled(
    drafts: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    page = logged_in_page("operator")
    sent = bulk_posts(page)
    page.goto("/?q=IN-1")
    expect(page.get_by_test_id("instances-row")).to_have_count(1)
    for control in ("bulk-action", "bulk-event", "bulk-count"):
        expect(page.get_by_test_id(control)).to_be_disabled()
    expect(page.get_by_test_id("bulk-off")).to_be_visible()
    # Not even the keyboard reaches them.
    page.get_by_test_id("filter-search").focus()
    for _ in range(12):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.dataset.testid || ''")
        assert not focused.startswith("bulk"), focused
    page.get_by_test_id("bulk-count").press("Enter")
    expect(page.get_by_test_id("bulk-confirm")).to_be_hidden()
    assert sent == []
    # Without the search they act on the filters again.
    page.get_by_test_id("filter-search").fill("")
    expect(page.get_by_test_id("bulk-count")).to_be_enabled()
    expect(page.get_by_test_id("bulk-off")).to_be_hidden()


def test_the_confirmed_bulk_request_is_the_one_counted(
    drafts: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    page = logged_in_page("operator")
    page.goto("/?definition=intake&state=draft")
    expect(page.get_by_test_id("instances-row")).to_have_count(3)
    page.get_by_test_id("bulk-event").fill("SUBMIT")
    page.get_by_test_id("bulk-count").click()
    expect(page.get_by_test_id("bulk-matched")).to_contain_text("Really send SUBMIT to them?")
    # Editing the event withdraws the question.
    page.get_by_test_id("bulk-event").fill("ESCALATE")
    expect(page.get_by_test_id("bulk-confirm")).to_be_hidden()
    # So does editing a filter, before the list is even read again.
    page.get_by_test_id("bulk-event").fill("SUBMIT")
    page.get_by_test_id("bulk-count").click()
    expect(page.get_by_test_id("bulk-matched")).to_contain_text("Really send SUBMIT")
    page.get_by_test_id("filter-tag").press("x")
    expect(page.get_by_test_id("bulk-confirm")).to_be_hidden()
    page.get_by_test_id("filter-tag").press("Backspace")
    # The field changed under a pending question (no input event): what is sent is what
    # the question named.
    page.get_by_test_id("bulk-count").click()
    expect(page.get_by_test_id("bulk-matched")).to_contain_text("3 instances")
    page.evaluate("document.getElementById('bulk-event').value = 'ESCALATE'")
    with page.expect_request(lambda r: r.url.endswith("/api/v1/bulk/send")) as sending:
        page.get_by_test_id("bulk-go").click()
    body: dict[str, Any] = sending.value.post_data_json
    assert body["event"] == {"type": "SUBMIT"}
    assert body["dry_run"] is False
    assert body["definition"] == "intake" and body["state"] == "draft"
    assert "all" not in body
    expect(page.get_by_test_id("bulk-done")).to_contain_text("3 done")
    for number in (1, 2, 3):
        assert drafts.engine.get(f"IN-{number}").value == "in_review"


def wait_for_fulfilment(server: ConsoleServer) -> None:
    """Wait until the server's worker has paid F-1 and it is in its parallel state."""
    deadline = time.monotonic() + 20
    while not isinstance(server.engine.get("F-1").value, dict):
        assert time.monotonic() < deadline, server.engine.get("F-1").value
        time.sleep(0.1)


def test_a_parallel_states_chip_filters_the_list_by_its_path(
    drafts: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    wait_for_fulfilment(drafts)
    page = logged_in_page("viewer")
    page.goto("/?definition=order")
    chip = page.locator("[data-testid=state-count][data-state^='fulfilment (']")
    expect(chip).to_have_count(1)
    chip.click()
    expect(page).to_have_url(re.compile(r"definition=order&state=fulfilment(&|$)"))
    expect(page.get_by_test_id("instances-row")).to_have_count(1)
    expect(page.locator("[data-testid=instances-row][data-id='F-1']")).to_be_visible()
    expect(page.locator(".sw-problem")).to_have_count(0)
    expect(chip).to_have_attribute("aria-pressed", "true")


def test_a_parallel_state_reads_alike_in_its_row_its_chip_and_its_page(
    drafts: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    wait_for_fulfilment(drafts)
    text = "fulfilment (inventory.reserving, shipping.preparing)"
    page = logged_in_page("viewer")
    page.goto("/instances/F-1")
    expect(page.get_by_test_id("business-state")).to_have_attribute("data-value", text)
    page.goto("/?definition=order")
    row = page.locator("[data-testid=instances-row][data-id='F-1']")
    expect(row.get_by_test_id("business-state")).to_have_text(text)
    chip = page.get_by_test_id("state-count").filter(has_text="fulfilment")
    expect(chip.locator(".sw-state-text")).to_have_text(text)
    expect(chip).to_have_attribute("data-state", text)


def test_a_row_that_leaves_the_filters_drops_out_live(
    drafts: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    engine = drafts.engine
    for number in (4, 5):
        engine.start("intake", input={"applicant": "bo"}, instance_id=f"IN-{number}")
    page = logged_in_page("viewer")
    page.goto("/?definition=intake&state=draft")
    expect(page.get_by_test_id("instances-row")).to_have_count(2)
    expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-state", "open")
    engine.send("IN-4", "SUBMIT", actor="ann")
    expect(page.locator("[data-testid=instances-row][data-id='IN-4']")).to_have_count(0)
    expect(page.get_by_test_id("instances-row")).to_have_count(1)
    page.goto("/?definition=intake&status=active")
    expect(page.get_by_test_id("instances-row")).to_have_count(5)
    engine.send("IN-5", "SUBMIT", actor="ann")
    engine.send("IN-5", "REJECT", actor="ann")  # done: no longer active
    expect(page.locator("[data-testid=instances-row][data-id='IN-5']")).to_have_count(0)
    expect(page.get_by_test_id("instances-row")).to_have_count(4)
