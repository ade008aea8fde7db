"""An instance id as long as the API allows (200 characters, no space to break at) on every
page that shows it: it breaks inside its heading or cell, and the page stays as wide as the
window (nothing to scroll sideways for)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from console_kit import VIEWPORT, ConsoleServer
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.slow

LONG_ID = "L" * 200


def _page_width(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def test_a_long_id_does_not_widen_any_page(
    console_server: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    console_server.engine.start(
        "order", input={"orderId": "long", "amount": 2500}, instance_id=LONG_ID
    )
    page = logged_in_page("viewer")
    page.goto("/")
    expect(page.locator(f"[data-testid=instances-row][data-id='{LONG_ID}']")).to_be_visible()
    assert _page_width(page) <= VIEWPORT["width"]
    page.goto("/queues")
    expect(page.get_by_test_id("timer-row").filter(has_text=LONG_ID)).to_be_visible()
    assert _page_width(page) <= VIEWPORT["width"]
    page.goto(f"/instances/{LONG_ID}")
    expect(page.get_by_role("heading", name=LONG_ID)).to_be_visible()
    expect(page.get_by_test_id("diagram")).to_have_attribute("data-ready", "true")
    assert _page_width(page) <= VIEWPORT["width"]
    # One character more than the API takes: the page says so under the id, as wide.
    page.goto(f"/instances/{LONG_ID}x")
    expect(page.get_by_test_id("problem")).to_be_visible()
    assert _page_width(page) <= VIEWPORT["width"]
