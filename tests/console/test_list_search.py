"""The instances list's id search: the instances whose id starts with the text typed, with
the active filters, the exact id first, page by page, without a request per partial id that
answers 404; new instances that match the search appear live."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from console_kit import ConsoleServer
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.slow
expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
def searchable(console_server: ConsoleServer) -> ConsoleServer:
    """Intake instances in draft whose ids share beginnings (and differ in case or by a
    character LIKE would take as a wildcard), one cancelled; 101 more under `B-`."""
    engine = console_server.engine
    for instance_id in ("A-1", "A-10", "A-100", "A-101", "A-11", "a-10", "A_10"):
        engine.start("intake", input={"applicant": "ann"}, instance_id=instance_id)
    engine.cancel("A-101", reason="duplicate")
    for number in range(101):
        engine.start("intake", input={"applicant": "bob"}, instance_id=f"B-{number:03}")
    return console_server


def shown(page: Page) -> list[str]:
    return [t.strip() for t in page.locator("[data-testid=instances-row] .sw-id").all_inner_texts()]


def test_typing_an_id_lists_those_starting_with_it_without_a_404(
    searchable: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    page = logged_in_page("operator")
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    page.goto("/")
    expect(page.get_by_test_id("instances-row")).to_have_count(100)
    page.get_by_test_id("filter-search").press_sequentially("A-10", delay=30)
    expect(page.get_by_test_id("instances-row")).to_have_count(3)
    assert shown(page) == ["A-10", "A-100", "A-101"]  # the exact id first, by id
    expect(page).to_have_url(re.compile(r"/\?q=A-10$"))
    expect(page.get_by_test_id("bulk-off")).to_be_visible()
    expect(page.get_by_test_id("bulk-count")).to_be_disabled()
    # With a filter, the search lists the matching ones only.
    page.get_by_test_id("filter-status").select_option("active")
    expect(page.get_by_test_id("instances-row")).to_have_count(2)
    assert shown(page) == ["A-10", "A-100"]
    page.get_by_test_id("filter-search").fill("A_")
    expect(page.get_by_test_id("instances-row")).to_have_count(1)
    assert shown(page) == ["A_10"]
    page.get_by_test_id("filter-search").fill("A-1000")
    expect(page.get_by_test_id("instances-empty")).to_be_visible()
    assert failed == []


def test_a_search_pages_with_more_and_shows_new_matches_live(
    searchable: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    page = logged_in_page("operator")
    page.goto("/?q=B-")
    expect(page.get_by_test_id("instances-row")).to_have_count(100)
    page.get_by_test_id("instances-more").click()
    expect(page.get_by_test_id("instances-row")).to_have_count(101)
    expect(page.get_by_test_id("instances-more")).to_be_hidden()
    engine = searchable.engine
    engine.start("intake", input={"applicant": "cy"}, instance_id="B-200")
    engine.start("intake", input={"applicant": "cy"}, instance_id="C-1")
    expect(page.locator("[data-testid=instances-row][data-id='B-200']")).to_have_count(1)
    expect(page.get_by_test_id("instances-row")).to_have_count(102)
    assert "C-1" not in shown(page)
