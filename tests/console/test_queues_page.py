"""The queues page while it reads itself again (every few seconds, and after each committed
transition): the keyboard focus stays where it was, the steps tab survives a reload, and
what the server answered to "Retry now" stays shown."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from console_kit import ConsoleServer
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.slow


def _retrying_step(server: ConsoleServer, instance_id: str) -> None:
    """An instance whose step failed and waits an hour for its next attempt."""
    server.engine.start("sync", input={"record": instance_id}, instance_id=instance_id)


def test_focus_stays_on_a_row_link_across_refreshes(
    console_server: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    console_server.engine.start(
        "order", input={"orderId": "QF-1", "amount": 2000}, instance_id="QF-1"
    )
    page = logged_in_page("operator")
    page.goto("/queues")
    link = page.get_by_test_id("timer-row").filter(has_text="QF-1").get_by_role("link")
    link.focus()
    expect(link).to_be_focused()
    page.wait_for_function(
        "() => { const t = document.getElementById('refreshed').textContent;"
        " return new Promise((done) => setTimeout(() => done("
        "document.getElementById('refreshed').textContent !== t), 5600)); }",
        timeout=15_000,
    )
    # The rows were made again; the focus is on the same instance's link, not lost to <body>.
    expect(
        page.get_by_test_id("timer-row").filter(has_text="QF-1").get_by_role("link")
    ).to_be_focused()


def test_the_steps_tab_is_kept_in_the_url(
    console_server: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    _retrying_step(console_server, "QT-1")
    page = logged_in_page("operator")
    page.goto("/queues")
    expect(page.get_by_test_id("step-row").filter(has_text="QT-1")).to_contain_text(
        "retrying", timeout=10_000
    )
    page.get_by_role("tab", name="Running").click()
    expect(page).to_have_url(f"{console_server.url}/queues?steps=running")
    expect(page.get_by_test_id("step-row").filter(has_text="QT-1")).to_have_count(0)
    page.reload()
    expect(page.get_by_role("tab", name="Running")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("tab", name="All")).to_have_attribute("aria-selected", "false")
    expect(page.get_by_test_id("step-row").filter(has_text="QT-1")).to_have_count(0)
    page.goto("/queues?steps=retrying")
    expect(page.get_by_test_id("step-row").filter(has_text="QT-1")).to_have_count(1)


def test_a_refused_retry_stays_shown_after_the_page_reads_again(
    console_server: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    _retrying_step(console_server, "QR-1")
    page = logged_in_page("operator")
    page.clock.install()
    page.goto("/queues")
    step = page.get_by_test_id("step-row").filter(has_text="QR-1")
    expect(step).to_contain_text("retrying", timeout=10_000)
    # Stopped behind the page's back; the page's clock stands still, so it has not read
    # again when the operator presses "Retry now".
    console_server.engine.cancel("QR-1", reason="no longer needed")
    step.get_by_test_id("step-retry").click()
    problem = page.get_by_test_id("problem")
    expect(problem).to_contain_text("409")
    # The page reads again (the stream's transition, then the 5 s refresh): the row goes,
    # and the server's answer stays where the operator looks.
    page.clock.run_for(6_000)
    expect(step).to_have_count(0)
    expect(problem).to_contain_text("409")
    expect(page.get_by_test_id("steps-panel").get_by_test_id("problem")).to_be_visible()
