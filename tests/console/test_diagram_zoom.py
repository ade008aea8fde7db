"""The diagram panel shows the whole of a wide chart: fitted to the panel's width by default
where its names stay readable, with controls for a scale of one's own ("100%", zoom in and
out, "Fit"); wherever the chart goes on beyond the panel, a shaded edge and a note say so. On
a phone the chart stays readable and scrolls, says so, and "Fit" shows it whole; the active
state stays highlighted, live, at every scale."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from console_kit import ConsoleServer
from pages_kit import ACTIVE
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.slow
expect.set_options(timeout=15_000)

PHONE = {"width": 390, "height": 844}

#: Whether the chart lies whole inside the diagram's panel (nothing to scroll to).
WHOLE = """() => {
  const box = document.querySelector("[data-testid=diagram]");
  const svg = box.querySelector("svg").getBoundingClientRect();
  const frame = box.getBoundingClientRect();
  return box.scrollWidth <= box.clientWidth + 1 && svg.right <= frame.right + 1;
}"""


def test_a_wide_chart_fits_the_panel_and_says_when_it_goes_on_beyond_it(
    console_server: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    page = logged_in_page("viewer")
    page.goto("/definitions/order")
    expect(page.get_by_test_id("diagram")).to_have_attribute("data-ready", "true")
    assert page.evaluate(WHOLE), "the order's chart should fit the panel's width"
    scale = page.get_by_test_id("diagram-scale")
    expect(scale).to_have_text("63%")
    expect(page.get_by_test_id("diagram-more")).to_be_hidden()
    frame = page.get_by_test_id("diagram-frame")
    page.get_by_test_id("diagram-actual").click()
    expect(scale).to_have_text("100%")
    assert not page.evaluate(WHOLE)
    expect(frame).to_have_class("diagram-frame more-right")
    expect(page.get_by_test_id("diagram-more")).to_have_text("More to the right: scroll, or Fit")
    page.get_by_test_id("diagram").evaluate("(box) => { box.scrollLeft = box.scrollWidth; }")
    expect(frame).to_have_class("diagram-frame more-left")
    expect(page.get_by_test_id("diagram-more")).to_have_text("More to the left: scroll, or Fit")
    page.get_by_test_id("diagram-zoom-out").click()
    expect(scale).to_have_text("85%")
    page.get_by_test_id("diagram-fit").click()
    expect(scale).to_have_text("63%")
    assert page.evaluate(WHOLE)
    expect(page.get_by_test_id("diagram-more")).to_be_hidden()
    # Fitted, it follows the panel's width.
    page.set_viewport_size({"width": 1600, "height": 800})
    expect(scale).not_to_have_text("63%")
    assert page.evaluate(WHOLE)


def test_on_a_phone_the_chart_stays_readable_says_it_goes_on_and_fits_on_demand(
    console_server: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    engine = console_server.engine
    engine.start("order", input={"orderId": "ZM-1", "amount": 2500}, instance_id="ZM-1")
    page = logged_in_page("operator")
    page.set_viewport_size(PHONE)
    page.goto("/instances/ZM-1")
    expect(page.get_by_test_id("diagram")).to_have_attribute("data-ready", "true")
    expect(page.get_by_test_id("diagram-scale")).to_have_text("85%")
    expect(page.get_by_test_id("diagram-more")).to_contain_text("scroll, or Fit")
    assert not page.evaluate(WHOLE)
    for control in ("zoom-out", "fit", "actual", "zoom-in"):
        box = page.get_by_test_id(f"diagram-{control}").bounding_box()
        assert box is not None and box["x"] + box["width"] <= PHONE["width"], control
    page.get_by_test_id("diagram-fit").click()
    assert page.evaluate(WHOLE)
    expect(page.get_by_test_id("diagram-more")).to_be_hidden()
    state = page.locator("g.sw-state[data-state='order.pending_approval']")
    expect(state).to_have_class(ACTIVE)
    engine.send("ZM-1", {"type": "REJECT"})
    expect(page.locator("g.sw-state[data-state='order.rejected']")).to_have_class(ACTIVE)
    expect(state).not_to_have_class(ACTIVE)
    assert page.evaluate(WHOLE), "a live update keeps the chosen scale"
