"""The instances list keeps to its filters: a parallel state's chip filters the list."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from console_kit import ConsoleServer
from playwright.sync_api import Page, expect

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


def test_a_parallel_states_chip_filters_the_list_by_its_path(
    drafts: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    deadline = time.monotonic() + 20
    while not isinstance(drafts.engine.get("F-1").value, dict):  # paid by the worker
        assert time.monotonic() < deadline, drafts.engine.get("F-1").value
        time.sleep(0.1)
    page = logged_in_page("viewer")
    page.goto("/?definition=order")
    chip = page.locator("[data-testid=state-count][data-state*='fulfilment.inventory']")
    expect(chip).to_have_count(1)
    chip.click()
    expect(page).to_have_url(re.compile(r"definition=order&state=fulfilment(&|$)"))
    expect(page.get_by_test_id("instances-row")).to_have_count(1)
    expect(page.locator("[data-testid=instances-row][data-id='F-1']")).to_be_visible()
    expect(page.locator(".sw-problem")).to_have_count(0)
    expect(chip).to_have_attribute("aria-pressed", "true")
