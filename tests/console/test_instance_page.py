"""The instance page in a browser, over `statewright serve --with-worker` with the examples:
an order drawn with its active state, APPROVE pressed and the page following without a
reload, an order in manual review retried, an order stopped, what a viewer and a token
without payloads see, another tenant's instance, long state names that fit their boxes, and
a wide diagram kept readable."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pages_kit import ACTIVE, login, screenshot
from playwright.sync_api import Browser, Locator, Page, expect

from statewright import Machine
from statewright.engine import Engine

pytestmark = pytest.mark.slow
expect.set_options(timeout=15_000)

HOUR = 3_600_000
INTAKE = Path(__file__).resolve().parents[2] / "examples" / "intake" / "intake.json"


class SetClock:
    """A clock at whatever time the test sets."""

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def now(self) -> int:
        return self.ms


def state_box(page: Page, state_id: str) -> Locator:
    return page.locator(f'g.sw-state[data-state="{state_id}"]')


def test_an_order_is_drawn_and_approve_moves_it_on_live(
    console_server: Any, logged_in_page: Callable[..., Page]
) -> None:
    engine = console_server.engine
    engine.start("order", input={"orderId": "o-1", "amount": 2500}, instance_id="o-1")
    page = logged_in_page("operator")
    page.goto("/instances/o-1")
    expect(page.get_by_test_id("business-state")).to_contain_text("pending_approval")
    expect(page.get_by_test_id("runtime-status")).to_be_visible()
    expect(state_box(page, "order.pending_approval")).to_have_class(ACTIVE)
    expect(state_box(page, "order.payment")).not_to_have_class(ACTIVE)
    expect(page.get_by_test_id("timeline-entry")).to_have_count(1)
    expect(page.get_by_test_id("timer")).to_contain_text("after 48h")
    page.evaluate("window.notReloaded = true")

    page.get_by_test_id("event-button-APPROVE").click()
    page.locator("#field-payload").fill('{"by": "ann"}')
    page.get_by_test_id("event-send").click()

    # The worker charges the card (2500 is under the limit): payment, then fulfilment.
    expect(page.get_by_test_id("business-state")).to_contain_text("fulfilment")
    expect(state_box(page, "order.pending_approval")).not_to_have_class(ACTIVE)
    expect(state_box(page, "order.fulfilment.inventory.reserving")).to_have_class(ACTIVE)
    approve = page.locator('[data-testid=timeline-entry][data-event="APPROVE"]')
    expect(approve).to_contain_text("pending_approval")
    expect(approve).to_contain_text("operator-default")
    expect(page.get_by_test_id("timeline-entry")).to_have_count(3)
    expect(page.get_by_test_id("event-button-SHIPPED")).to_be_visible()
    expect(page.get_by_test_id("event-button-APPROVE")).to_have_count(0)
    assert page.evaluate("window.notReloaded") is True

    # The scrubber replays the history onto the diagram: back to the start, then live again.
    page.get_by_test_id("scrubber").evaluate(
        "(range) => { range.value = '0'; range.dispatchEvent(new Event('input')); }"
    )
    expect(state_box(page, "order.pending_approval")).to_have_class(ACTIVE)
    expect(state_box(page, "order.fulfilment.inventory.reserving")).not_to_have_class(ACTIVE)
    expect(page.get_by_test_id("scrub-label")).to_contain_text("pending_approval")
    # Only the diagram and the history go back, and the page says so.
    expect(page.get_by_test_id("scrub-note")).to_contain_text("the instance now")
    page.get_by_test_id("scrub-live").click()
    expect(state_box(page, "order.fulfilment.inventory.reserving")).to_have_class(ACTIVE)
    expect(page.get_by_test_id("scrub-note")).to_have_text("")


def test_an_order_in_manual_review_is_retried(
    console_server: Any, logged_in_page: Callable[..., Page]
) -> None:
    engine = console_server.engine
    engine.start("order", input={"orderId": "o-2", "amount": 9000}, instance_id="o-2")
    engine.send("o-2", {"type": "APPROVE", "by": "bob"}, actor="bob")
    page = logged_in_page("operator")
    page.goto("/instances/o-2")
    # The card is declined three times (retried after 1 s, then 2 s): manual review.
    expect(page.get_by_test_id("business-state")).to_contain_text("payment_failed", timeout=30_000)
    expect(page.get_by_test_id("business-state")).to_contain_text("Manual review")
    failed = page.locator('[data-testid=timeline-entry][data-event="xstate.error.actor.payment"]')
    expect(failed).to_have_count(1)
    expect(page.get_by_test_id("timeline-attempt").first).to_contain_text("card declined for 9000")
    assert page.get_by_test_id("timeline-attempt").count() >= 2
    expect(state_box(page, "order.payment_failed")).to_have_class(ACTIVE)
    expect(page.get_by_test_id("context")).to_contain_text("card declined for 9000")
    screenshot(page, "instance-manual-review.png")

    page.get_by_test_id("event-button-RETRY").click()
    page.get_by_test_id("event-send").click()
    expect(page.locator('[data-testid=timeline-entry][data-event="RETRY"]')).to_have_count(1)
    # The payment runs again, is declined again, and the order is back in review.
    expect(failed).to_have_count(2, timeout=30_000)
    expect(page.get_by_test_id("business-state")).to_contain_text("payment_failed")


def test_stopping_an_order_says_where_it_stopped(
    console_server: Any, logged_in_page: Callable[..., Page]
) -> None:
    engine = console_server.engine
    engine.start("order", input={"orderId": "o-5", "amount": 3000}, instance_id="o-5")
    page = logged_in_page("operator")
    page.goto("/instances/o-5")
    expect(page.get_by_test_id("business-state")).to_contain_text("pending_approval")
    page.get_by_test_id("cancel-button").click()
    page.get_by_test_id("cancel-send").click()
    expect(page.get_by_test_id("runtime-status")).to_contain_text("stopped")
    # The state did not change: no "pending_approval → pending_approval".
    version = engine.get("o-5").version
    expect(page.get_by_test_id("flash")).to_have_text(f"stopped in pending_approval (v{version})")


def test_a_viewer_sees_no_buttons_and_a_token_without_payloads_no_context(
    console_server: Any, logged_in_page: Callable[..., Page], chromium_browser: Browser
) -> None:
    engine = console_server.engine
    engine.start("order", input={"orderId": "o-3", "amount": 3000}, instance_id="o-3")
    viewer = logged_in_page("viewer")
    viewer.goto("/instances/o-3")
    expect(viewer.get_by_test_id("business-state")).to_contain_text("pending_approval")
    expect(viewer.get_by_test_id("actions-note")).to_contain_text("viewer")
    expect(viewer.get_by_test_id("event-button-APPROVE")).to_have_count(0)
    expect(viewer.get_by_test_id("event-button-REJECT")).to_have_count(0)
    expect(viewer.get_by_test_id("context")).to_contain_text("o-3")

    _, secret = engine.create_token(role="operator", name="blind", payloads=False)
    blind = login(chromium_browser, console_server.url, secret)
    try:
        blind.goto("/instances/o-3")
        expect(blind.get_by_test_id("context-withheld")).to_be_visible()
        expect(blind.get_by_test_id("context")).not_to_contain_text("3000")
        expect(blind.get_by_test_id("event-button-APPROVE")).to_be_visible()
    finally:
        blind.context.close()


def test_another_tenants_instance_is_not_found(
    console_server: Any, logged_in_page: Callable[..., Page]
) -> None:
    engine = console_server.engine
    engine.start(
        "order", input={"orderId": "o-4", "amount": 3000}, instance_id="o-4", tenant="elsewhere"
    )
    page = logged_in_page("admin")
    page.goto("/instances/o-4")
    expect(page.get_by_test_id("not-found")).to_contain_text("o-4")
    expect(page.get_by_test_id("business-state")).to_have_count(0)


def test_long_waits_are_compressed_in_the_timeline(
    console_server: Any, logged_in_page: Callable[..., Page]
) -> None:
    now = time.time_ns() // 1_000_000
    clock = SetClock(now - 3 * HOUR)
    with Engine.open(console_server.store_url, clock=clock) as earlier:
        earlier.register(Machine.load(INTAKE))
        earlier.start("intake", input={"applicant": "ann"}, instance_id="i-1")
        clock.ms = now - 2 * HOUR
        earlier.send("i-1", {"type": "SUBMIT"})
    console_server.engine.send("i-1", {"type": "REJECT"})
    page = logged_in_page("viewer")
    page.goto("/instances/i-1")
    expect(page.get_by_test_id("timeline-entry")).to_have_count(3)
    gaps = page.get_by_test_id("timeline-gap")
    expect(gaps).to_have_count(2)
    expect(gaps.nth(0)).to_contain_text("1h in draft")
    expect(gaps.nth(1)).to_contain_text("2h in in_review")
    reject = page.locator('[data-testid=timeline-entry][data-event="REJECT"]')
    expect(reject).to_contain_text("after 2h in in_review")


def test_state_names_fit_their_boxes_in_the_diagram(
    console_server: Any, logged_in_page: Callable[..., Page]
) -> None:
    console_server.engine.start(
        "approval", input={"document": "contract-9.pdf"}, instance_id="ap-1"
    )
    page = logged_in_page("viewer")
    page.goto("/instances/ap-1")
    expect(state_box(page, "approval.waiting_for_approval")).to_have_count(1)
    overflowing = page.evaluate(
        """() => [...document.querySelectorAll("g.sw-state")].flatMap((g) => {
            const box = g.querySelector(":scope > rect.sw-box");
            if (!box) return [];
            const width = box.width.baseVal.value;
            return [...g.querySelectorAll(":scope > text.sw-name, :scope > text.sw-internal")]
                .map((text) => ({ text: text.textContent, box: width, bbox: text.getBBox() }))
                .filter((t) => t.bbox.x < 0 || t.bbox.x + t.bbox.width > t.box)
                .map((t) => `${t.text}: ${Math.round(t.bbox.x + t.bbox.width)} > ${t.box}`);
        })"""
    )
    assert overflowing == []


def test_a_wide_diagram_fits_a_desktop_and_keeps_a_readable_scale_on_a_phone(
    console_server: Any, logged_in_page: Callable[..., Page]
) -> None:
    console_server.engine.start(
        "order", input={"orderId": "o-9", "amount": 2500}, instance_id="o-9"
    )
    page = logged_in_page("viewer")
    measure = """() => {
        const diagram = document.querySelector("[data-testid=diagram]");
        const svg = diagram.querySelector("svg.sw-statechart");
        return {
            scale: svg.getBoundingClientRect().width / svg.viewBox.baseVal.width,
            scrolls: diagram.scrollWidth > diagram.clientWidth,
            pageScrolls: document.documentElement.scrollWidth > window.innerWidth,
        };
    }"""
    # A desktop fits the whole chart, names still readable; a phone keeps them at a
    # readable scale and scrolls sideways (its "Fit" shows the chart whole).
    for width, height, scale, scrolls in ((1280, 800, 0.55, False), (390, 844, 0.8, True)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto("/instances/o-9")
        expect(state_box(page, "order.pending_approval")).to_have_class(ACTIVE)
        seen = page.evaluate(measure)
        assert seen["scale"] >= scale, (width, seen)
        assert seen["scrolls"] is scrolls, (width, seen)
        # The diagram scrolls, not the page.
        assert not seen["pageScrolls"], (width, seen)
