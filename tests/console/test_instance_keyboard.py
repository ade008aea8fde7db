"""The instance page's action forms from the keyboard: Escape closes an open form, as its
Close button does, and either way the focus goes back to the button that opened it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from console_kit import ConsoleServer
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.slow


def test_escape_closes_an_action_form_and_the_focus_returns_to_its_button(
    console_server: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    console_server.engine.start(
        "order", input={"orderId": "K-1", "amount": 2500}, instance_id="K-1"
    )
    page = logged_in_page("operator")
    page.goto("/instances/K-1")
    approve = page.get_by_test_id("event-button-APPROVE")
    approve.focus()
    page.keyboard.press("Enter")
    form = page.get_by_test_id("event-form")
    expect(form).to_be_visible()
    expect(form.locator(":focus")).to_have_count(1)  # the form took the focus
    page.keyboard.press("Escape")
    expect(form).to_have_count(0)
    expect(approve).to_be_focused()
    # Stopping it: open with the keyboard, close with its Close button.
    stop = page.get_by_test_id("cancel-button")
    stop.focus()
    page.keyboard.press("Enter")
    cancel_form = page.get_by_test_id("cancel-form")
    expect(page.locator("#cancel-reason")).to_be_focused()
    cancel_form.get_by_role("button", name="Close").focus()
    page.keyboard.press("Enter")
    expect(cancel_form).to_have_count(0)
    expect(stop).to_be_focused()
    # Nothing was sent: the order still waits for approval.
    expect(page.get_by_test_id("business-state")).to_have_attribute(
        "data-value", "pending_approval"
    )
