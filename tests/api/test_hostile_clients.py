"""What a hostile or careless client meets: headers that keep browsers and caches from
misreading or keeping the API's answers, and limits it cannot step around."""

from __future__ import annotations

import json

import pytest
from api_kit import Api

#: What every answer under /api/ carries.
API_HEADERS = {"x-content-type-options": "nosniff", "cache-control": "no-store"}


def _start(api: Api, instance_id: str = "A-1") -> None:
    response = api.client.post(
        f"/api/v1/instances/{instance_id}",
        json={"definition": "order", "input": {"amount": 25}},
        headers=api.auth("operator"),
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/instances/A-1", None),
        ("GET", "/api/v1/instances", None),
        ("POST", "/api/v1/instances/A-1/events", {"type": "NOTE", "text": "x"}),  # the short way
        ("POST", "/api/v1/instances/A-1/events", {"type": "NOTE", "text": float("nan")}),
        ("GET", "/api/v1/instances/%3Cscript%3Ealert(1)%3C%2Fscript%3E", None),
        ("GET", "/api/v1/no-such-route<script>", None),
        ("GET", "/api/openapi.json", None),
        ("GET", "/api/metrics", None),
    ],
)
def test_every_api_answer_is_nosniff_and_never_stored(
    api: Api, method: str, path: str, body: object
) -> None:
    _start(api)
    content = None if body is None else json.dumps(body).encode()
    headers = {**api.auth("admin"), "Content-Type": "application/json"}
    response = api.client.request(method, path, content=content, headers=headers)
    for name, value in API_HEADERS.items():
        assert response.headers.get(name) == value, (response.status_code, name)
    assert response.headers.get_list("cache-control") == ["no-store"]


def test_pages_and_files_are_nosniff_the_stream_keeps_its_own_cache_control(api: Api) -> None:
    for path in ("/login", "/static/js/api.js", "/favicon.svg", "/no-such-page"):
        response = api.client.get(path)
        assert response.headers.get("x-content-type-options") == "nosniff", path
    assert "no-store" not in api.client.get("/static/js/api.js").headers.get("cache-control", "")
    with api.client.stream("GET", "/api/v1/stream", headers=api.auth("viewer")) as stream:
        assert stream.headers.get_list("cache-control") == ["no-cache"]
        assert stream.headers["x-content-type-options"] == "nosniff"
