"""The instances list when it shows no row: a tenant with no instance yet is told how to
start one; a filter that matches nothing offers to clear the filters."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from console_kit import ConsoleServer
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.slow


def test_an_empty_tenant_is_told_how_to_start_an_instance(
    console_server: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    page = logged_in_page("operator", tenant="fresh")
    page.goto("/")
    empty = page.get_by_test_id("instances-empty")
    expect(empty).to_contain_text("No instances in this tenant yet")
    expect(empty).to_contain_text("statewright start")
    expect(empty.get_by_role("link", name="Definitions")).to_have_attribute("href", "/definitions")


def test_a_filter_matching_nothing_offers_to_clear_it(
    console_server: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    console_server.engine.start(
        "order", input={"orderId": "E-1", "amount": 2500}, instance_id="E-1", tenant="quiet"
    )
    page = logged_in_page("viewer", tenant="quiet")
    page.goto("/?status=error")
    empty = page.get_by_test_id("instances-empty")
    expect(empty).to_contain_text("No instance matches these filters")
    empty.get_by_role("button", name="Clear the filters").click()
    expect(page).to_have_url(f"{console_server.url}/")
    expect(page.get_by_test_id("instances-row")).to_have_count(1)
    expect(empty).to_be_hidden()
