"""The definitions pages draw their counts anew on every live update; the keyboard focus
stays on the link that had it, instead of going back to the top of the page each time an
instance moves (under traffic, every second)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from console_kit import ConsoleServer
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.slow
expect.set_options(timeout=15_000)


def test_a_focused_link_on_the_definitions_list_keeps_the_focus_across_live_updates(
    console_server: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    engine = console_server.engine
    engine.start("intake", input={"applicant": "ann"}, instance_id="lf-1")
    page = logged_in_page("viewer")
    page.goto("/definitions")
    intake = page.locator('[data-testid=definitions-row][data-definition="intake"]')
    count = intake.get_by_test_id("instance-count")
    before = int(count.inner_text())
    link = intake.get_by_role("link", name="intake", exact=True)
    link.focus()
    expect(link).to_be_focused()
    engine.start("intake", input={"applicant": "bob"}, instance_id="lf-2")
    expect(count).to_have_text(str(before + 1))  # the page was drawn again
    expect(link).to_be_focused()
    # Tab goes on from there, not from the top of the page.
    page.keyboard.press("Tab")
    expect(intake.locator(".version-chip")).to_be_focused()


def test_a_focused_state_link_on_a_definition_page_keeps_the_focus_across_live_updates(
    console_server: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    engine = console_server.engine
    engine.start("intake", input={"applicant": "cy"}, instance_id="lf-3")
    page = logged_in_page("viewer")
    page.goto("/definitions/intake")
    draft = page.locator('[data-testid=state-count][data-state="draft"]')
    before = int(draft.locator("td").nth(1).inner_text())
    link = draft.get_by_role("link")
    link.focus()
    expect(link).to_be_focused()
    engine.start("intake", input={"applicant": "dee"}, instance_id="lf-4")
    expect(draft.locator("td").nth(1)).to_have_text(str(before + 1))
    expect(link).to_be_focused()
