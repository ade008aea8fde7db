"""The instances list's bulk action acts on the instances it counted: one that enters the
filter between the count and the "yes" is left alone, and the answer says so."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from console_kit import ConsoleServer
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.slow

TENANT = "bulk-counted"


def test_an_instance_entering_the_filter_after_the_count_is_left_alone(
    console_server: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    engine = console_server.engine
    for name in ("BC-1", "BC-2"):
        engine.start("intake", input={"applicant": name}, instance_id=name, tenant=TENANT)
    page = logged_in_page("operator", TENANT)
    page.goto("/?definition=intake&state=draft")
    expect(page.get_by_test_id("instances-row")).to_have_count(2, timeout=15_000)
    page.get_by_test_id("bulk-event").fill("SUBMIT")
    page.get_by_test_id("bulk-count").click()
    expect(page.get_by_test_id("bulk-matched")).to_contain_text("2 instances")

    # Behind the page's back, between the count and the "yes".
    engine.start("intake", input={"applicant": "late"}, instance_id="BC-3", tenant=TENANT)
    with page.expect_request(lambda r: r.url.endswith("/api/v1/bulk/send")) as sending:
        page.get_by_test_id("bulk-go").click()
    body: dict[str, Any] = sending.value.post_data_json
    assert isinstance(body["as_of"], int) and body["dry_run"] is False

    done = page.get_by_test_id("bulk-done")
    expect(done).to_contain_text("2 done, 0 refused (of 2 counted).", timeout=15_000)
    expect(done).to_contain_text("1 instance changed since the count")
    assert engine.get("BC-3", tenant=TENANT).value == "draft"
    for name in ("BC-1", "BC-2"):
        assert engine.get(name, tenant=TENANT).value == "in_review"
