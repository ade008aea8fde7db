"""Bulk send, cancel and retry over a filter: a dry-run count, each instance its own
transaction, refusals reported per instance with their problem type, per-event roles checked
per instance, an Idempotency-Key that makes a bulk sent again send nothing twice."""

from __future__ import annotations

from api_kit import Api
from shop_kit import fail_once, get, post, register_shop, start


def test_bulk_send_over_a_state_with_a_dry_run_count(api: Api) -> None:
    register_shop(api)
    for name in ("a", "b", "c"):
        start(api, name)
    start(api, "z", tenant_token="other:admin")
    post(api, "/api/v1/instances/c/events", {"type": "REJECT"})
    body = {"event": {"type": "APPROVE", "by": "ops"}, "state": "pending"}
    dry = post(api, "/api/v1/bulk/send", {**body, "dry_run": True})
    counted = dry.json()
    assert (counted["matched"], counted["done"], counted["refused"]) == (2, [], [])
    assert counted["dry_run"] is True and isinstance(counted["as_of"], int)
    assert api.engine.get("a", tenant="acme").version == 1
    response = post(api, "/api/v1/bulk/send", body, **{"Idempotency-Key": "approve-all"})
    assert response.json() == {
        "matched": 2,
        "done": ["a", "b"],
        "refused": [],
        "dry_run": False,
        "changed": [],
        "as_of": None,
        "would_act": None,
        "would_skip": [],
        "guarded": 0,
    }
    history = api.engine.history("a", tenant="acme")
    assert history[-1].event == {"type": "APPROVE", "by": "ops"}
    assert history[-1].idempotency_key == "approve-all/a"
    assert history[-1].actor is not None and history[-1].actor.startswith("operator (token")
    replay = post(api, "/api/v1/bulk/send", body, **{"Idempotency-Key": "approve-all"})
    assert replay.json() == response.json() and replay.headers["idempotent-replayed"] == "true"
    assert api.engine.get("z", tenant="other").value == "pending"


def test_bulk_send_reports_each_refusal_and_checks_event_roles(api: Api) -> None:
    register_shop(api)
    for name in ("a", "b"):
        start(api, name)
    post(api, "/api/v1/instances/b/events", {"type": "APPROVE"})
    response = post(api, "/api/v1/bulk/send", {"event": {"type": "VOID"}, "definition": "shop"})
    body = response.json()
    assert (body["matched"], body["done"]) == (2, [])
    refused = {r["instance_id"]: r for r in body["refused"]}
    assert refused["a"]["type"] == "urn:statewright:problem:not-permitted"
    assert "approver" in refused["a"]["detail"]
    assert refused["b"]["type"] == "urn:statewright:problem:event-not-accepted"
    assert api.engine.get("a", tenant="acme").version == 1
    void = {"event": {"type": "VOID"}, "state": "pending"}
    allowed = post(api, "/api/v1/bulk/send", void, token="approver")
    assert allowed.json()["done"] == ["a"]


def test_bulk_cancel_and_retry(api: Api) -> None:
    register_shop(api)
    for name in ("a", "b", "c"):
        start(api, name)
    post(api, "/api/v1/instances/b/events", {"type": "APPROVE"})
    fail_once(api, "b")
    retried = post(api, "/api/v1/bulk/retry", {"all": True}).json()
    assert retried["matched"] == 3 and retried["done"] == ["b"]
    reasons = {r["instance_id"]: r["reason"] for r in retried["refused"]}
    assert reasons == {"a": "no_waiting_step", "c": "no_waiting_step"}
    (step,) = get(api, "/api/v1/instances/b/steps").json()["items"]
    assert step["next_attempt_at"] <= api.engine.clock.now()
    post(api, "/api/v1/instances/c/events", {"type": "REJECT"})
    cancelled = post(api, "/api/v1/bulk/cancel", {"all": True, "reason": "closing"}).json()
    assert cancelled["done"] == ["a", "b"]
    (finished,) = cancelled["refused"]
    assert finished["instance_id"] == "c"
    assert finished["type"] == "urn:statewright:problem:instance-not-active"
    assert api.engine.history("a", tenant="acme")[-1].event == {
        "type": "xstate.stop",
        "reason": "closing",
    }


def test_bulk_needs_a_filter_an_operator_and_stays_in_the_tenant(api: Api) -> None:
    register_shop(api)
    start(api, "a")
    start(api, "z", tenant_token="other:admin")
    for route in ("send", "cancel", "retry"):
        body = {"event": {"type": "REJECT"}} if route == "send" else {}
        none = post(api, f"/api/v1/bulk/{route}", body)
        assert none.status_code == 422 and '"all": true' in none.json()["detail"]
        viewer = post(api, f"/api/v1/bulk/{route}", {**body, "all": True}, token="viewer")
        assert viewer.status_code == 403
    assert api.engine.get("a", tenant="acme").version == 1
    other = post(api, "/api/v1/bulk/cancel", {"all": True}, token="other:operator").json()
    assert other["done"] == ["z"]
    assert api.engine.get("a", tenant="acme").status == "active"
    no_type = post(api, "/api/v1/bulk/send", {"event": {"by": "x"}, "all": True})
    assert no_type.status_code == 422 and no_type.json()["errors"][0]["field"] == "body.event.type"
