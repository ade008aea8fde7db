"""A statechart wider than the page scrolls sideways inside its panel; the instance page
scrolls it to the instance's active state, on arrival and when the instance moves, instead
of always showing the chart's left end (where the order example's later states are not)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from console_kit import ConsoleServer
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.slow
expect.set_options(timeout=15_000)

PHONE = {"width": 390, "height": 844}

#: Whether one of the innermost active states lies whole inside the diagram's visible part.
ACTIVE_IN_VIEW = """() => {
  const box = document.querySelector("[data-testid=diagram]");
  const frame = box.getBoundingClientRect();
  return [...box.querySelectorAll("g.sw-state.sw-active")]
    .filter((g) => !g.querySelector("g.sw-state.sw-active"))
    .map((g) => g.getBoundingClientRect())
    .some((r) => r.left >= frame.left - 1 && r.right <= frame.right + 1);
}"""


def _wide(page: Page) -> None:
    wide = page.evaluate(
        "() => { const b = document.querySelector('[data-testid=diagram]');"
        " return b.scrollWidth > b.clientWidth; }"
    )
    assert wide, "the order's chart should be wider than a phone's screen"


def test_the_instance_page_scrolls_the_diagram_to_the_active_state(
    console_server: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    engine = console_server.engine
    engine.start("order", input={"orderId": "RV-1", "amount": 2500}, instance_id="RV-1")
    engine.send("RV-1", {"type": "REJECT"})
    page = logged_in_page("operator")
    page.set_viewport_size(PHONE)
    page.goto("/instances/RV-1")
    expect(page.get_by_test_id("diagram")).to_have_attribute("data-ready", "true")
    _wide(page)
    assert page.evaluate(ACTIVE_IN_VIEW), "the rejected state is scrolled out of view"


def test_the_diagram_follows_the_instance_when_it_moves_out_of_view(
    console_server: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    engine = console_server.engine
    engine.start("order", input={"orderId": "RV-2", "amount": 2500}, instance_id="RV-2")
    page = logged_in_page("operator")
    page.set_viewport_size(PHONE)
    page.goto("/instances/RV-2")
    expect(page.get_by_test_id("diagram")).to_have_attribute("data-ready", "true")
    _wide(page)
    assert page.evaluate(ACTIVE_IN_VIEW), "pending_approval should be in view"
    engine.send("RV-2", {"type": "REJECT"})
    expect(page.get_by_test_id("business-state")).to_have_attribute("data-value", "rejected")
    page.wait_for_function(ACTIVE_IN_VIEW)
