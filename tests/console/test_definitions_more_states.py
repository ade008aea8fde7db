"""The definitions list names an active definition's four busiest states in its legend;
the others are behind "+N more", a link to the definition's page (which lists them all)
that names them on hover and to a screen reader."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from console_kit import ConsoleServer
from playwright.sync_api import Page, expect

from statewright import Machine

pytestmark = pytest.mark.slow
expect.set_options(timeout=15_000)

#: Six states, each reachable from the first: instances spread over more than four.
SPREAD = Machine.from_config(
    {
        "id": "spread",
        "initial": "s0",
        "states": {
            "s0": {"on": {f"TO{n}": f"s{n}" for n in range(1, 6)}},
            **{f"s{n}": {"on": {"BACK": "s0"}} for n in range(1, 6)},
        },
    }
)


def test_states_left_out_of_the_legend_are_named_and_linked(
    console_server: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    engine = console_server.engine
    engine.register(SPREAD)
    # s1 has the most instances, s5 the fewest: s5 is left out of the legend.
    for n, copies in ((1, 5), (2, 4), (3, 3), (4, 2), (5, 1)):
        for k in range(copies):
            instance = f"spread-{n}-{k}"
            engine.start("spread", instance_id=instance)
            engine.send(instance, {"type": f"TO{n}"})
    page = logged_in_page("viewer")
    page.goto("/definitions")
    row = page.locator('[data-testid=definitions-row][data-definition="spread"]')
    expect(row.get_by_test_id("active-count")).to_have_text("15")
    more = row.get_by_test_id("more-states")
    expect(more).to_have_text("+1 more")
    expect(more).to_have_attribute("title", "s5: 1")
    expect(more).to_have_accessible_name("1 more: s5 1")
    more.click()
    expect(page).to_have_url(f"{console_server.url}/definitions/spread")
    expect(page.locator('[data-testid=state-count][data-state="s5"]')).to_be_visible()
