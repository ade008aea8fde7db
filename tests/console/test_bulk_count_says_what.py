"""A bulk action's count says what the action will do before anyone confirms: how many of the
instances matched it will change and how many it will skip, and why; an event no matching
instance's definition has, or none of them accepts now, is refused before any question."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from console_kit import ConsoleServer
from playwright.sync_api import Page, Request, expect

pytestmark = pytest.mark.slow
expect.set_options(timeout=15_000)

TENANT = "bulk-preview"


@pytest.fixture(scope="module")
def intakes(console_server: ConsoleServer) -> ConsoleServer:
    """Three intake instances: two in draft, one rejected (done)."""
    engine = console_server.engine
    for number in (1, 2, 3):
        engine.start(
            "intake", input={"applicant": f"p-{number}"}, instance_id=f"BP-{number}", tenant=TENANT
        )
    engine.send("BP-3", "SUBMIT", tenant=TENANT, actor="ann")
    engine.send("BP-3", "REJECT", tenant=TENANT, actor="ann")
    return console_server


def bulk_posts(page: Page) -> list[Request]:
    sent: list[Request] = []
    page.on("request", lambda r: "/api/v1/bulk/" in r.url and sent.append(r))
    return sent


def test_the_count_says_how_many_will_be_cancelled_and_how_many_skipped(
    intakes: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    page = logged_in_page("operator", TENANT)
    page.goto("/?definition=intake")
    expect(page.get_by_test_id("instances-row")).to_have_count(3)
    page.get_by_test_id("bulk-action").select_option("cancel")
    page.get_by_test_id("bulk-count").click()
    matched = page.get_by_test_id("bulk-matched")
    expect(matched).to_contain_text("3 instances")
    expect(page.get_by_test_id("bulk-acting")).to_have_text("2 will be cancelled")
    expect(page.get_by_test_id("bulk-skipping")).to_have_text("1 will be skipped: 1 done already")
    expect(matched).to_contain_text("Really cancel those 2?")
    expect(page.get_by_test_id("bulk-go")).to_have_text("Yes, cancel 2")
    page.get_by_test_id("bulk-action").select_option("send")
    page.get_by_test_id("bulk-event").fill("SUBMIT")
    page.get_by_test_id("bulk-count").click()
    expect(page.get_by_test_id("bulk-acting")).to_have_text("2 will get SUBMIT")
    expect(page.get_by_test_id("bulk-skipping")).to_have_text("1 will be skipped: 1 done already")
    assert intakes.engine.get("BP-1", tenant=TENANT).version == 1


def test_a_misspelt_event_is_refused_before_the_question(
    intakes: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    page = logged_in_page("operator", TENANT)
    sent = bulk_posts(page)
    page.goto("/?definition=intake&state=draft")
    expect(page.get_by_test_id("instances-row")).to_have_count(2)
    page.get_by_test_id("bulk-event").fill("SUBMT")
    page.get_by_test_id("bulk-count").click()
    problem = page.get_by_test_id("bulk-result").get_by_test_id("problem")
    expect(problem).to_contain_text("definition 'intake' has no event 'SUBMT'")
    expect(problem).to_contain_text('did you mean "SUBMIT"?')
    expect(page.get_by_test_id("bulk-confirm")).to_be_hidden()
    assert [r.post_data_json["dry_run"] for r in sent] == [True]


def test_an_event_no_matching_instance_accepts_now_is_refused_before_the_question(
    intakes: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    page = logged_in_page("operator", TENANT)
    page.goto("/?definition=intake")
    expect(page.get_by_test_id("instances-row")).to_have_count(3)
    page.get_by_test_id("bulk-event").fill("APPROVE")
    page.get_by_test_id("bulk-count").click()
    problem = page.get_by_test_id("bulk-result").get_by_test_id("problem")
    expect(problem).to_contain_text("No matching instance would take APPROVE")
    expect(problem).to_contain_text(
        "of the 3 matching: 2 not accepting APPROVE in draft, 1 done already"
    )
    expect(page.get_by_test_id("bulk-confirm")).to_be_hidden()
