"""The OpenAPI docs page (`/api/docs`): Swagger UI from this server's `/static/vendor/`
(fetched by the package build), with or without the console; the document inline, in a
data block no schema text can break out of; a policy that runs only those scripts."""

from __future__ import annotations

import base64
import hashlib
import html.parser
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_kit import Api, make_api

from statewright import Machine
from statewright.api import ApiSettings


class _Page(html.parser.HTMLParser):
    """The page's URLs (`src`, `href`), its inline scripts, and the text outside the data."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.text_outside_data: list[str] = []
        self._open: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]
        if tag == "script":
            self._open = found
        self.text_outside_data.append(self.get_starttag_text() or "")

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self.scripts.append((self._open, data))
            if self._open.get("type") == "application/json":
                return
        self.text_outside_data.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._open = None


def parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    page.close()
    return page


@pytest.fixture(params=[True, False], ids=["with-console", "api-only"])
def docs_api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    settings = ApiSettings(rate=0, console=request.param)
    yield from make_api(f"sqlite:///{tmp_path / 'docs.db'}", settings)


@pytest.mark.slow  # reads the 1.7 MB bundle through the app
def test_the_docs_page_refers_to_no_other_host_and_its_files_are_served(docs_api: Api) -> None:
    answer = docs_api.client.get("/api/docs", headers=docs_api.auth("viewer"))
    assert answer.status_code == 200
    page = parse(answer.text)
    outside = "".join(page.text_outside_data)
    assert "://" not in outside and "cdn" not in outside.lower()
    assert sorted(page.urls) == [
        "/static/vendor/swagger-ui-bundle.js",
        "/static/vendor/swagger-ui.css",
        "data:,",  # no icon: the browser asks for none
    ]
    kinds = {".js": ("text/javascript", "application/javascript"), ".css": ("text/css",)}
    for url in (url for url in page.urls if url != "data:,"):
        assert url.startswith("/") and not url.startswith("//"), url
        served = docs_api.client.get(url)  # no token: the files hold no data
        assert served.status_code == 200, url
        assert served.headers["content-type"].startswith(kinds[Path(url).suffix]), url
        assert len(served.content) > 100_000, url  # the release, not a placeholder
    assert "SwaggerUIBundle" in docs_api.client.get("/static/vendor/swagger-ui-bundle.js").text
    licence = docs_api.client.get("/static/vendor/swagger-ui-dist-LICENSE")
    assert licence.status_code == 200 and "Apache License" in licence.text


def test_only_the_api_docs_files_are_served_without_the_console(tmp_path: Path) -> None:
    for api in make_api(f"sqlite:///{tmp_path / 'bare.db'}", ApiSettings(console=False)):
        assert api.client.get("/static/vendor/swagger-ui.css").status_code == 200
        assert api.client.get("/static/css/base.css").status_code == 404
        assert api.client.get("/static/vendor/nope.js").status_code == 404


def test_the_policy_runs_only_this_servers_scripts_and_the_start_up_script(api: Api) -> None:
    answer = api.client.get("/api/docs", headers=api.auth("viewer"))
    policy = answer.headers["content-security-policy"]
    inline = [text for attrs, text in parse(answer.text).scripts if not attrs.get("src")]
    code = [text for attrs, text in parse(answer.text).scripts if attrs.get("type") is None]
    assert len(inline) == 2 and len(code) == 1  # the document (data) and the start-up
    digest = base64.b64encode(hashlib.sha256(code[0].encode()).digest()).decode()
    assert f"script-src 'self' 'sha256-{digest}';" in policy
    assert "unsafe-inline" not in policy  # no inline script, and no inline style either
    assert "style-src 'self';" in policy and "object-src 'none'" in policy
    assert "connect-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["cache-control"] == "no-store"


def test_the_inline_document_is_the_openapi_document_even_with_markup_in_a_schema(
    api: Api,
) -> None:
    hostile = "</script><script>alert(1)</script><!-- <script>"
    api.engine.register(
        Machine.from_config({
            "id": "quote",
            "initial": "open",
            "statewright": {"events": {"ASK": {"type": "object", "description": hostile}}},
            "states": {"open": {"on": {"ASK": "open"}}},
        })
    )  # fmt: skip
    answer = api.client.get("/api/docs", headers=api.auth("viewer"))
    page = parse(answer.text)
    data = [text for attrs, text in page.scripts if attrs.get("type") == "application/json"]
    assert len(data) == 1 and answer.text.count("<script") == 3
    document = api.client.get("/api/openapi.json", headers=api.auth("viewer")).json()
    assert json.loads(data[0]) == document
    assert hostile in json.dumps(document)
