"""Every console page under its Trusted Types policy in a real browser: the pages require
Trusted Types for scripts and allow no policy (`trusted-types 'none'`), so any string handed
to an HTML or script sink (innerHTML, a script's src, eval, a Worker's URL) would be refused.
Logging in, each list, an instance of each example definition with its chart drawn (the
order's parallel state active), each definition and the queues run without one refusal and
without an error in the browser's console; elkjs lays the charts out in the page's thread
without a Worker or eval."""

from __future__ import annotations

import pytest
from console_kit import VIEWPORT, ConsoleServer
from pages_kit import ACTIVE
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

pytestmark = pytest.mark.slow
expect.set_options(timeout=20_000)

TRUSTED_TYPES = "require-trusted-types-for 'script'; trusted-types 'none'"
#: Records every violation the page's document reports, and every Worker made, before any
#: script of the page runs.
RECORD = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(
    `${e.violatedDirective} refused ${e.blockedURI || "inline"} at ${e.sourceFile}:` +
    `${e.lineNumber}` + (e.sample ? ` (${e.sample})` : ""));
}, true);
window.__workers = 0;
const RealWorker = window.Worker;
window.Worker = class extends RealWorker {
  constructor(...args) { window.__workers++; super(...args); }
};
"""
TAKE = """() => {
  const taken = [window.__violations || [], window.__workers || 0];
  window.__violations = [];
  window.__workers = 0;
  return taken;
}"""
#: Each example's instance, its input, and a state its drawing shows active (None: any).
INSTANCES: dict[str, tuple[str, dict[str, object], str | None]] = {
    "tt-order": ("order", {"orderId": "tt-order", "amount": 2500}, "order.pending_approval"),
    # Under 1000: approved at once, paid by the server's worker, then in the parallel state.
    "tt-parallel": ("order", {"orderId": "tt-parallel", "amount": 500}, "order.fulfilment"),
    "tt-approval": ("approval", {"document": "tt-doc"}, None),  # where its step has got to
    "tt-intake": ("intake", {"applicant": "tt-ann"}, "intake.draft"),
}


class Recorder:
    """A page whose policy violations, console errors, uncaught errors and Workers are kept,
    with the path shown when each happened."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.path = ""
        self.found: list[str] = []
        self.workers = 0
        page.add_init_script(RECORD)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.found.append(f"{self.path}: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.found.append(f"{self.path}: console error: {message.text}")

    def visit(self, path: str) -> Page:
        self.collect()
        self.path = path
        answer = self.page.goto(path)
        assert answer is not None and answer.status == 200, path
        policy = answer.headers["content-security-policy"]
        assert policy.endswith(TRUSTED_TYPES), (path, policy)
        return self.page

    def collect(self) -> None:
        """Take what the document shown now has recorded since the last call."""
        if not self.path:
            return
        found, workers = self.page.evaluate(TAKE)
        self.found.extend(f"{self.path}: {violation}" for violation in found)
        self.workers += int(workers)


def _drawn(recorder: Recorder) -> Page:
    """Wait for the chart (or the word that it could not be drawn), check that nothing was
    refused so far, then that it is drawn."""
    page = recorder.page
    diagram = page.get_by_test_id("diagram")
    drawn = diagram.locator("svg.sw-statechart")
    expect(drawn.or_(diagram.get_by_text("could not be drawn"))).to_be_visible()
    recorder.collect()
    assert recorder.found == []
    expect(diagram).to_have_attribute("data-ready", "true")
    assert drawn.locator("rect.sw-box").count() >= 3
    return page


def test_every_page_runs_under_trusted_types_without_a_refusal(
    chromium_browser: Browser, console_server: ConsoleServer
) -> None:
    for instance_id, (definition, data, _state) in INSTANCES.items():
        console_server.engine.start(definition, input=data, instance_id=instance_id)
    context = chromium_browser.new_context(base_url=console_server.url, viewport=VIEWPORT)
    try:
        recorder = Recorder(context.new_page())
        page = recorder.visit("/login")
        page.get_by_test_id("login-token").fill(console_server.token("operator", name="tt"))
        recorder.collect()
        page.get_by_test_id("login-submit").click()
        expect(page).to_have_url(f"{console_server.url}/")
        recorder.path = "/ (after login)"
        expect(page.get_by_test_id("instances-row")).to_have_count(len(INSTANCES))

        page = recorder.visit("/")
        expect(page.get_by_test_id("instances-row")).to_have_count(len(INSTANCES))
        for instance_id, (_definition, _data, state) in INSTANCES.items():
            page = recorder.visit(f"/instances/{instance_id}")
            expect(page.get_by_test_id("timeline-entry").first).to_be_visible()
            _drawn(recorder)
            if state is None:
                expect(page.locator("svg.sw-statechart g.sw-state.sw-active").first).to_be_visible()
            else:  # tt-parallel's: once the worker has paid (a live update)
                box = page.locator(f'svg.sw-statechart g.sw-state[data-state="{state}"]')
                expect(box).to_have_class(ACTIVE)

        page = recorder.visit("/definitions")
        expect(page.locator("[data-testid=definitions-row]")).to_have_count(4)
        for name in ("approval", "intake", "order"):
            page = recorder.visit(f"/definitions/{name}")
            _drawn(recorder)
        expect(page.locator('g.sw-parallel[data-state="order.fulfilment"]')).to_be_visible()
        expect(page.locator('g[data-state="order.pending_approval"] > .sw-count')).to_have_text("1")

        page = recorder.visit("/queues")
        expect(page.get_by_test_id("timer-row").filter(has_text="tt-order")).to_be_visible()

        page = recorder.visit("/logout")
        recorder.collect()
        page.get_by_test_id("logout-confirm").click()
        expect(page).to_have_url(f"{console_server.url}/login")
        recorder.path = "/login (after logout)"
        expect(page.get_by_test_id("login-token")).to_be_visible()
        recorder.collect()
    finally:
        context.close()

    assert recorder.found == []
    assert recorder.workers == 0  # elkjs lays out in the page's thread
