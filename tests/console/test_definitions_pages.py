"""The definitions pages in a browser: the list with versions and instance counts, and one
definition drawn with the number of instances in each state, its versions to pick from and
the events it accepts."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pages_kit import screenshot
from playwright.sync_api import Page, expect

from statewright import Machine

pytestmark = pytest.mark.slow
expect.set_options(timeout=15_000)

INTAKE = Path(__file__).resolve().parents[2] / "examples" / "intake" / "intake.json"
#: An order just paid, in its parallel state, as every page writes it.
PARALLEL_TEXT = "fulfilment (inventory.reserving, shipping.preparing)"


def test_definitions_are_listed_and_drawn_with_their_counts(
    console_server: Any, logged_in_page: Callable[..., Page]
) -> None:
    engine = console_server.engine
    for n, amount in enumerate((1500, 2500, 4000, 120)):
        engine.start("order", input={"orderId": f"d-{n}", "amount": amount}, instance_id=f"d-{n}")
    engine.send("d-0", {"type": "REJECT"})
    engine.start("intake", input={"applicant": "ann"}, instance_id="i-1")
    engine.start("order", input={"orderId": "x", "amount": 2000}, instance_id="x", tenant="other")
    # A second version of intake, with one more state.
    config = copy.deepcopy(json.loads(INTAKE.read_text()))
    config["states"]["archived"] = {"type": "final"}
    config["states"]["rejected"]["on"] = {"ARCHIVE": "archived"}
    config["states"]["rejected"].pop("type")
    engine.register(Machine.from_config(config))

    page = logged_in_page("viewer")
    page.goto("/definitions")
    rows = page.get_by_test_id("definitions-row")
    expect(rows).to_have_count(len(engine.definitions()))
    order = page.locator('[data-testid=definitions-row][data-definition="order"]')
    expect(order.get_by_test_id("instance-count")).to_have_text("4")
    expect(order.get_by_test_id("active-count")).to_have_text("3")
    intake = page.locator('[data-testid=definitions-row][data-definition="intake"]')
    expect(intake).to_contain_text("v1")
    expect(intake).to_contain_text("v2")
    expect(order.locator(".mix-legend")).to_contain_text(f"{PARALLEL_TEXT} 1")

    page.goto("/definitions/order")
    expect(page.get_by_test_id("diagram")).to_have_attribute("data-ready", "true")
    pending = page.locator('[data-testid=state-count][data-state="pending_approval"]')
    expect(pending).to_contain_text("2")
    expect(page.locator('[data-testid=state-count][data-state="rejected"]')).to_contain_text("1")
    # The parallel state's count links to the instances in it, filtered by its path, and
    # reads as the instance page reads it.
    parallel = page.locator('[data-testid=state-count][data-state^="fulfilment ("] a')
    expect(parallel).to_have_attribute("href", "/?definition=order&state=fulfilment")
    expect(parallel).to_have_text(PARALLEL_TEXT)
    box = page.locator('g.sw-state[data-state="order.pending_approval"]')
    expect(box).to_contain_text("2")
    approve = page.locator('[data-testid=definition-event][data-event="APPROVE"]')
    expect(approve).to_contain_text("pending_approval")
    expect(approve).to_contain_text("escalated")
    expect(approve.locator("td").nth(2)).to_have_text("payment")
    screenshot(page, "definitions.png")

    page.goto("/definitions/intake")
    picker = page.get_by_test_id("version-select")
    expect(picker.locator("option")).to_have_count(2)
    expect(picker).to_have_value("2")
    expect(page.locator('g.sw-state[data-state="intake.archived"]')).to_have_count(1)
    picker.select_option("1")
    expect(page).to_have_url(re.compile(r"version=1$"))
    expect(page.locator('g.sw-state[data-state="intake.archived"]')).to_have_count(0)
    expect(page.locator('[data-testid=definition-event][data-event="ARCHIVE"]')).to_have_count(0)

    page.goto("/definitions/nothing-here")
    expect(page.get_by_test_id("not-found")).to_contain_text("nothing-here")
