"""A request FastAPI cannot read into its route's parameters is a 422 `invalid-request` whose
`detail` names the offending thing in words and a fix that fits where it is: the parser's
reason and position for a body that is not JSON, the content type received for a body not
sent as JSON, the parameter to fix for a query or path parameter."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from api_kit import Api, uvicorn_on_a_free_port
from fastapi.exceptions import RequestValidationError

from statewright.api import ApiSettings, create_app
from statewright.api.http_protocol import Protocol
from statewright.api.invalid_requests import invalid_request, is_json_type

PROBLEM = "application/problem+json"
EVENTS = "/api/v1/instances/o1/events"
BODY_FIX = "send JSON (Content-Type: application/json) of the documented shape"
TYPE_FIX = "send Content-Type: application/json with a JSON object of the documented shape"


def started(api: Api) -> None:
    response = api.client.post(
        "/api/v1/instances/o1",
        json={"definition": "order", "input": {"amount": 1}},
        headers=api.auth("admin"),
    )
    assert response.status_code == 201, response.text


def refused(response: Any) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["type"] == "urn:statewright:problem:invalid-request"
    return body


def post(api: Api, content: bytes, content_type: str | None) -> Any:
    headers = api.auth("operator")
    if content_type is not None:
        headers["Content-Type"] = content_type
    return api.client.post(EVENTS, content=content, headers=headers)


def test_a_body_that_is_not_json_is_named_with_the_parsers_reason_and_position(
    api: Api,
) -> None:
    started(api)
    body = refused(post(api, b'{"type": "APPROVE", by: ann}', "application/json"))
    reason = "Expecting property name enclosed in double quotes"
    assert body["detail"] == (
        f"the body is not JSON: {reason} at line 1, column 21 (character 20); "
        "send a JSON object of the documented shape"
    )
    assert body["errors"] == [
        {"field": "body", "message": f"not JSON: {reason} at line 1, column 21 (character 20)"}
    ]
    later = refused(post(api, b'{"type": "NOTE",\n  "text": }', "application/json"))
    assert "Expecting value at line 2, column 11 (character 27)" in later["detail"]
    assert api.engine.get("o1", tenant="acme").version == 1


def test_a_query_parameter_error_names_the_parameter_not_the_advice_for_bodies(
    api: Api,
) -> None:
    body = refused(api.client.get("/api/v1/instances?limit=0", headers=api.auth("viewer")))
    assert body["detail"] == (
        "query.limit: Input should be greater than or equal to 1; fix the query parameter limit"
    )
    assert body["errors"] == [
        {"field": "query.limit", "message": "Input should be greater than or equal to 1"}
    ]
    both = refused(
        api.client.get(f"/api/v1/instances?limit=0&after={'x' * 201}", headers=api.auth("viewer"))
    )
    assert "send JSON" not in both["detail"]
    assert both["detail"].endswith("; fix the query parameters after, limit")


def test_a_path_parameter_error_names_the_parameter(api: Api) -> None:
    response = api.client.post(
        f"/api/v1/instances/{'i' * 201}",
        json={"definition": "order"},
        headers=api.auth("operator"),
    )
    detail = refused(response)["detail"]
    assert detail == (
        "path.instance_id: String should have at most 200 characters; "
        "fix the path parameter instance_id"
    )


def test_a_body_of_the_wrong_shape_keeps_the_advice_for_bodies(api: Api) -> None:
    started(api)
    response = api.client.post(EVENTS, json={"text": "no type"}, headers=api.auth("operator"))
    assert refused(response)["detail"] == f"body.type: Field required; {BODY_FIX}"


@pytest.mark.parametrize(
    ("content_type", "sent"),
    [
        (
            "application/x-www-form-urlencoded",
            "with Content-Type: application/x-www-form-urlencoded",
        ),
        ("text/plain; charset=utf-8", "with Content-Type: text/plain"),
        (None, "without a Content-Type"),
    ],
    ids=["form", "text", "none"],
)
def test_a_body_not_sent_as_json_names_the_content_type_and_the_fix(
    api: Api, content_type: str | None, sent: str
) -> None:
    started(api)
    body = refused(post(api, b'{"type": "NOTE", "text": "x"}', content_type))
    assert body["detail"] == f"the body was sent {sent}, and is read only as JSON; {TYPE_FIX}"
    assert body["errors"] == [{"field": "body", "message": f"sent {sent}, not as JSON"}]
    assert api.engine.get("o1", tenant="acme").version == 1
    start = api.client.post(
        "/api/v1/instances/o2",
        content=b'{"definition": "order"}',
        headers=api.auth("operator") | ({"Content-Type": content_type} if content_type else {}),
    )
    assert refused(start)["detail"].endswith(TYPE_FIX)
    assert [one.id for one in api.engine.list(tenant="acme")] == ["o1"]


def test_an_empty_body_without_a_content_type_is_a_missing_body(api: Api) -> None:
    started(api)
    assert refused(post(api, b"", None))["detail"] == f"body: Field required; {BODY_FIX}"


def _raw(port: int, content_type: str, body: bytes, token: str) -> tuple[int, dict[str, Any]]:
    """A send over a real socket; its status and problem."""
    head = (
        f"POST {EVENTS} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode() + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), json.loads(rest.partition(b"\r\n\r\n")[2])


@pytest.mark.slow
def test_serve_answers_a_form_or_malformed_send_as_the_app_does(api: Api) -> None:
    """`serve`'s short ways (its HTTP protocol's, then `fast_send`'s) take only JSON they
    can read, and leave the rest to the route: the same problem as through the app."""
    started(api)
    app = create_app(api.engine, ApiSettings(max_body_bytes=4096, rate=0))
    cases = [
        ("application/x-www-form-urlencoded", b'{"type": "NOTE"}'),
        ("text/plain", b'{"type": "NOTE"}'),
        ("application/json", b'{"type": "APPROVE", by: ann}'),
    ]
    with uvicorn_on_a_free_port(app, Protocol) as port:
        for content_type, content in cases:
            status, served = _raw(port, content_type, content, api.tokens["operator"])
            direct = refused(post(api, content, content_type))
            assert (status, served) == (422, direct), content_type
    assert api.engine.get("o1", tenant="acme").version == 1


def test_the_problem_of_each_kind_of_field() -> None:
    header = RequestValidationError(
        [{"type": "missing", "loc": ("header", "X-Thing"), "msg": "Field required"}]
    )
    assert invalid_request(header, None).detail == (
        "header.X-Thing: Field required; fix the header X-Thing"
    )
    mixed = RequestValidationError(
        [
            {"type": "missing", "loc": ("body", "type"), "msg": "Field required"},
            {"type": "greater_than_equal", "loc": ("query", "limit"), "msg": "too small"},
        ],
        body={"text": "x"},
    )
    assert invalid_request(mixed, "application/json").detail == (
        f"body.type: Field required; query.limit: too small; {BODY_FIX}; "
        "fix the query parameter limit"
    )
    # A query error beside a body not sent as JSON: both named, each with its fix.
    both = RequestValidationError(mixed.errors(), body=b"type=NOTE")
    problem = invalid_request(both, "application/x-www-form-urlencoded")
    assert problem.detail == (
        "the body was sent with Content-Type: application/x-www-form-urlencoded, and is read "
        f"only as JSON; query.limit: too small; {TYPE_FIX}; fix the query parameter limit"
    )


def test_which_content_types_are_read_as_json() -> None:
    assert is_json_type("application/json")
    assert is_json_type("Application/JSON; charset=utf-8")
    assert is_json_type("application/merge-patch+json")
    assert not is_json_type(None)
    assert not is_json_type("text/json")
    assert not is_json_type("application/x-www-form-urlencoded")
