"""The demo's console in a browser: `bash scripts/demo` runs, its printed URL opens the login
page in Chromium, its printed token logs in, and the instances its traffic started are
listed."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from console_kit import VIEWPORT

from acceptance.demo_kit import start_demo, stop_quietly

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.slow


def test_the_demo_prints_a_url_and_token_that_open_its_console_with_instances(
    chromium_browser: Browser, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    run = start_demo(tmp_path.resolve() / "demo", "--for", "5m")
    context = chromium_browser.new_context(viewport=VIEWPORT)
    try:
        run.read_banner()
        headers = {"Authorization": f"Bearer {run.token}"}
        deadline = time.monotonic() + 30
        while not httpx.get(f"{run.url}/api/v1/instances", headers=headers).json()["items"]:
            assert time.monotonic() < deadline, "the traffic started nothing in 30 s"
            time.sleep(0.2)

        page = context.new_page()
        page.goto(f"{run.url}/")  # the console, which sends a stranger to its login page
        page.wait_for_url("**/login**")
        page.get_by_test_id("login-token").fill(run.token)
        page.get_by_test_id("login-submit").click()
        page.wait_for_url(f"{run.url}/")
        rows = page.get_by_test_id("instances-row")
        expect(rows.first).to_be_visible()
        assert rows.count() >= 1
        listed = rows.first.inner_text()
        assert any(prefix in listed for prefix in ("A-", "D-", "R-")), listed

        os.killpg(run.process.pid, signal.SIGINT)
        status, out, err = run.finish(timeout_s=40)
    finally:
        context.close()
        stop_quietly(run)
    assert status == 0, f"{out}\n{err}"
