"""What a hostile or careless client meets: headers that keep browsers and caches from
misreading or keeping the API's answers, and limits it cannot step around."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path
from urllib.parse import quote

import pytest
from api_kit import Api, make_api
from shop_kit import fail_once, post, register_shop, start

from statewright.api import ApiSettings
from statewright.api.problems import problem_of
from statewright.errors import StoreError, StoreUnavailable

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


def test_logins_count_against_the_tokens_rate(store_url: str) -> None:
    for api in make_api(store_url, ApiSettings(rate=0.01, burst=3)):
        token = api.tokens["viewer"]
        answers = [api.client.post("/api/v1/session", json={"token": token}) for _ in range(3)]
        assert [a.status_code for a in answers] == [201, 201, 201]
        api.client.cookies.clear()
        refused = api.client.post("/api/v1/session", json={"token": token})
        assert refused.status_code == 429, refused.text
        assert "set-cookie" not in refused.headers and "retry-after" in refused.headers
        # The bearer token shares the bucket: a session is no way around the limit.
        assert api.client.get("/api/v1/session", headers=api.auth("viewer")).status_code == 429
        # Another token's logins are not held back, and a wrong token is the same 401.
        assert api.client.post("/api/v1/session", json={"token": api.tokens["admin"]}).is_success
        mistyped = token[:-1] + ("A" if token[-1] != "A" else "B")
        wrong = api.client.post("/api/v1/session", json={"token": mistyped})
        assert wrong.status_code == 401


def test_a_replayed_retry_withholds_the_step_input_from_a_token_without_payloads(
    api: Api,
) -> None:
    register_shop(api)
    start(api, "s1", amount=4242)
    post(api, "/api/v1/instances/s1/events", {"type": "APPROVE"})
    fail_once(api, "s1")
    quiet = api.engine.create_token(tenant="acme", role="operator", payloads=False)[1]
    api.tokens["quiet-operator"] = quiet
    path = "/api/v1/instances/s1/steps/charge/retry"
    first = post(api, path, **{"Idempotency-Key": "r-1"})
    assert first.status_code == 200 and first.json()["items"][0]["input"] == {"amount": 4242}
    replay = post(api, path, token="quiet-operator", **{"Idempotency-Key": "r-1"})
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["items"][0]["input"] is None
    assert "4242" not in replay.text
    # As its own request would have answered it.
    fail_once(api, "s1")
    own = post(api, path, token="quiet-operator", **{"Idempotency-Key": "r-2"})
    assert own.json()["items"][0]["input"] is None


def test_a_store_fault_is_not_told_to_the_caller(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for api in make_api(f"sqlite:///{tmp_path}/api.db"):
        with sqlite3.connect(f"{tmp_path}/api.db") as connection:
            connection.execute(
                "DELETE FROM schema_migrations "
                "WHERE version = (SELECT max(version) FROM schema_migrations)"
            )
        with caplog.at_level(logging.ERROR, "statewright.api"):
            response = api.client.get("/api/health/ready")  # no token needed
        assert response.status_code == 503
        assert "db migrate" in response.json()["detail"]
        assert str(tmp_path) not in response.text
        assert str(tmp_path) in caplog.text  # the operator's log names it
    down = StoreUnavailable(
        "cannot reach PostgreSQL at postgresql://app@db.internal:5432/prod: connection refused"
    )
    for error in (down, StoreError("/srv/app.db (sqlite:////srv/app.db) is damaged")):
        problem = problem_of(error)
        assert problem.status == 503
        assert "db.internal" not in problem.detail and "/srv" not in problem.detail


def test_a_member_named_twice_is_read_as_its_last_on_either_way_of_a_send(api: Api) -> None:
    _start(api, "A-1")
    _start(api, "A-2")
    body = b'{"type": "NOTE", "text": "first", "type": "REJECT", "text": "last"}'
    headers = {**api.auth("operator"), "Content-Type": "application/json"}
    short = api.client.post("/api/v1/instances/A-1/events", content=body, headers=headers)
    # The full way: a session cookie, which the short way leaves to the route.
    session = api.client.post("/api/v1/session", json={"token": api.tokens["operator"]})
    full = api.client.post(
        "/api/v1/instances/A-2/events",
        content=body,
        headers={"Content-Type": "application/json", "X-CSRF-Token": session.json()["csrf"]},
    )
    api.client.cookies.clear()
    assert short.status_code == full.status_code == 200, (short.text, full.text)
    assert short.json()["event"] == full.json()["event"] == {"type": "REJECT", "text": "last"}
    # And a body under another content type is read by neither.
    form = api.client.post(
        "/api/v1/instances/A-1/events",
        content=b"type=NOTE",
        headers={**api.auth("operator"), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 422


@pytest.mark.parametrize("instance_id", ["invoice-\u202egnp.exe", "a\u2066b\u2069", "x\u200fy"])
def test_an_id_that_would_show_reordered_is_refused(api: Api, instance_id: str) -> None:
    response = api.client.post(
        f"/api/v1/instances/{quote(instance_id, safe='')}",
        json={"definition": "order", "input": {"amount": 1}},
        headers=api.auth("operator"),
    )
    assert response.status_code == 422, response.text
    assert "bidirectional" in response.json()["detail"]
    listed = api.client.get("/api/v1/instances", headers=api.auth("viewer")).json()["items"]
    assert listed == []
