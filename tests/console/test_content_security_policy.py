"""Every console page under its Content-Security-Policy in a real browser: the policy allows
no inline style (no `style="..."` attribute, no `<style>` element, no `setAttribute("style",
...)`), and each page, with its data shown, makes the browser refuse nothing, draws its chart
and is styled by the console's own style sheets (and what scripts set through the CSSOM)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from console_kit import VIEWPORT, ConsoleServer
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from statewright import Machine

pytestmark = pytest.mark.slow
expect.set_options(timeout=15_000)

#: Records every violation the page's document reports, before any script of the page runs.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__violations.push(
    `${e.violatedDirective} refused ${e.blockedURI || "inline"} at ${where}` +
    (e.sample ? ` (${e.sample})` : ""));
}, true);
"""
#: A definition whose one state emits a message no worker listens for: it stays pending.
NOTICE = {
    "id": "notice",
    "initial": "sent",
    "states": {"sent": {"entry": [{"type": "emit", "params": {"event": {"type": "notice.sent"}}}]}},
}


class Watched:
    """A page whose policy violations and refusal messages are kept, per path visited."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.refused: dict[str, list[str]] = {}
        self.path = ""
        page.add_init_script(RECORD_VIOLATIONS)
        page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.refused.setdefault(self.path, []).append(message.text)

    def visit(self, path: str) -> Page:
        self.collect()
        self.path = path
        answer = self.page.goto(path)
        assert answer is not None and answer.status == 200, path
        policy = answer.headers["content-security-policy"]
        assert "unsafe-inline" not in policy and "style-src 'self';" in policy, policy
        return self.page

    def collect(self) -> None:
        """Keep what the page shown now has recorded (a new page starts a new record)."""
        if self.path:
            found = self.page.evaluate("window.__violations || []")
            if found:
                self.refused.setdefault(self.path, []).extend(found)


def _prepare(server: ConsoleServer) -> None:
    engine = server.engine
    engine.register(Machine.from_config(NOTICE))
    engine.start("order", input={"orderId": "csp-1", "amount": 2500}, instance_id="csp-1")
    engine.start("order", input={"orderId": "csp-2", "amount": 1500}, instance_id="csp-2")
    engine.start("sync", input={"record": "csp-3"}, instance_id="csp-3")  # a retrying step
    engine.start("notice", instance_id="csp-4")  # its message is dead-lettered below
    engine.start("notice", instance_id="csp-5")  # its message stays pending
    (message,) = engine.store.due_outbox(engine.clock.now() + 1, 1, types=["notice.*"])
    engine.store.outbox_failed(message, error="listener: refused", next_attempt_at=0, dead=True)


def test_no_page_needs_an_inline_style(
    chromium_browser: Browser, console_server: ConsoleServer, logged_in_page: Callable[..., Page]
) -> None:
    _prepare(console_server)

    # Logged out: the login page, and its refusal of a wrong token.
    context = chromium_browser.new_context(base_url=console_server.url, viewport=VIEWPORT)
    try:
        anonymous = Watched(context.new_page())
        page = anonymous.visit("/login")
        page.get_by_test_id("login-token").fill("sw_000000000000_" + "A" * 43)
        page.get_by_test_id("login-submit").click()
        expect(page.get_by_test_id("login-error")).to_contain_text("not valid")
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") == (
            "rgb(246, 247, 249)"  # base.css: --bg
        )
        anonymous.collect()
    finally:
        context.close()

    watched = Watched(logged_in_page("operator"))
    page = watched.visit("/")
    expect(page.get_by_test_id("instances-row")).to_have_count(5)
    expect(page.get_by_test_id("state-count").first).to_be_visible()

    # An instance: drawn, its active state styled by diagram.css, an event's form open.
    page = watched.visit("/instances/csp-1")
    expect(page.get_by_test_id("timeline-entry")).to_have_count(1)
    active = page.locator('g.sw-state.sw-active[data-state="order.pending_approval"] > rect.sw-box')
    expect(active).to_have_count(1)
    # diagram.css: --sw-accent-soft, once its 0.2 s fill transition has run
    expect(active).to_have_css("fill", "rgb(227, 237, 252)")
    assert page.locator("svg.sw-statechart rect.sw-box").count() > 5
    min_width = page.locator("svg.sw-statechart").evaluate("(svg) => svg.style.minWidth")
    assert re.fullmatch(r"\d+px", min_width), min_width  # set through the CSSOM: allowed
    page.get_by_test_id("event-button-APPROVE").click()
    expect(page.get_by_test_id("event-send")).to_be_visible()

    # A step that failed and waits to retry: its attempts on the timeline and the steps panel.
    page = watched.visit("/instances/csp-3")
    expect(page.get_by_test_id("step")).to_contain_text("retrying", timeout=20_000)
    expect(page.get_by_test_id("timeline-attempt").first).to_be_visible()

    for path in ("/instances/no-such-instance", "/definitions/no-such-definition"):
        page = watched.visit(path)
        expect(page.get_by_test_id("not-found")).to_contain_text("no-such-")

    # The definitions: each one's busiest states as a bar whose parts the script sizes.
    page = watched.visit("/definitions")
    order = page.locator('[data-testid=definitions-row][data-definition="order"]')
    segment = order.locator(".mix-seg").first
    expect(segment).to_be_visible()
    assert segment.evaluate("(s) => getComputedStyle(s).flexGrow") == "2"  # both orders wait
    assert segment.evaluate("(s) => getComputedStyle(s).backgroundColor") == "rgb(53, 87, 212)"

    page = watched.visit("/definitions/order")
    expect(page.get_by_test_id("diagram")).to_have_attribute("data-ready", "true")
    badge = page.locator('g.sw-state[data-state="order.pending_approval"] .sw-count rect')
    expect(badge).to_have_count(1)
    expect(badge).to_have_css("fill", "rgb(53, 87, 212)")  # diagram.css: the accent

    # The queues: steps, timers, workers, messages waiting and dead letters.
    page = watched.visit("/queues")
    expect(page.get_by_test_id("step-row").filter(has_text="csp-3")).to_be_visible()
    expect(page.get_by_test_id("timer-row").filter(has_text="csp-1")).to_be_visible()
    expect(page.get_by_test_id("worker-row").first).to_be_visible()
    expect(page.get_by_test_id("outbox-row").filter(has_text="csp-5")).to_be_visible()
    expect(page.get_by_test_id("dead-letter-row").filter(has_text="csp-4")).to_be_visible()
    page.get_by_role("tab", name="Retrying").click()
    expect(page.get_by_test_id("step-row").filter(has_text="csp-3")).to_be_visible()

    # The pages' element helper sets a style through the CSSOM, and refuses a style attribute.
    made = page.evaluate(
        """async () => {
          const { h } = await import("/static/js/dom.js");
          let refused = null;
          try { h("span", { style: "color: red" }); } catch (error) { refused = error.message; }
          return { grow: h("span", { style: { flexGrow: "3" } }).style.flexGrow, refused };
        }"""
    )
    assert made["grow"] == "3"
    assert "style must be an object" in made["refused"], made

    page = watched.visit("/logout")
    expect(page.get_by_test_id("logout-confirm")).to_be_visible()
    watched.collect()

    refused = {**anonymous.refused, **watched.refused}
    assert refused == {}, refused
