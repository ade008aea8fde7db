"""Console sessions: an API token exchanged for a cookie, the cookie accepted by every route
(the live stream too), CSRF on every state-changing request made with it, logout, and a
revoked token ending its sessions. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import time

import pytest
from api_kit import Api

from statewright.engine.sessions import DEFAULT_SESSION_MS


def login(api: Api, name: str = "operator") -> str:
    """Log in with token `name`; the client keeps the cookie. Returns the CSRF secret."""
    answer = api.client.post("/api/v1/session", json={"token": api.tokens[name]})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["csrf"])


def test_login_sets_a_strict_http_only_cookie_and_answers_who(api: Api) -> None:
    answer = api.client.post("/api/v1/session", json={"token": api.tokens["approver"]})
    assert answer.status_code == 201
    body = answer.json()
    assert body["tenant"] == "acme" and body["role"] == "operator" and body["name"] == "ann"
    assert body["roles"] == ["approver", "operator"] and body["payloads"] is True
    assert len(body["csrf"]) >= 32
    cookie = answer.headers["set-cookie"]
    session_id = cookie.split(";")[0].removeprefix("sw_session=")
    assert len(session_id) >= 43  # 256 random bits
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= flags
    assert "secure" not in flags  # plain http here; https gets Secure (below)
    assert f"max-age={DEFAULT_SESSION_MS // 1000}" in flags
    # Stored as a digest only: neither the id nor the token's secret is kept.
    found = api.engine.store.find_session(hashlib.sha256(session_id.encode()).hexdigest())
    assert found is not None and found.token_prefix == api.tokens["approver"].split("_")[1]
    assert api.engine.store.find_session(session_id) is None
    again = api.client.get("/api/v1/session")
    assert again.status_code == 200 and again.json()["csrf"] == body["csrf"]


def test_login_over_https_marks_the_cookie_secure(api: Api) -> None:
    answer = api.client.post(
        "https://testserver/api/v1/session", json={"token": api.tokens["viewer"]}
    )
    assert answer.status_code == 201
    assert "secure" in {part.strip().lower() for part in answer.headers["set-cookie"].split(";")}


@pytest.mark.parametrize("name", ["bad", "revoked", "malformed"])
def test_login_with_a_token_that_is_not_valid_is_401_and_sets_nothing(api: Api, name: str) -> None:
    token = {
        "bad": api.tokens["operator"][:-4] + "AAAA",
        "revoked": api.tokens["viewer"],
        "malformed": "not-a-token",
    }[name]
    if name == "revoked":
        api.engine.revoke_token(token)
    answer = api.client.post("/api/v1/session", json={"token": token})
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "tokens list" in answer.json()["detail"]
    assert "set-cookie" not in answer.headers
    assert api.client.get("/api/v1/session").status_code == 401


def test_the_cookie_reads_like_the_token_and_only_in_its_tenant(api: Api) -> None:
    api.engine.start("order", input={"amount": 5}, instance_id="mine", tenant="acme")
    api.engine.start("order", input={"amount": 5}, instance_id="theirs", tenant="other")
    login(api, "viewer")
    assert api.client.get("/api/v1/instances/mine").json()["value"] == "pending"
    assert [i["id"] for i in api.client.get("/api/v1/instances").json()["items"]] == ["mine"]
    hidden = api.client.get("/api/v1/instances/theirs")
    assert hidden.status_code == 404
    assert api.client.get("/api/v1/instances/theirs/history").status_code == 404


def test_a_send_with_the_cookie_needs_the_csrf_header(api: Api) -> None:
    api.engine.start("order", input={"amount": 5}, instance_id="o1", tenant="acme")
    csrf = login(api, "operator")
    for headers in ({}, {"X-CSRF-Token": "wrong"}, {"X-CSRF-Token": ""}):
        refused = api.client.post("/api/v1/instances/o1/events", json={"type": "REJECT"},
                                  headers=headers)  # fmt: skip
        assert refused.status_code == 403, refused.text
        problem = refused.json()
        assert problem["type"].endswith("csrf-failed") and "X-CSRF-Token" in problem["detail"]
        assert problem["header"] == "X-CSRF-Token"
    bulk = api.client.post("/api/v1/bulk/cancel", json={"all": True})
    assert bulk.status_code == 403
    started = api.client.post("/api/v1/instances", json={"definition": "order", "input": {}})
    assert started.status_code == 403
    # Nothing was written.
    assert api.engine.get("o1", tenant="acme").version == 1
    assert [i.id for i in api.engine.list(tenant="acme")] == ["o1"]
    sent = api.client.post("/api/v1/instances/o1/events", json={"type": "REJECT"},
                           headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert sent.status_code == 200 and sent.json()["to_value"] == "rejected"


def test_a_malformed_body_with_the_cookie_and_no_csrf_is_still_403(api: Api) -> None:
    login(api, "operator")
    refused = api.client.post("/api/v1/instances/o1/events", json={"no": "type"})
    assert refused.status_code == 403


def test_a_bearer_token_needs_no_csrf_even_beside_a_cookie(api: Api) -> None:
    api.engine.start("order", input={"amount": 5}, instance_id="o1", tenant="acme")
    login(api, "viewer")
    sent = api.client.post("/api/v1/instances/o1/events", json={"type": "REJECT"},
                           headers=api.auth("operator"))  # fmt: skip
    assert sent.status_code == 200
    who = api.client.get("/api/v1/session", headers=api.auth("admin")).json()
    assert who["role"] == "admin" and who["csrf"] is None and who["expires_at"] is None


def test_the_cookie_role_is_the_token_role(api: Api) -> None:
    api.engine.start("order", input={"amount": 5}, instance_id="o1", tenant="acme")
    csrf = login(api, "viewer")
    refused = api.client.post("/api/v1/instances/o1/events", json={"type": "REJECT"},
                              headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert refused.status_code == 403 and refused.json()["required_role"] == "operator"


def test_logout_needs_csrf_then_ends_the_session_and_clears_the_cookie(api: Api) -> None:
    csrf = login(api, "operator")
    session_id = api.client.cookies["sw_session"]
    assert api.client.delete("/api/v1/session").status_code == 403
    assert api.client.get("/api/v1/session").status_code == 200
    ended = api.client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf})
    assert ended.status_code == 204
    assert "max-age=0" in ended.headers["set-cookie"].lower()
    assert api.engine.resolve_session(session_id) is None
    api.client.cookies.set("sw_session", session_id)  # a copy kept by an attacker
    assert api.client.get("/api/v1/session").status_code == 401
    assert api.client.get("/api/v1/instances").status_code == 401


def test_revoking_the_token_ends_its_sessions(api: Api) -> None:
    login(api, "operator")
    session_id = api.client.cookies["sw_session"]
    assert api.client.get("/api/v1/instances").status_code == 200
    api.engine.revoke_token(api.tokens["operator"])
    answer = api.client.get("/api/v1/instances")
    assert answer.status_code == 401 and "/login" in answer.json()["detail"]
    digest = hashlib.sha256(session_id.encode()).hexdigest()
    assert api.engine.store.find_session(digest) is None


def test_an_expired_session_resolves_to_nothing(api: Api) -> None:
    made = api.engine.create_session(api.tokens["viewer"], lifetime_ms=1)
    assert made is not None
    session, session_id = made
    assert session.expires_at == session.created_at + 1
    time.sleep(0.005)  # past its end
    assert api.engine.resolve_session(session_id) is None
    assert api.engine.resolve_session("x" * 43) is None and api.engine.resolve_session("") is None
    assert api.engine.create_session("sw_nope") is None


def test_a_login_posted_by_a_form_of_another_site_is_refused(api: Api) -> None:
    # A cross-site form can send text/plain or form bodies without a preflight; only JSON
    # logs in, so another site cannot log a browser in with its own token.
    body = json.dumps({"token": api.tokens["viewer"]})
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        answer = api.client.post(
            "/api/v1/session", content=body, headers={"Content-Type": content_type}
        )
        assert answer.status_code == 422 and "set-cookie" not in answer.headers
