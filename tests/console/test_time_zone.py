"""The page header names the zone the console's times are shown in (the browser's), so that
an operator can compare them with the server's logs, which are in UTC."""

from __future__ import annotations

import pytest
from console_kit import ConsoleServer
from playwright.sync_api import Browser, expect


@pytest.mark.parametrize(
    ("zone", "shown"),
    [("Australia/Darwin", "UTC+09:30"), ("America/Phoenix", "UTC-07:00"), ("UTC", "UTC")],
)  # zones without daylight saving time: the offset is the same on any day
def test_the_header_names_the_zone_times_are_shown_in(
    chromium_browser: Browser, console_server: ConsoleServer, zone: str, shown: str
) -> None:
    context = chromium_browser.new_context(base_url=console_server.url, timezone_id=zone)
    try:
        secret = console_server.token("viewer", "default")
        assert context.request.post("/api/v1/session", data={"token": secret}).status == 201
        page = context.new_page()
        page.goto("/queues")
        named = page.get_by_test_id("time-zone")
        expect(named).to_have_text(f"times in {shown}")
        title = named.get_attribute("title") or ""
        assert f"({zone}), {shown}" in title and "the server logs in UTC" in title
    finally:
        context.close()
