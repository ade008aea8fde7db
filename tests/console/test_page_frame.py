"""What every logged-in page shares: an icon (no request of the pages fails), a layout that
fits a phone's width without scrolling sideways, and a banner while the live stream is down."""

from __future__ import annotations

import runpy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from console_kit import MACHINES_FILE, ConsoleServer
from pages_kit import free_port, login, statewright, wait_ready
from playwright.sync_api import Browser, Page, expect

from statewright.engine import Engine

pytestmark = pytest.mark.slow
expect.set_options(timeout=15_000)

#: Each logged-in page, and what shows once it has read its data.
PAGES = {
    "/": "[data-testid=instances-row]",
    "/instances/fr-1": "[data-testid=diagram][data-ready=true]",
    "/definitions": "[data-testid=definitions-row]",
    "/definitions/order": "[data-testid=diagram] svg",
    "/queues": "[data-testid=step-row]",
}


@pytest.fixture(scope="module")
def served(console_server: ConsoleServer) -> ConsoleServer:
    """An order waiting for approval, and a step retrying (so the queues show a row)."""
    engine = console_server.engine
    engine.start("order", input={"orderId": "fr-1", "amount": 2500}, instance_id="fr-1")
    engine.start("sync", input={"record": "r-1"}, instance_id="fr-2")
    return console_server


def visit(page: Page, path: str) -> None:
    page.goto(path)
    expect(page.locator(PAGES[path]).first).to_be_visible()


def test_no_request_of_a_page_fails_and_each_has_an_icon(
    served: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    page = logged_in_page("operator")
    failed: list[str] = []
    page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
    page.on("console", lambda m: m.type == "error" and failed.append(m.text))
    for path in PAGES:
        visit(page, path)
        page.wait_for_timeout(300)  # the browser asks for the icon once the page loaded
    assert failed == []
    icons = page.locator("link[rel=icon]")
    expect(icons).to_have_count(1)
    answer = page.request.get(icons.get_attribute("href") or "")
    assert answer.ok and answer.headers["content-type"].startswith("image/svg+xml")


def test_at_a_phones_width_no_page_scrolls_sideways(
    served: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    page = logged_in_page("operator")
    page.set_viewport_size({"width": 390, "height": 844})
    for path in PAGES:
        visit(page, path)
        wide = page.evaluate(
            """(reached) => ({
                page: document.documentElement.scrollWidth,
                screen: window.innerWidth,
                out: [...document.querySelectorAll(reached)]
                    .filter((node) => node.getBoundingClientRect().right > window.innerWidth)
                    .map((node) => node.textContent || node.className),
            })""",
            "header a, header span, [data-testid=scrub-live]",
        )
        assert wide["page"] <= wide["screen"] and wide["out"] == [], (path, wide)
    # The steps' table scrolls inside its own panel.
    steps = page.get_by_test_id("steps-panel")
    assert steps.evaluate("(panel) => panel.scrollWidth > panel.clientWidth")


def test_a_banner_shows_while_the_page_is_not_live(
    chromium_browser: Browser, tmp_path: Path
) -> None:
    store_url = f"sqlite:///{tmp_path / 'banner.db'}"
    machines: list[Any] = runpy.run_path(str(MACHINES_FILE))["MACHINES"]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = ("serve", "--url", store_url, "--port", str(port), "--machines", str(MACHINES_FILE),
             "--rate", "0", "--stream-poll", "0.05", "--stream-heartbeat", "1")  # fmt: skip
    with Engine.open(store_url) as engine:
        for machine in machines:
            engine.register(machine)
        secret = engine.create_token(tenant="default", role="viewer", name="watcher")[1]
        with statewright(*serve, log=tmp_path / "serve-1.log") as server:
            wait_ready(server, base, tmp_path / "serve-1.log")
            page = login(chromium_browser, base, secret)
            page.goto("/")
            expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-state", "open")
            banner = page.get_by_test_id("live-banner")
            expect(banner).to_be_hidden()
        try:
            # The server is gone: the page says its data may be stale.
            expect(banner).to_be_visible()
            expect(banner).to_have_text("Not live: reconnecting…")
            # It stays through a failed attempt to reconnect.
            with page.expect_event("requestfailed", lambda r: "/api/v1/" in r.url):
                pass
            expect(banner).to_be_visible()
            with statewright(*serve, log=tmp_path / "serve-2.log") as server:
                wait_ready(server, base, tmp_path / "serve-2.log")
                engine.start("intake", input={"applicant": "ann"}, instance_id="after-1")
                expect(page.get_by_test_id("live-indicator")).to_have_attribute(
                    "data-state", "open", timeout=30_000
                )
                expect(banner).to_be_hidden()
                # Live again, the page read its data again.
                expect(page.get_by_test_id("instances-row")).to_have_count(1)
        finally:
            page.context.close()
