"""The console in Chromium through nginx's https listener, configured as docs/operations.md
("Behind nginx") says, with a self-signed certificate: the login page sends the token, the
session cookie comes back `Secure`, the live stream connects through nginx, and logging out
(a DELETE the console's script sends with its CSRF header) ends the session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from console_kit import VIEWPORT, ConsoleServer
from playwright.sync_api import Browser, expect

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
from nginx_kit import (
    documented_nginx_server,
    nginx,
    requires_nginx,
    requires_openssl,
)

pytestmark = [requires_nginx, requires_openssl, pytest.mark.slow]


def test_the_console_logs_in_live_and_out_over_https_through_nginx(
    chromium_browser: Browser, console_server: ConsoleServer, tmp_path: Path
) -> None:
    server, base = documented_nginx_server(tmp_path, console_server.url)
    with nginx(tmp_path, server):
        context = chromium_browser.new_context(
            base_url=base, viewport=VIEWPORT, ignore_https_errors=True
        )
        try:
            page = context.new_page()
            page.goto("/queues")
            expect(page).to_have_url(f"{base}/login?next=%2Fqueues")
            page.get_by_test_id("login-token").fill(console_server.token("operator", name="ann"))
            page.get_by_test_id("login-submit").click()
            expect(page).to_have_url(f"{base}/queues")
            expect(page.get_by_test_id("who-role")).to_have_text("operator · ann")
            cookie = next(c for c in context.cookies() if c["name"] == "sw_session")
            assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
            expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-state", "open")
            page.goto("/logout")
            page.get_by_test_id("logout-confirm").click()
            expect(page).to_have_url(f"{base}/login")
            assert context.request.get("/api/v1/session").status == 401
        finally:
            context.close()
