"""Sending an event from the keyboard: once it is done, the button that sent it is gone
(the instance accepts other events now), and the focus goes to the message saying what was
done, from where Tab reaches the new actions, not back to the top of the page."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from console_kit import ConsoleServer
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.slow
expect.set_options(timeout=15_000)


def test_after_sending_an_event_the_focus_lands_before_the_new_actions(
    console_server: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    console_server.engine.start("intake", input={"applicant": "fa"}, instance_id="AF-1")
    page = logged_in_page("operator")
    page.goto("/instances/AF-1")
    page.get_by_test_id("event-button-SUBMIT").focus()
    page.keyboard.press("Enter")
    page.get_by_test_id("event-send").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("business-state")).to_have_attribute("data-value", "in_review")
    expect(page.get_by_test_id("event-button-SUBMIT")).to_have_count(0)
    flash = page.get_by_test_id("flash")
    expect(flash).to_contain_text("SUBMIT sent: draft → in_review")
    expect(flash).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("event-button-APPROVE")).to_be_focused()
