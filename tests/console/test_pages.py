"""The console's page shells and static files, served by the API app (no browser)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from statewright.api import ApiSettings, create_app
from statewright.engine import Engine


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with (
        Engine.open(f"sqlite:///{tmp_path / 'pages.db'}") as engine,
        TestClient(create_app(engine)) as found,
    ):
        yield found


@pytest.mark.parametrize(("path", "marker"), [
    ("/", 'data-testid="instances-table"'),
    ("/queues", 'data-testid="steps-panel"'),
    ("/login", 'data-testid="login-token"'),
    ("/logout", 'data-testid="logout-confirm"'),
])  # fmt: skip
def test_each_page_is_a_shell_served_without_a_session(
    client: TestClient, path: str, marker: str
) -> None:
    answer = client.get(path)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    assert marker in answer.text and '<link rel="stylesheet" href="/static/css/base.css">' in (
        answer.text
    )
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["cache-control"] == "no-store"


def test_the_policy_allows_only_this_origin_and_nothing_inline(client: TestClient) -> None:
    policy = client.get("/").headers["content-security-policy"]
    assert client.get("/login").headers["content-security-policy"] == policy
    directives = dict(d.strip().partition(" ")[::2] for d in policy.split(";"))
    assert directives == {
        "default-src": "'none'",
        "script-src": "'self'",
        "style-src": "'self'",  # no 'unsafe-inline': no style attribute, no <style>
        "img-src": "'self'",
        "connect-src": "'self'",
        "object-src": "'none'",
        "frame-ancestors": "'none'",
        "base-uri": "'none'",
        "form-action": "'none'",  # every form is sent by its script, never by the browser
        # No string reaches an HTML or script sink, and no Trusted Types policy may be made.
        "require-trusted-types-for": "'script'",
        "trusted-types": "'none'",
    }


def test_the_nav_marks_the_page_and_login_has_none(client: TestClient) -> None:
    queues = client.get("/queues").text
    assert '<a href="/queues" aria-current="page">Queues</a>' in queues
    assert 'href="/logout"' in queues
    assert 'href="/logout"' not in client.get("/login").text


def test_static_files_are_served_and_the_modules_they_import_exist(client: TestClient) -> None:
    static = Path(__file__).resolve().parents[2] / "src/statewright/console/static"
    for path in sorted(static.rglob("*.js")) + sorted(static.rglob("*.css")):
        url = f"/static/{path.relative_to(static).as_posix()}"
        answer = client.get(url)
        assert answer.status_code == 200, url
        assert answer.text == path.read_text()
        for imported in re.findall(r'from "\./([\w.-]+\.js)"', path.read_text()):
            assert (path.parent / imported).exists(), f"{url} imports {imported}"
    assert client.get("/static/js/api.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/static/js/nope.js").status_code == 404


def test_a_page_the_console_lacks_is_404_and_the_api_is_unchanged(client: TestClient) -> None:
    assert client.get("/nowhere").status_code == 404
    assert client.get("/api/v1/instances").status_code == 401
    assert client.get("/api/health/live").status_code == 200


def test_the_console_can_be_left_out(tmp_path: Path) -> None:
    with (
        Engine.open(f"sqlite:///{tmp_path / 'bare.db'}") as engine,
        TestClient(create_app(engine, ApiSettings(console=False))) as bare,
    ):
        assert bare.get("/").status_code == 404
        assert bare.get("/static/js/api.js").status_code == 404
        assert bare.get("/api/health/live").status_code == 200
