"""Browser-test fixtures: a real `statewright serve --with-worker` process and Debian's
Chromium driven headless by Playwright (sync API).

- `chromium_browser`: the browser (one per module). Skips the module, saying why, when
  /usr/bin/chromium is missing, unless $CI is set: in CI the browser tests must run.
- `console_server`: the server on a SQLite file with the three examples registered, on a free
  loopback port (one per module). `.url` is its base URL, `.token(role=, tenant=)` makes an
  API token, `.engine` is an engine on the same store for setting up instances.
- `logged_in_page(role="operator", tenant="default")`: a fresh page (own cookies, viewport
  1280x800) logged in with a new token of that role and tenant.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from console_kit import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, ConsoleServer
from pages_kit import serving_console

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, through Playwright."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(
                f"{CHROMIUM} is missing; in CI the browser tests must run: "
                "apt-get install chromium (scripts/test does)"
            )
        pytest.skip(
            f"{CHROMIUM} is missing: apt-get install chromium (scripts/test does) "
            "to run the browser tests"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    """`statewright serve --with-worker` on a fresh SQLite file, the examples registered."""
    with serving_console(tmp_path_factory.mktemp("console")) as server:
        yield server


@pytest.fixture
def logged_in_page(
    chromium_browser: Browser, console_server: ConsoleServer
) -> Iterator[Callable[..., Page]]:
    """A factory: `logged_in_page(role="operator", tenant="default")` → a page logged in
    with a new token of that role and tenant, in a context of its own (own cookies)."""
    contexts: list[BrowserContext] = []

    def make(role: str = "operator", tenant: str = "default", **token: Any) -> Page:
        context = chromium_browser.new_context(base_url=console_server.url, viewport=VIEWPORT)
        contexts.append(context)
        secret = console_server.token(role, tenant, **token)
        answer = context.request.post("/api/v1/session", data={"token": secret})
        assert answer.status == 201, answer.text()
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
