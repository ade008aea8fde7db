"""The console in Chromium under a path prefix: `statewright serve --root-path /statewright`
behind nginx's `location /statewright/`, configured as docs/operations.md ("Under a path
prefix") says. The API answers through the prefix; the browser logs in, opens the instances
and an instance, sees a send made through the API arrive over the live stream, follows a
link, reloads a deep link and logs out; and every request the pages make stays under the
prefix."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from console_kit import MACHINES_FILE, VIEWPORT, ConsoleServer
from pages_kit import serving_console
from playwright.sync_api import Browser, Request, expect

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
from nginx_kit import documented_prefixed_server, nginx, requires_nginx, requires_openssl

pytestmark = [requires_nginx, requires_openssl, pytest.mark.slow]
expect.set_options(timeout=15_000)

ROOT = "/statewright"


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleServer]:
    """`statewright serve --with-worker --root-path /statewright` (the module's server)."""
    folder = tmp_path_factory.mktemp("console-prefix")
    with serving_console(folder, MACHINES_FILE, "--root-path", ROOT) as server:
        yield server


def test_the_console_works_under_a_path_prefix_behind_nginx(
    chromium_browser: Browser, console_server: ConsoleServer, tmp_path: Path
) -> None:
    server, host = documented_prefixed_server(tmp_path, console_server.url)
    console = host + ROOT
    admin = console_server.token("admin", name="api")
    console_server.engine.start("intake", input={"applicant": "ann"}, instance_id="in 1")
    with nginx(tmp_path, server), httpx.Client(base_url=console, verify=False) as api:
        # The API, through the prefix.
        assert api.get("/api/health/ready").status_code == 200
        bearer = {"Authorization": f"Bearer {admin}"}
        listed = api.get("/api/v1/instances", headers=bearer)
        assert listed.status_code == 200 and [i["id"] for i in listed.json()["items"]] == ["in 1"]
        redirected = httpx.get(console, verify=False)
        assert redirected.status_code == 301 and redirected.headers["location"].endswith(f"{ROOT}/")

        context = chromium_browser.new_context(viewport=VIEWPORT, ignore_https_errors=True)
        requested: list[str] = []

        def seen(request: Request) -> None:
            requested.append(request.url)

        context.on("request", seen)
        try:
            page = context.new_page()
            # Logged out: to the login page and back, under the prefix.
            page.goto(f"{console}/queues")
            expect(page).to_have_url(f"{console}/login?next=%2Fqueues")
            page.get_by_test_id("login-token").fill(console_server.token("operator", name="ann"))
            page.get_by_test_id("login-submit").click()
            expect(page).to_have_url(f"{console}/queues")
            expect(page.get_by_test_id("who-role")).to_have_text("operator · ann")
            cookie = next(c for c in context.cookies() if c["name"] == "sw_session")
            assert cookie["path"] == ROOT and cookie["secure"] and cookie["httpOnly"]

            # The instances, then an instance, by the links of the pages.
            page.get_by_role("link", name="Instances").click()
            expect(page).to_have_url(f"{console}/")
            page.get_by_test_id("instance-link").filter(has_text="in 1").click()
            expect(page).to_have_url(f"{console}/instances/in%201")
            expect(page.get_by_test_id("business-state")).to_contain_text("draft")
            expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-state", "open")

            # A send through the API arrives over the live stream (no reload).
            page.evaluate("window.notReloaded = true")
            sent = api.post(
                "/api/v1/instances/in%201/events", json={"type": "SUBMIT"}, headers=bearer
            )
            assert sent.status_code == 200, sent.text
            expect(page.get_by_test_id("business-state")).to_contain_text("in_review")
            assert page.evaluate("window.notReloaded") is True

            # A link of the page's script, then a deep link reloaded.
            page.get_by_role("link", name="intake v1").click()
            expect(page).to_have_url(f"{console}/definitions/intake?version=1")
            expect(page.get_by_test_id("definition-page").locator("svg").first).to_be_visible()
            page.go_back()
            expect(page).to_have_url(f"{console}/instances/in%201")
            page.reload()
            expect(page.get_by_test_id("business-state")).to_contain_text("in_review")

            # Out, by the header's link.
            page.get_by_test_id("logout").click()
            expect(page).to_have_url(f"{console}/login")
            assert context.request.get(f"{console}/api/v1/session").status == 401
        finally:
            context.close()
    escaped = [url for url in requested if not url.startswith(f"{console}/")]
    assert requested and not escaped, escaped
