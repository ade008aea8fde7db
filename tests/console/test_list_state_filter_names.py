"""A business-state filter that the definitions lack says so on the instances list, with the
near miss ("did you mean"), instead of "no instance matches"."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from console_kit import ConsoleServer
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.slow
expect.set_options(timeout=15_000)

TENANT = "state-names"


@pytest.fixture(scope="module")
def intakes(console_server: ConsoleServer) -> ConsoleServer:
    """One intake instance in draft."""
    console_server.engine.start(
        "intake", input={"applicant": "sn"}, instance_id="SN-1", tenant=TENANT
    )
    return console_server


@pytest.mark.parametrize("query", ["state=drat", "definition=intake&state=drat"])
def test_a_state_filter_the_definitions_lack_names_the_near_miss(
    intakes: ConsoleServer, logged_in_page: Callable[..., Page], query: str
) -> None:
    page = logged_in_page("viewer", TENANT)
    page.goto(f"/?{query}")
    problem = page.locator("#problem").get_by_test_id("problem")
    expect(problem).to_contain_text(
        "a state 'drat'" if "definition" not in query else "has no state 'drat'"
    )
    expect(problem).to_contain_text('did you mean "draft"')
    expect(page.get_by_test_id("instances-empty")).to_be_hidden()
