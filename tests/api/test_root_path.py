"""`statewright serve --root-path /statewright`, reached directly as a proxy that strips the
prefix reaches it (`/api/...` in, `/statewright/...` in everything the client is to follow):
the console's pages and scripts, `Location`, the session cookie's `Path`, the OpenAPI
document's `servers` and its docs page, problems. Without the option, none of it changes
(the rest of the suite); a root path that is not one is refused naming the option."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_kit import ORDER
from sse_kit import free_port
from test_serve_command import wait_until_live
from typer.testing import CliRunner

from statewright import Machine
from statewright.cli import app
from statewright.engine import Engine

ROOT = "/statewright"
MACHINES = f"""
from statewright import Machine

MACHINES = [Machine.from_config({ORDER!r})]
"""

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """`serve --root-path /statewright` on a fresh SQLite file: its base URL (as the proxy
    reaches it) and an admin token."""
    folder = tmp_path_factory.mktemp("root-path")
    store_url = f"sqlite:///{folder / 'app.db'}"
    machines = folder / "machines.py"
    machines.write_text(MACHINES)
    with Engine.open(store_url) as engine:
        engine.register(Machine.from_config(ORDER))
        _, secret = engine.create_token(tenant="acme", role="admin", name="test")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "statewright", "serve", "--url", store_url, "--port", str(port),
         "--machines", str(machines), "--root-path", ROOT],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_live(server, base)
        yield base, secret
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert f"under the root path {ROOT}" in out


def urls_of(page: str) -> list[str]:
    """Every `href` and `src` of an HTML page."""
    return re.findall(r'(?:href|src)="([^"]*)"', page)


def test_pages_name_every_url_under_the_root_path(served: tuple[str, str]) -> None:
    base, _ = served
    for path in ("/login", "/logout", "/", "/instances/o1", "/definitions", "/definitions/order",
                 "/queues"):  # fmt: skip
        page = httpx.get(base + path)
        assert page.status_code == 200, (path, page.text)
        urls = urls_of(page.text)
        assert urls, path
        assert all(url.startswith(f"{ROOT}/") for url in urls), (path, urls)
    # What they name is served (through the proxy: without the prefix).
    for url in urls_of(httpx.get(base + "/instances/o1").text):
        assert httpx.get(base + url.removeprefix(ROOT)).status_code == 200, url


def test_the_session_cookie_is_scoped_to_the_root_path(served: tuple[str, str]) -> None:
    base, secret = served
    # The browser sends the cookie to /statewright/... only: as the proxy passes it on, the
    # path has lost the prefix, so the cookie is sent by hand here.
    login = httpx.post(f"{base}/api/v1/session", json={"token": secret})
    assert login.status_code == 201, login.text
    assert f"Path={ROOT};" in login.headers["set-cookie"]
    cookie = {"Cookie": f"sw_session={login.cookies['sw_session']}"}
    csrf = login.json()["csrf"]
    assert httpx.get(f"{base}/api/v1/session", headers=cookie).status_code == 200
    logout = httpx.delete(f"{base}/api/v1/session", headers=cookie | {"X-CSRF-Token": csrf})
    assert logout.status_code == 204
    assert f"Path={ROOT};" in logout.headers["set-cookie"]
    refused = httpx.get(f"{base}/api/v1/session", headers=cookie)
    assert refused.status_code == 401
    assert f"log in again at {ROOT}/login" in refused.json()["detail"]
    bare = httpx.get(f"{base}/api/v1/session")
    assert f"log in to the console at {ROOT}/login" in bare.json()["detail"]


def test_location_problems_and_headers_name_the_root_path(served: tuple[str, str]) -> None:
    base, secret = served
    auth = {"Authorization": f"Bearer {secret}"}
    started = httpx.post(
        f"{base}/api/v1/instances/o%201", json={"definition": "order", "input": {}}, headers=auth
    )
    assert started.status_code == 201, started.text
    assert started.headers["location"] == f"{ROOT}/api/v1/instances/o%201"
    assert started.headers["cache-control"] == "no-store"  # an API answer, under the prefix too
    missing = httpx.get(f"{base}/api/v1/nothing", headers=auth)
    assert missing.status_code == 404
    assert missing.json()["instance"] == f"{ROOT}/api/v1/nothing"
    assert f"{ROOT}/api/openapi.json" in missing.json()["detail"]
    # A proxy that passes the prefix on (nginx's proxy_pass without the '/') is named.
    doubled = httpx.get(f"{base}{ROOT}/api/v1/definitions", headers=auth)
    assert doubled.status_code == 404
    assert "have the proxy strip /statewright" in doubled.json()["detail"]


def test_the_openapi_document_and_docs_page_name_the_root_path(served: tuple[str, str]) -> None:
    base, secret = served
    auth = {"Authorization": f"Bearer {secret}"}
    document = httpx.get(f"{base}/api/openapi.json", headers=auth).json()
    assert document["servers"] == [{"url": ROOT}]
    docs = httpx.get(f"{base}/api/docs", headers=auth)
    assert docs.status_code == 200
    urls = urls_of(docs.text)
    assert f"{ROOT}/static/vendor/swagger-ui.css" in urls
    assert f"{ROOT}/static/vendor/swagger-ui-bundle.js" in urls


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("statewright", "does not start with '/'"),
        ("/statewright/", "ends with '/'; give /statewright"),
        ("/", "ends with '/'; leave the option out"),
        ("/a/../b", "'..'"),
        ("/a//b", "empty"),
        ("/a b", "a character other than"),
        ("/ä", "a character other than"),
    ],
)
def test_a_root_path_that_is_not_one_is_refused_naming_the_option(
    given: str, said: str, tmp_path: Path
) -> None:
    answer = CliRunner().invoke(
        app, ["serve", "--url", f"sqlite:///{tmp_path / 'x.db'}", "--root-path", given]
    )
    assert answer.exit_code == 2, answer.output
    text = " ".join(answer.output.replace("│", " ").split())
    assert "--root-path" in text and said in text, text
    assert not (tmp_path / "x.db").exists()
