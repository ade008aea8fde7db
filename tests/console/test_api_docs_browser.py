"""The API's docs page in a real browser: Swagger UI draws the document under the page's
Content-Security-Policy (no inline style allowed either), answers "Try it out", every request
stays on the server, and nothing is refused."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from console_kit import ConsoleServer
from playwright.sync_api import ConsoleMessage, Page, Request, expect
from test_content_security_policy import RECORD_VIOLATIONS

pytestmark = pytest.mark.slow


def test_swagger_ui_draws_the_document_from_this_server_only(
    logged_in_page: Callable[..., Page], console_server: ConsoleServer
) -> None:
    page = logged_in_page("viewer")  # the session cookie opens /api/docs as a token would
    requested: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("console", lambda message: _keep_error(message, errors))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("requestfailed", lambda request: errors.append(_failed(request)))
    page.add_init_script(RECORD_VIOLATIONS)
    answer = page.goto("/api/docs")
    assert answer is not None and answer.status == 200
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("statewright")
    send = page.locator(".opblock-summary-path", has_text="/api/v1/instances/{instance_id}/events")
    expect(send.first).to_be_visible()
    page.locator(".opblock-tag-section").first.click()  # React re-renders under the policy
    expect(page.locator(".scheme-container .authorize")).to_be_visible()
    # An operation opened and tried: its answer drawn, highlighted, as Swagger UI styles it.
    health = page.locator(".opblock-summary", has_text="/api/health/live")
    health.first.click()
    page.locator(".try-out__btn").first.click()
    page.locator(".execute").first.click()
    expect(page.locator(".live-responses-table")).to_contain_text("200")
    page.locator("section.models .json-schema-2020-12-expand-deep-button").first.click()
    expect(page.locator("section.models .json-schema-2020-12-property").first).to_be_visible()
    assert page.evaluate("window.__violations") == []
    assert errors == [], requested
    assert requested and all(url.startswith(console_server.url + "/") for url in requested), (
        requested
    )


def _keep_error(message: ConsoleMessage, errors: list[str]) -> None:
    if message.type == "error":
        errors.append(f"{message.location.get('url')}: {message.text}")


def _failed(request: Request) -> str:
    return f"{request.url}: {request.failure}"
