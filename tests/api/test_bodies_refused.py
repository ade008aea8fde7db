"""Bodies `json.loads` reads but no stored JSON can hold are refused with a 422 naming the
field, and nothing is written: NaN and Infinity (which would otherwise turn into null), and
nesting deeper than the engine's limit (which would otherwise fail the server while the
response is made). The HTTP layers' own errors speak the API's problem types."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from api_kit import Api

from statewright.errors import PayloadError

PROBLEM = "application/problem+json"
#: Deeper than the engine's MAX_DEPTH (64) and than pydantic dumps (a server error before).
DEEP = "[" * 600 + "]" * 600


def raw_post(api: Api, path: str, text: str, *, chunked: bool = False, **headers: str) -> Any:
    body = text.encode()

    def chunks() -> Iterator[bytes]:
        yield body

    return api.client.post(
        path,
        content=chunks() if chunked else body,
        headers={**api.auth("admin"), "Content-Type": "application/json", **headers},
    )


def started(api: Api) -> int:
    response = api.client.post(
        "/api/v1/instances/o1",
        json={"definition": "order", "input": {"amount": 1}},
        headers=api.auth("admin"),
    )
    assert response.status_code == 201
    return int(response.json()["version"])


def refused(response: Any, field: str) -> str:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"].endswith("invalid-request")
    assert [e["field"] for e in body["errors"]] == [field], body
    return str(body["detail"])


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
def test_an_event_with_nan_or_infinity_is_refused_not_stored_as_null(
    api: Api, constant: str, chunked: bool
) -> None:
    version = started(api)
    text = f'{{"type": "NOTE", "text": {constant}}}'
    detail = refused(raw_post(api, "/api/v1/instances/o1/events", text, chunked=chunked), "body")
    assert "not JSON data" in detail and "finite numbers" in detail
    keyed = raw_post(api, "/api/v1/instances/o1/events", text, **{"Idempotency-Key": "k1"})
    refused(keyed, "body")
    assert api.engine.get("o1", tenant="acme").version == version
    assert len(api.engine.history("o1", tenant="acme")) == version


def test_a_start_input_with_nan_is_refused(api: Api) -> None:
    text = '{"definition": "order", "input": {"amount": NaN}}'
    refused(raw_post(api, "/api/v1/instances/n1", text), "body.input")
    assert api.engine.list(tenant="acme") == []


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
def test_an_event_nested_too_deep_is_refused_on_every_way_in(api: Api, chunked: bool) -> None:
    version = started(api)
    text = f'{{"type": "NOTE", "text": {DEEP}}}'
    response = raw_post(api, "/api/v1/instances/o1/events", text, chunked=chunked)
    assert response.status_code == 422, response.text
    assert "deep" in response.json()["detail"]
    keyed = raw_post(api, "/api/v1/instances/o1/events", text, **{"Idempotency-Key": "k2"})
    assert keyed.status_code == 422 and "deep" in keyed.json()["detail"]
    bulk = raw_post(api, "/api/v1/bulk/send", f'{{"event": {text}, "all": true}}')
    assert "deep" in refused(bulk, "body.event")
    assert api.engine.get("o1", tenant="acme").version == version


@pytest.mark.parametrize("depth", [65, 600])
@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
def test_a_send_nested_too_deep_is_invalid_request_as_a_start_is(
    api: Api, depth: int, chunked: bool
) -> None:
    """docs/api.md: nesting deeper than 64 levels is `invalid-request`, on the send route
    (whichever way the server reads its body) as on the start and bulk routes."""
    version = started(api)
    deep = "[" * depth + "]" * depth
    text = f'{{"type": "NOTE", "text": {deep}}}'
    response = raw_post(api, "/api/v1/instances/o1/events", text, chunked=chunked)
    assert "nested deeper than 64" in refused(response, "body")
    start = f'{{"definition": "order", "input": {{"amount": 1, "lines": {deep}}}}}'
    assert "nested deeper than 64" in refused(
        raw_post(api, "/api/v1/instances/d1", start), "body.input"
    )
    assert api.engine.get("o1", tenant="acme").version == version


def test_a_start_input_nested_too_deep_is_refused(api: Api) -> None:
    text = f'{{"definition": "order", "input": {{"amount": 1, "lines": {DEEP}}}}}'
    assert "deep" in refused(raw_post(api, "/api/v1/instances/d1", text), "body.input")
    keyed = raw_post(api, "/api/v1/instances/d1", text, **{"Idempotency-Key": "k3"})
    refused(keyed, "body.input")
    assert api.engine.list(tenant="acme") == []


def test_a_body_that_cannot_be_read_as_json_is_invalid_request(api: Api) -> None:
    response = api.client.post(
        "/api/v1/instances/u1",
        content=b'\xff\xfe{"definition": "order"}',
        headers={**api.auth("admin"), "Content-Type": "application/json"},
    )
    assert "UTF-8 JSON" in refused(response, "body")
    assert api.engine.list(tenant="acme") == []


def test_no_route_is_not_found_and_a_wrong_method_names_the_allowed_ones(api: Api) -> None:
    missing = api.client.get("/api/v1/nope", headers=api.auth("viewer"))
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM
    assert missing.json()["type"].endswith(":not-found")
    assert "/api/openapi.json" in missing.json()["detail"]
    wrong = api.client.delete("/api/v1/definitions", headers=api.auth("admin"))
    assert wrong.status_code == 405 and wrong.headers["content-type"] == PROBLEM
    body = wrong.json()
    assert body["type"].endswith(":method-not-allowed")
    assert body["detail"] == "DELETE is not allowed on /api/v1/definitions; it takes GET, HEAD"
    assert wrong.headers["allow"] == "GET, HEAD"


def test_a_status_filter_no_instance_can_have_is_refused_naming_the_values(api: Api) -> None:
    started(api)
    for path in ("/api/v1/instances?status=ACTIVE", "/api/v1/state-counts?runtime_status=x"):
        response = api.client.get(path, headers=api.auth("viewer"))
        assert response.status_code == 422 and response.headers["content-type"] == PROBLEM
        assert response.json()["type"].endswith(":invalid-input")
        assert "is not one of active, " in response.json()["detail"]
    steps = api.client.get("/api/v1/steps?status=bogus", headers=api.auth("viewer"))
    assert steps.status_code == 422 and "pending, running, retrying" in steps.json()["detail"]


@pytest.mark.parametrize("instance_id", [".", ".."])
def test_an_instance_id_that_urls_cannot_carry_is_refused(api: Api, instance_id: str) -> None:
    response = raw_post(api, f"/api/v1/instances/{instance_id}", '{"definition": "order"}')
    if response.status_code == 201:  # the client resolved the dot segment itself
        pytest.fail(f"started {response.json()['id']!r}")
    with pytest.raises(PayloadError, match="read as a path step by HTTP clients"):
        api.engine.start("order", instance_id=instance_id, input={"amount": 1})
    assert api.engine.list(tenant="acme") == [] and api.engine.list() == []


def test_a_replay_to_a_token_that_may_not_read_payloads_withholds_them(api: Api) -> None:
    """The same request under the same key from another token of the tenant is answered
    from the kept response: as that token may see it, not as the first caller saw it."""
    blind = api.engine.create_token(tenant="acme", role="operator", payloads=False)[1]
    start = {"definition": "order", "input": {"amount": 7, "secret": "s3"}}
    event = {"type": "NOTE", "text": "private"}
    for token in (api.tokens["admin"], blind):
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "same"}
        first = api.client.post("/api/v1/instances/w1", json=start, headers=headers)
        headers["Idempotency-Key"] = "again"
        sent = api.client.post("/api/v1/instances/w1/events", json=event, headers=headers)
        assert first.status_code == 201 and sent.status_code == 200
        if token == blind:
            assert first.headers["idempotent-replayed"] == "true"
            assert first.json()["context"] is None and first.json()["payloads_withheld"]
            assert sent.headers["idempotent-replayed"] == "true"
            assert sent.json()["event"] == {"type": "NOTE"}
        else:
            assert first.json()["context"]["amount"] == 7 and sent.json()["event"] == event
    assert api.engine.get("w1", tenant="acme").version == 2


def test_a_problems_instance_is_the_path_as_a_uri_reference(api: Api) -> None:
    response = api.client.get("/api/v1/instances/no%20such%23one", headers=api.auth("viewer"))
    assert response.status_code == 404
    assert response.json()["instance"] == "/api/v1/instances/no%20such%23one"
    keyed = raw_post(
        api, "/api/v1/instances/n%C3%A9/events", '{"type": "NOTE"}', **{"Idempotency-Key": "k"}
    )
    assert (
        keyed.status_code == 404 and keyed.json()["instance"] == "/api/v1/instances/n%C3%A9/events"
    )


def test_a_trailing_slash_is_not_found_naming_the_path_without_it(api: Api) -> None:
    """No redirect: one built from what the server sees would say http:// behind a TLS
    proxy."""
    response = api.client.get(
        "/api/v1/definitions/", headers=api.auth("viewer"), follow_redirects=False
    )
    assert response.status_code == 404 and "location" not in response.headers
    assert "drop the trailing slash (/api/v1/definitions)" in response.json()["detail"]


def test_an_if_match_naming_several_versions_is_refused_not_read_as_its_first(api: Api) -> None:
    version = started(api)
    for if_match in (f'"{version + 5}", "{version}"', f'"{version}", "{version + 5}"'):
        response = api.client.post(
            "/api/v1/instances/o1/events",
            json={"type": "NOTE", "text": "x"},
            headers={**api.auth("admin"), "If-Match": if_match},
        )
        assert response.status_code == 412, response.text
        assert response.json()["title"] == "If-Match names several versions"
    assert api.engine.get("o1", tenant="acme").version == version
