"""The instances list by keyboard: live updates (new counts, changed rows, the list read
again) keep the focus where it was, and the bulk controls have names."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from console_kit import ConsoleServer
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.slow
expect.set_options(timeout=15_000)

FOCUSED = """() => {
    const node = document.activeElement;
    return { tag: node.tagName, testid: node.dataset.testid || "", state: node.dataset.state || "",
             text: node.textContent };
}"""


def test_live_updates_keep_the_keyboard_focus(
    console_server: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    engine = console_server.engine
    for number in (1, 2):
        engine.start("intake", input={"applicant": "ann"}, instance_id=f"K-{number}")
    page = logged_in_page("operator")
    page.goto("/?definition=intake")
    expect(page.get_by_test_id("instances-row")).to_have_count(2)
    expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-state", "open")

    # A chip keeps the focus while the counts change and the list is read again.
    draft = page.locator("[data-testid=state-count][data-state=draft]")
    expect(draft).to_have_attribute("data-count", "2")
    draft.focus()
    engine.start("intake", input={"applicant": "bo"}, instance_id="K-3")
    expect(draft).to_have_attribute("data-count", "3")
    expect(page.locator("[data-testid=instances-row][data-id='K-3']")).to_be_visible()
    focused = page.evaluate(FOCUSED)
    assert (focused["testid"], focused["state"]) == ("state-count", "draft"), focused

    # An instance's link keeps it while its row changes and the list is read again.
    link = page.locator("[data-testid=instances-row][data-id='K-1'] a")
    link.focus()
    engine.send("K-1", "SUBMIT", actor="ann")
    engine.start("intake", input={"applicant": "cy"}, instance_id="K-4")
    expect(
        page.locator("[data-testid=instances-row][data-id='K-1']").get_by_test_id("business-state")
    ).to_have_text("in_review")
    expect(page.locator("[data-testid=instances-row][data-id='K-4']")).to_be_visible()
    expect(page.locator("[data-testid=state-count][data-state=in_review]")).to_have_count(1)
    focused = page.evaluate(FOCUSED)
    assert (focused["testid"], focused["text"]) == ("instance-link", "K-1"), focused
    # And the keyboard goes on from there, to the next row's link.
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED)["text"] == "K-2"


def test_the_bulk_controls_have_names(
    console_server: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    page = logged_in_page("operator")
    page.goto("/")
    expect(page.get_by_test_id("bulk")).to_be_visible()
    expect(page.get_by_role("combobox", name="Bulk action")).to_have_id("bulk-action")
    expect(page.get_by_role("textbox", name="Event to send")).to_have_id("bulk-event")
    # The placeholder is read in full at desktop width.
    room = page.get_by_test_id("bulk-event").evaluate(
        """(input) => {
            const style = getComputedStyle(input);
            const pen = document.createElement("canvas").getContext("2d");
            pen.font = style.font;
            const inner = input.clientWidth - parseFloat(style.paddingLeft)
                - parseFloat(style.paddingRight);
            return inner - pen.measureText(input.placeholder).width;
        }"""
    )
    assert room >= 0, f"the placeholder is cut off by {-room:.0f} px"
