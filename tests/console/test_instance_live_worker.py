"""The instance page following what a separate `statewright worker` process does: a timer it
fires and a step it runs again after "Retry now", each shown live; and a typed event's form,
refused by the server and then accepted, or refused before sending when a number field holds
no number; an open form kept as filled in while the instance changes and still accepts its
event, and closed with the reason once it does not."""

from __future__ import annotations

import re
import runpy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pages_kit import ACTIVE, Served, served_with_separate_worker
from playwright.sync_api import Page, Route, expect

pytestmark = pytest.mark.slow
expect.set_options(timeout=15_000)

MACHINES_FILE = Path(__file__).with_name("pages_machines.py")


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The server for this module: `serve` without a worker of its own, and a separate
    `statewright worker` process (the console fixtures use it as their server)."""
    machines: list[Any] = runpy.run_path(str(MACHINES_FILE))["MACHINES"]
    with served_with_separate_worker(
        tmp_path_factory.mktemp("pages"), MACHINES_FILE, machines
    ) as served:
        yield served


def test_a_timer_fired_by_another_process_shows_live_and_a_typed_form_is_checked(
    console_server: Served, logged_in_page: Callable[..., Page]
) -> None:
    page = logged_in_page("operator")
    console_server.engine.start("ticket", instance_id="t-1")
    page.goto("/instances/t-1")
    expect(page.get_by_test_id("business-state")).to_contain_text("open")
    expect(page.get_by_test_id("timer-countdown")).to_be_visible()
    page.evaluate("window.notReloaded = true")

    # The worker process fires the 2 s timer; the page follows the stream.
    expect(page.get_by_test_id("business-state")).to_contain_text("stale")
    expect(page.locator('g.sw-state[data-state="ticket.stale"]')).to_have_class(ACTIVE)
    timer = page.locator('[data-testid=timeline-entry][data-event^="xstate.after.2s"]')
    expect(timer).to_contain_text("open")
    expect(timer).to_contain_text("timer")
    expect(page.get_by_test_id("timer")).to_have_count(0)
    assert page.evaluate("window.notReloaded") is True

    # CLOSE declares its fields: the form is built from the schema, and the server's
    # refusal of a bad value is shown, naming the field.
    page.get_by_test_id("event-button-CLOSE").click()
    form = page.get_by_test_id("event-form")
    expect(form.locator("select#field-resolution")).to_be_visible()
    form.locator("select#field-resolution").select_option(label="wontfix")
    form.locator("#field-minutes").fill("0")
    page.get_by_test_id("event-send").click()
    problem = page.get_by_test_id("action-problem")
    expect(problem).to_contain_text("minimum of 1")
    expect(form.locator(".form-field.invalid")).to_contain_text("minutes")
    expect(page.get_by_test_id("business-state")).to_contain_text("stale")
    form.locator("#field-minutes").fill("5")

    # A send that names a version the instance has left is refused; the reason stays shown.
    def stale(route: Route) -> None:
        route.continue_(headers={**route.request.headers, "if-match": '"1"'})

    page.route("**/api/v1/instances/t-1/events", stale)
    page.get_by_test_id("event-send").click()
    expect(page.get_by_test_id("notice")).to_contain_text("412")
    expect(page.get_by_test_id("business-state")).to_contain_text("stale")
    page.unroute("**/api/v1/instances/t-1/events")
    page.get_by_test_id("event-send").click()
    expect(page.get_by_test_id("business-state")).to_contain_text("closed")
    expect(page.get_by_test_id("notice")).to_be_empty()
    close = page.locator('[data-testid=timeline-entry][data-event="CLOSE"]')
    expect(close).to_contain_text("stale")
    assert console_server.engine.history("t-1")[-1].event == {
        "type": "CLOSE",
        "resolution": "wontfix",
        "minutes": 5,
    }


def test_a_number_field_that_reads_as_no_number_is_refused_before_sending(
    console_server: Served, logged_in_page: Callable[..., Page]
) -> None:
    page = logged_in_page("operator")
    console_server.engine.start("ticket", instance_id="t-2")
    page.goto("/instances/t-2")
    page.get_by_test_id("event-button-CLOSE").click()
    form = page.get_by_test_id("event-form")
    form.locator("select#field-resolution").select_option(label="fixed")
    form.locator("#field-minutes").press_sequentially("1e")  # the input's value is ""
    sent: list[str] = []
    page.on("request", lambda r: r.method == "POST" and sent.append(r.url))
    page.get_by_test_id("event-send").click()
    minutes = form.locator(".form-field[data-for=minutes]")
    expect(minutes).to_have_class(re.compile(r"(^|\s)invalid(\s|$)"))
    expect(minutes.locator(".field-error")).to_contain_text("not a number")
    assert sent == []
    form.locator("#field-minutes").fill("3")
    page.get_by_test_id("event-send").click()
    expect(page.get_by_test_id("business-state")).to_contain_text("closed")
    assert console_server.engine.history("t-2")[-1].event["minutes"] == 3


def test_an_open_form_stays_while_its_event_is_accepted_and_says_why_it_closes(
    console_server: Served, logged_in_page: Callable[..., Page]
) -> None:
    engine = console_server.engine
    engine.start("triage", instance_id="tr-1")
    page = logged_in_page("operator")
    page.goto("/instances/tr-1")
    expect(page.get_by_test_id("event-button-ESCALATE")).to_be_visible()
    page.get_by_test_id("event-button-ASSIGN").click()
    form = page.get_by_test_id("event-form")
    form.locator("#field-assignee").fill("ann")

    # Changed from outside; ASSIGN is still accepted (ESCALATE is not): the form stays, as typed.
    engine.send("tr-1", "ESCALATE", actor="bo")
    expect(page.get_by_test_id("business-state")).to_contain_text("urgent")
    expect(page.get_by_test_id("event-button-ESCALATE")).to_have_count(0)
    expect(form.locator("#field-assignee")).to_have_value("ann")
    expect(form.locator("#field-assignee")).to_be_focused()
    expect(page.get_by_test_id("event-button-ASSIGN")).to_have_class(re.compile(r"\bactive\b"))
    expect(page.get_by_test_id("notice")).to_be_empty()

    # Assigned from outside: ASSIGN is no longer accepted; the form goes, saying why.
    engine.send("tr-1", {"type": "ASSIGN", "assignee": "cy"}, actor="bo")
    expect(page.get_by_test_id("business-state")).to_contain_text("assigned")
    expect(page.get_by_test_id("event-form")).to_have_count(0)
    notice = page.get_by_test_id("notice")
    expect(notice).to_contain_text(
        "This instance changed (now in assigned); ASSIGN is no longer accepted"
    )
    expect(notice).to_contain_text("assignee: ann")
    notice.get_by_role("button", name="Dismiss").click()
    expect(notice).to_be_empty()


def test_retry_now_runs_a_waiting_step_again(
    console_server: Served, logged_in_page: Callable[..., Page]
) -> None:
    console_server.engine.start("upload", instance_id="u-1")
    page = logged_in_page("operator")
    page.goto("/instances/u-1")
    # The first attempt fails; the next one would wait an hour.
    step = page.locator('[data-testid=step][data-step="send"]')
    expect(step).to_have_attribute("data-status", "retrying")
    expect(step).to_contain_text("remote end did not answer")
    expect(step.get_by_test_id("step-attempts")).to_contain_text("1 / 5")
    expect(page.get_by_test_id("timeline-attempt")).to_contain_text("attempt 1")

    page.get_by_test_id("step-retry-send").click()
    expect(page.get_by_test_id("business-state")).to_contain_text("uploaded")
    expect(
        page.locator('[data-testid=timeline-entry][data-event="xstate.done.actor.send"]')
    ).to_be_visible()
    expect(page.get_by_test_id("step")).to_have_count(0)
    expect(page.get_by_test_id("timeline-attempt")).to_have_count(1)

    viewer = logged_in_page("viewer")
    console_server.engine.start("upload", instance_id="u-2")
    viewer.goto("/instances/u-2")
    expect(viewer.locator('[data-testid=step][data-step="send"]')).to_have_attribute(
        "data-status", "retrying"
    )
    expect(viewer.get_by_test_id("step-retry-send")).to_have_count(0)
