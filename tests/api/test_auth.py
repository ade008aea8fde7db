"""Tokens on the API: missing, malformed, unknown, wrong or revoked → 401 (one answer for
all); each token sees its tenant only (another tenant's instance is a 404, never a 403);
roles: viewer reads, operator starts and sends, admin sends every event."""

from __future__ import annotations

import pytest
from api_kit import Api

PROBLEM = "application/problem+json"


def start(api: Api, instance_id: str = "o1", token: str = "operator") -> None:
    response = api.client.post(
        f"/api/v1/instances/{instance_id}",
        json={"definition": "order", "input": {"amount": 5}},
        headers=api.auth(token),
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer sw_0123456789ab_" + "A" * 43},
        {"Authorization": "Bearer not-a-token"},
    ],
    ids=["missing", "empty", "basic", "unknown", "malformed"],
)
def test_requests_without_a_valid_token_are_401(api: Api, headers: dict[str, str]) -> None:
    for method, path in [
        ("GET", "/api/v1/instances"),
        ("GET", "/api/v1/definitions"),
        ("POST", "/api/v1/instances/o1/events"),
        ("GET", "/api/metrics"),
        ("GET", "/api/openapi.json"),
        ("GET", "/api/docs"),
    ]:
        response = api.client.request(method, path, headers=headers, json={"type": "X"})
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["content-type"] == PROBLEM
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "tokens create" in response.json()["detail"]


def test_a_wrong_secret_for_a_known_prefix_is_401(api: Api) -> None:
    token = api.tokens["admin"]
    wrong = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    response = api.client.get("/api/v1/instances", headers={"Authorization": f"Bearer {wrong}"})
    assert response.status_code == 401


def test_a_revoked_token_is_refused_at_once(api: Api) -> None:
    assert api.client.get("/api/v1/instances", headers=api.auth("viewer")).status_code == 200
    api.engine.revoke_token(api.tokens["viewer"])
    response = api.client.get("/api/v1/instances", headers=api.auth("viewer"))
    assert response.status_code == 401 and response.json()["status"] == 401


def test_another_tenants_instance_is_404_never_403(api: Api) -> None:
    start(api)
    for token in ("other:viewer", "other:admin"):
        for path in (
            "/api/v1/instances/o1",
            "/api/v1/instances/o1/history",
            "/api/v1/instances/o1/accepted",
        ):
            response = api.client.get(path, headers=api.auth(token))
            assert response.status_code == 404, (token, path)
            assert response.headers["content-type"] == PROBLEM
    sent = api.client.post(
        "/api/v1/instances/o1/events", json={"type": "REJECT"}, headers=api.auth("other:admin")
    )
    assert sent.status_code == 404
    listed = api.client.get("/api/v1/instances", headers=api.auth("other:admin"))
    assert listed.json() == {"items": [], "next_cursor": None, "next": None}
    assert api.engine.get("o1", tenant="acme").version == 1


def test_the_same_id_in_two_tenants_is_two_instances(api: Api) -> None:
    start(api)
    start(api, token="other:operator")
    api.client.post(
        "/api/v1/instances/o1/events", json={"type": "REJECT"}, headers=api.auth("operator")
    )
    assert api.engine.get("o1", tenant="acme").value == "rejected"
    assert api.engine.get("o1", tenant="other").value == "pending"


def test_a_viewer_may_read_but_not_start_or_send(api: Api) -> None:
    start(api)
    refused = [
        api.client.post(
            "/api/v1/instances",
            json={"definition": "order", "input": {"amount": 1}},
            headers=api.auth("viewer"),
        ),
        api.client.post(
            "/api/v1/instances/o1/events", json={"type": "REJECT"}, headers=api.auth("viewer")
        ),
    ]
    for response in refused:
        assert response.status_code == 403
        assert response.json()["required_role"] == "operator"
        assert "--role operator" in response.json()["detail"]
    assert api.client.get("/api/v1/instances/o1", headers=api.auth("viewer")).status_code == 200
    assert api.engine.get("o1", tenant="acme").version == 1
    assert api.engine.list(tenant="acme")[0].id == "o1" and len(api.engine.list(tenant="acme")) == 1


def test_an_event_needing_a_role_the_token_lacks_is_403_and_writes_nothing(api: Api) -> None:
    start(api)
    response = api.client.post(
        "/api/v1/instances/o1/events",
        json={"type": "APPROVE", "by": "bob"},
        headers=api.auth("operator"),
    )
    assert response.status_code == 403
    body = response.json()
    assert body["required_roles"] == ["approver"] and body["event"] == "APPROVE"
    assert api.engine.get("o1", tenant="acme").version == 1
    assert len(api.engine.history("o1", tenant="acme")) == 1


def test_an_event_role_on_the_token_admits_the_event_and_the_actor_is_recorded(api: Api) -> None:
    start(api)
    response = api.client.post(
        "/api/v1/instances/o1/events",
        json={"type": "APPROVE", "by": "ann"},
        headers=api.auth("approver"),
    )
    assert response.status_code == 200, response.text
    (token,) = [t for t in api.engine.tokens(tenant="acme") if t.name == "ann"]
    assert response.json()["actor"] == f"ann (token {token.prefix})"
    assert api.engine.history("o1", tenant="acme")[-1].actor == f"ann (token {token.prefix})"


def test_an_admin_sends_every_event(api: Api) -> None:
    start(api)
    response = api.client.post(
        "/api/v1/instances/o1/events",
        json={"type": "APPROVE", "by": "root"},
        headers=api.auth("admin"),
    )
    assert response.status_code == 200 and response.json()["to_value"] == "approved"


def test_a_token_denied_payloads_reads_no_context_or_event_payload(api: Api) -> None:
    start(api)
    instance = api.client.get("/api/v1/instances/o1", headers=api.auth("no-payloads")).json()
    assert instance["context"] is None and instance["payloads_withheld"] is True
    assert instance["value"] == "pending"
    history = api.client.get("/api/v1/instances/o1/history", headers=api.auth("no-payloads")).json()
    assert history["items"][0]["event"] == {"type": "xstate.init"}
    listed = api.client.get("/api/v1/instances", headers=api.auth("no-payloads")).json()
    assert listed["items"][0]["context"] is None
    full = api.client.get("/api/v1/instances/o1", headers=api.auth("viewer")).json()
    assert full["context"] == {"amount": 5, "approvedBy": None}


@pytest.mark.parametrize(
    ("token", "status"),
    [("unknown", 401), ("revoked", 401), ("viewer", 403)],
)
def test_the_token_is_checked_before_the_body_on_sends_and_starts(
    api: Api, token: str, status: int
) -> None:
    start(api)
    secret = {"unknown": "sw_0123456789ab_" + "A" * 43, "revoked": api.tokens["operator"]}.get(
        token, api.tokens.get(token, "")
    )
    if token == "revoked":
        api.engine.revoke_token(secret)
    for path, body in [
        ("/api/v1/instances/o1/events", {"no": "type"}),
        ("/api/v1/instances/o1/events", {"type": 7}),
        ("/api/v1/instances", {"definition": 1}),
        ("/api/v1/instances/o2", {}),
    ]:
        response = api.client.post(path, json=body, headers={"Authorization": f"Bearer {secret}"})
        assert response.status_code == status, (path, response.text)
        assert response.headers["content-type"] == PROBLEM
    # With a token that may send, the same bodies are refused as malformed.
    response = api.client.post(
        "/api/v1/instances/o1/events", json={"no": "type"}, headers=api.auth("admin")
    )
    assert response.status_code == 422 and response.json()["errors"]
