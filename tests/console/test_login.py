"""Logging in and out of the console in a real browser."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from console_kit import VIEWPORT, ConsoleServer
from playwright.sync_api import Browser, Page, Route, expect
from playwright.sync_api import Error as PlaywrightError

pytestmark = pytest.mark.slow


def test_login_with_a_token_then_logout(
    chromium_browser: Browser, console_server: ConsoleServer
) -> None:
    context = chromium_browser.new_context(base_url=console_server.url, viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto("/queues")
        expect(page).to_have_url(f"{console_server.url}/login?next=%2Fqueues")
        page.get_by_test_id("login-token").fill("sw_000000000000_" + "A" * 43)
        page.get_by_test_id("login-submit").click()
        expect(page.get_by_test_id("login-error")).to_contain_text("not valid")
        page.get_by_test_id("login-token").fill("   ")  # `required` lets spaces through
        page.get_by_test_id("login-submit").click()
        expect(page.get_by_test_id("login-error")).to_contain_text("Paste an API token")
        expect(page.get_by_test_id("login-error")).not_to_contain_text("422")
        page.get_by_test_id("login-token").fill(console_server.token("operator", name="ann"))
        page.get_by_test_id("login-submit").click()
        expect(page).to_have_url(f"{console_server.url}/queues")
        expect(page.get_by_test_id("who-tenant")).to_have_text("default")
        expect(page.get_by_test_id("who-role")).to_have_text("operator · ann")
        cookie = next(c for c in context.cookies() if c["name"] == "sw_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
        assert page.evaluate("document.cookie") == ""  # not readable by scripts
        page.get_by_test_id("logout").click()
        expect(page).to_have_url(f"{console_server.url}/login")
        assert not [c for c in context.cookies() if c["name"] == "sw_session"]
        assert context.request.get("/api/v1/session").status == 401
        # The /logout page asks first: a link from elsewhere logs no one out.
        page.goto("/login")
        page.get_by_test_id("login-token").fill(console_server.token("viewer"))
        page.get_by_test_id("login-submit").click()
        expect(page).to_have_url(f"{console_server.url}/")
        page.goto("/logout")
        expect(page.get_by_test_id("logout-confirm")).to_be_visible()
        assert context.request.get("/api/v1/session").status == 200
        page.get_by_test_id("logout-confirm").click()
        expect(page).to_have_url(f"{console_server.url}/login")
        assert context.request.get("/api/v1/session").status == 401
    finally:
        context.close()


@pytest.mark.parametrize(
    "next_",
    [
        "//evil.example/x",
        "/%09/evil.example/x",  # a tab, which URL parsing drops: "//evil.example/x"
        "/%0A/evil.example/x",
        "/%0D%0A%5Cevil.example/x",
        "/%5C%5Cevil.example/x",
        "https://evil.example/x",
        "javascript:alert(1)",
    ],
)
def test_login_refuses_a_next_of_another_site(
    logged_in_page: Callable[..., Page], console_server: ConsoleServer, next_: str
) -> None:
    page = logged_in_page("viewer")
    page.goto(f"/login?next={next_}")
    page.get_by_test_id("login-token").fill(console_server.token("viewer"))
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(f"{console_server.url}/")


def test_logging_out_without_a_session_leads_to_a_login_that_stays(
    chromium_browser: Browser, console_server: ConsoleServer
) -> None:
    context = chromium_browser.new_context(base_url=console_server.url, viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto("/logout")
        page.get_by_test_id("logout-confirm").click()
        # The login page, with no way back to the log-out page.
        expect(page).to_have_url(f"{console_server.url}/login")
        page.get_by_test_id("login-token").fill(console_server.token("viewer"))
        page.get_by_test_id("login-submit").click()
        expect(page).to_have_url(f"{console_server.url}/")
    finally:
        context.close()


def test_login_refuses_a_next_of_the_logout_page(
    logged_in_page: Callable[..., Page], console_server: ConsoleServer
) -> None:
    page = logged_in_page("viewer")
    page.goto("/login?next=%2Flogout%3Fback%3D1")
    page.get_by_test_id("login-token").fill(console_server.token("viewer"))
    page.get_by_test_id("login-submit").click()
    expect(page).to_have_url(f"{console_server.url}/")


#: Makes the page's next API call after logging out answer 401 once the page has been sent
#: to the login page, as the live stream's reconnection or a refresh in flight does; says
#: so on the console when the page's code has had that answer.
LATE_401 = """async () => {
  const { api } = await import("/static/js/api.js");
  const realFetch = window.fetch;
  window.fetch = async (input, init) => {
    const answer = await realFetch(input, init);
    if (init?.method === "DELETE" && String(input).endsWith("/api/v1/session")) {
      setTimeout(() => api("/session").catch(() => console.log("late 401 answered")), 0);
    }
    return answer;
  };
}"""


def test_logging_out_goes_to_the_login_page_though_a_late_request_is_refused(
    logged_in_page: Callable[..., Page], console_server: ConsoleServer
) -> None:
    page = logged_in_page("viewer")
    page.goto("/queues")
    expect(page.get_by_test_id("who-role")).to_contain_text("viewer")
    page.evaluate(LATE_401)
    held: list[Route] = []  # each navigation to the login page, until the late 401 is had

    def login_page(url: str) -> bool:
        return urlsplit(url).path == "/login"

    def hold(route: Route) -> None:
        held.append(route)

    page.route(login_page, hold)
    with page.expect_console_message(lambda message: message.text == "late 401 answered"):
        page.get_by_test_id("logout").click()
    page.unroute(login_page)
    for route in held:
        with contextlib.suppress(PlaywrightError):  # a navigation the next one replaced
            route.continue_()
    expect(page).to_have_url(f"{console_server.url}/login")  # no `next`: nothing to go back to
    expect(page.get_by_test_id("login-token")).to_be_visible()
