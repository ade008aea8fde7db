"""The instances list in a real browser: rows with their state, live updates, a bulk action
counted before it is confirmed, a forged POST refused, another tenant's instance hidden,
and the screenshot of the list the README shows."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from console_kit import SCREENSHOTS, ConsoleServer
from playwright.sync_api import Locator, Page, expect

pytestmark = pytest.mark.slow

#: Orders by amount: under 1000 approved at once (then paid by the server's worker), over
#: 5000 declined by the card step (retried, then manual review), else a person approves.
ORDERS = {"A-1001": 2500, "A-1002": 1800, "A-1003": 420, "A-1004": 9000, "A-1005": 3100}


@pytest.fixture(scope="module")
def shop(console_server: ConsoleServer) -> ConsoleServer:
    """Instances in several states in the default tenant, and one in another tenant."""
    engine = console_server.engine
    for order_id, amount in ORDERS.items():
        engine.start("order", input={"orderId": order_id, "amount": amount}, instance_id=order_id)
    engine.send("A-1004", {"type": "APPROVE", "by": "ann"}, actor="ann")  # then declined
    engine.start("order", input={"orderId": "A-1006", "amount": 2000}, instance_id="A-1006")
    engine.send("A-1006", {"type": "REJECT", "reason": "duplicate"}, actor="ann")
    engine.start("order", input={"orderId": "A-1007", "amount": 1500}, instance_id="A-1007")
    engine.cancel("A-1007", reason="customer called")
    for number in (1, 2):
        engine.start("approval", input={"document": f"contract-{number}.pdf"},
                     instance_id=f"DOC-{number}")  # fmt: skip
    engine.start("order", input={"orderId": "S-1", "amount": 2500}, instance_id="secret-1",
                 tenant="other")  # fmt: skip
    return console_server


def row(page: Page, instance_id: str) -> Locator:
    return page.locator(f"[data-testid=instances-row][data-id='{instance_id}']")


def test_the_list_shows_states_and_follows_changes_live(
    shop: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    page = logged_in_page("operator")
    page.goto("/")
    expect(page.get_by_test_id("instances-row")).to_have_count(9)
    first = row(page, "A-1001")
    expect(first.get_by_test_id("business-state")).to_have_text("pending_approval")
    expect(first.get_by_test_id("runtime-status")).to_contain_text("waiting")  # its 48h timer
    expect(row(page, "A-1006").get_by_test_id("status")).to_have_text("done")
    expect(row(page, "A-1007").get_by_test_id("status")).to_have_text("stopped")
    expect(first.locator("a")).to_have_attribute("href", "/instances/A-1001")
    pending = page.locator("[data-testid=state-count][data-state=pending_approval]")
    expect(pending).to_have_attribute("data-count", "4")  # the cancelled one stays there
    expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-state", "open")
    # A change made elsewhere (here, by the engine directly) shows without a reload.
    shop.engine.send("A-1002", {"type": "APPROVE", "by": "ann"}, actor="ann")
    expect(row(page, "A-1002").get_by_test_id("business-state")).not_to_have_text(
        "pending_approval"
    )
    expect(pending).to_have_attribute("data-count", "3")
    # A new instance appears too.
    shop.engine.start("order", input={"orderId": "A-1008", "amount": 5000}, instance_id="A-1008")
    expect(row(page, "A-1008")).to_have_count(1)
    # The worker settles the small and the declined orders, then the list is photographed.
    expect(row(page, "A-1003").get_by_test_id("business-state")).to_contain_text(
        "fulfilment", timeout=15_000
    )
    expect(row(page, "A-1004").get_by_test_id("business-state")).to_have_text(
        "payment_failed", timeout=20_000
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(300)  # the last highlight fades
    page.screenshot(path=str(SCREENSHOTS / "instances.png"))


def test_filters_search_and_a_bulk_action_counted_first(
    shop: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    page = logged_in_page("operator")
    page.goto("/?definition=approval")
    expect(page.get_by_test_id("instances-row")).to_have_count(2)
    page.get_by_test_id("filter-definition").select_option("order")
    page.get_by_test_id("filter-status").select_option("active")
    page.locator("[data-testid=state-count][data-state=pending_approval]").click()
    expect(page).to_have_url(re.compile(r"definition=order&state=pending_approval&status=active"))
    expect(page.get_by_test_id("instances-row")).to_have_count(3)  # A-1001, A-1005, A-1008
    expect(page.locator("#total")).to_have_text("3 instances")  # the state filter counted too
    waiting = [
        t.strip() for t in page.locator("[data-testid=instances-row] .sw-id").all_inner_texts()
    ]
    assert waiting and all(shop.engine.get(i).value == "pending_approval" for i in waiting), waiting
    page.get_by_test_id("bulk-action").select_option("send")
    page.get_by_test_id("bulk-event").fill("REJECT")
    page.get_by_test_id("bulk-count").click()
    expect(page.get_by_test_id("bulk-matched")).to_contain_text(f"{len(waiting)} instances")
    assert all(shop.engine.get(i).value == "pending_approval" for i in waiting)  # only counted
    page.get_by_test_id("bulk-go").click()
    expect(page.get_by_test_id("bulk-done")).to_contain_text(f"{len(waiting)} done")
    assert all(shop.engine.get(i).value == "rejected" for i in waiting)
    expect(page.get_by_test_id("instances-empty")).to_be_visible()
    # Search by id: the exact id and those starting with it, of this tenant only.
    page.goto("/")
    page.get_by_test_id("filter-search").fill("A-100")
    expect(page.get_by_test_id("instances-row")).to_have_count(8)
    expect(page.locator("#total")).to_contain_text("ids starting with A-100, of ")
    page.get_by_test_id("filter-search").fill("secret")
    expect(page.get_by_test_id("instances-empty")).to_be_visible()


def test_escape_closes_a_bulk_confirmation_and_gives_the_focus_back(
    shop: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    page = logged_in_page("operator")
    page.goto("/?definition=approval")
    expect(page.get_by_test_id("instances-row")).to_have_count(2)
    page.get_by_test_id("bulk-action").select_option("cancel")
    page.get_by_test_id("bulk-count").click()
    expect(page.get_by_test_id("bulk-matched")).to_contain_text("2 instances")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("bulk-go")).to_be_hidden()
    expect(page.get_by_test_id("bulk-count")).to_be_focused()
    assert all(shop.engine.get(f"DOC-{n}").status == "active" for n in (1, 2))


def test_a_forged_post_and_another_tenants_instance_are_refused(
    shop: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    page = logged_in_page("operator")
    page.goto("/")
    expect(page.get_by_test_id("instances-row").first).to_be_visible()
    before = shop.engine.get("A-1005").version
    # The browser sends the cookie with this request, but no X-CSRF-Token: refused.
    assert page.request.get("/api/v1/instances/A-1005").status == 200
    forged = page.request.post("/api/v1/instances/A-1005/events", data={"type": "REJECT"})
    assert forged.status == 403
    assert forged.json()["type"].endswith("csrf-failed")
    assert "X-CSRF-Token" in forged.json()["detail"]
    assert shop.engine.get("A-1005").version == before
    # Another tenant's instance is not found, through the page's own API calls too.
    hidden = page.evaluate(
        """async () => {
            const { api } = await import("/static/js/api.js");
            try { await api("/instances/secret-1"); return "shown"; }
            catch (error) { return error.status; }
        }"""
    )
    assert hidden == 404
    assert page.request.get("/api/v1/instances/secret-1/history").status == 404
    viewer = logged_in_page("viewer")
    viewer.goto("/")
    expect(viewer.get_by_test_id("instances-row").first).to_be_visible()
    expect(viewer.get_by_test_id("bulk")).to_be_hidden()


def test_the_queues_page_shows_steps_timers_and_workers(
    shop: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    shop.engine.start("order", input={"orderId": "Q-1", "amount": 2000}, instance_id="Q-1")
    page = logged_in_page("operator")
    page.goto("/queues")
    timer = page.get_by_test_id("timer-row").filter(has_text="Q-1")
    expect(timer).to_contain_text(re.compile(r"in (1d 23h|2d)$"))  # the 48h approval deadline
    # Named as the instance page names it, not by its event's type.
    expect(timer).to_contain_text("timer: after 48h")
    expect(timer).not_to_contain_text("xstate.after")
    worker = page.get_by_test_id("worker-row")
    expect(worker).to_have_count(1)
    expect(worker).to_contain_text("live")
    expect(worker).to_contain_text("chargeCard")
    expect(page.get_by_test_id("stat-workers")).to_contain_text("1")
    # A failing step waits an hour for its next attempt; "Retry now" makes it due at once.
    shop.engine.start("sync", input={"record": "R-7"}, instance_id="SYNC-1")
    step = page.get_by_test_id("step-row").filter(has_text="SYNC-1")
    expect(step).to_contain_text("remote refused record R-7", timeout=10_000)
    expect(step).to_contain_text("retrying")
    expect(step).to_contain_text("1 / 3")
    expect(page.get_by_test_id("stat-retrying")).to_contain_text("1")
    step.get_by_test_id("step-retry").click()
    expect(step).to_contain_text("2 / 3", timeout=10_000)
    expect(page.get_by_test_id("dead-letters-panel")).to_contain_text("No dead letters")
    # No worker listens for intake's messages here: they wait in the outbox.
    shop.engine.start("intake", input={"applicant": "Ada"}, instance_id="IN-1")
    shop.engine.send("IN-1", "SUBMIT", actor="ada")
    message = page.get_by_test_id("outbox-row").filter(has_text="IN-1")
    expect(message).to_contain_text("intake.submitted")
    # On a phone the tables scroll sideways inside their panels: a word (an id, a step's
    # name, a state) stays on one line, not broken every few letters to fit the width.
    page.set_viewport_size({"width": 390, "height": 844})
    expect(step).to_be_visible()
    assert page.evaluate(BROKEN_WORDS) == []


#: The texts of table cells without a space whose text runs over more than one line.
BROKEN_WORDS = """() => {
  const broken = [];
  for (const td of document.querySelectorAll(".sw-table td")) {
    const text = td.innerText.trim();
    if (!text || /\\s/.test(text)) continue;
    const walker = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
    const tops = new Set();
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const range = document.createRange();
      range.selectNodeContents(node);
      for (const rect of range.getClientRects()) tops.add(Math.round(rect.top / 4));
    }
    if (tops.size > 1) broken.push(text);
  }
  return broken;
}"""
