"""Steps (per instance and per tenant, retry now with the engine's refusal reasons), timers,
dead letters and redrive over HTTP."""

from __future__ import annotations

from api_kit import Api
from shop_kit import HOUR, dead_letter, fail_once, get, post, register_shop, start

from statewright.store.records import StepAttemptRecord


def test_steps_are_listed_per_instance_and_per_tenant(api: Api) -> None:
    register_shop(api)
    for name in ("a", "b", "c"):
        start(api, name, amount=7)
        post(api, f"/api/v1/instances/{name}/events", {"type": "APPROVE"})
    start(api, "z", tenant_token="other:admin")
    post(api, "/api/v1/instances/z/events", {"type": "APPROVE"}, token="other:admin")
    (step,) = get(api, "/api/v1/instances/b/steps").json()["items"]
    assert (step["invoke_id"], step["src"], step["status"]) == ("charge", "chargeCard", "pending")
    assert (step["attempts"], step["max_attempts"], step["input"]) == (0, 3, {"amount": 7})
    first = get(api, "/api/v1/steps?limit=2").json()
    assert [s["instance_id"] for s in first["items"]] == ["a", "b"]
    rest = get(api, f"/api/v1/steps?limit=2&cursor={first['next_cursor']}").json()
    assert [s["instance_id"] for s in rest["items"]] == ["c"] and rest["next_cursor"] is None
    assert get(api, "/api/v1/steps?status=running").json()["items"] == []
    withheld = get(api, "/api/v1/instances/b/steps", token="no-payloads").json()["items"][0]
    assert withheld["input"] is None
    assert get(api, "/api/v1/instances/b/steps", token="other:viewer").status_code == 404
    wrong = get(api, f"/api/v1/timers?cursor={first['next_cursor']}")
    assert wrong.status_code == 422 and "another list" in wrong.json()["detail"]


def test_retry_makes_a_waiting_step_due_now(api: Api) -> None:
    register_shop(api)
    start(api, "s1")
    post(api, "/api/v1/instances/s1/events", {"type": "APPROVE"})
    fail_once(api, "s1")
    (waiting,) = get(api, "/api/v1/instances/s1/steps").json()["items"]
    assert (waiting["status"], waiting["last_error"]) == ("retrying", "Timeout: slow")
    assert waiting["next_attempt_at"] > api.engine.clock.now() + HOUR // 2
    viewer = post(api, "/api/v1/instances/s1/steps/charge/retry", token="viewer")
    assert viewer.status_code == 403
    assert (
        get(api, "/api/v1/instances/s1/steps").json()["items"][0]["next_attempt_at"]
        == (waiting["next_attempt_at"])
    )
    response = post(api, "/api/v1/instances/s1/steps/charge/retry", **{"Idempotency-Key": "r-1"})
    assert response.status_code == 200, response.text
    (run,) = response.json()["items"]
    assert run["invoke_id"] == "charge" and run["next_attempt_at"] <= api.engine.clock.now()
    replay = post(api, "/api/v1/instances/s1/steps/charge/retry", **{"Idempotency-Key": "r-1"})
    assert replay.json() == response.json() and replay.headers["idempotent-replayed"] == "true"
    elsewhere = post(api, "/api/v1/instances/s1/steps/charge/retry", token="other:admin")
    assert elsewhere.status_code == 404


def test_failed_step_attempts_are_listed_for_the_history(api: Api) -> None:
    register_shop(api)
    start(api, "s1")
    post(api, "/api/v1/instances/s1/events", {"type": "APPROVE"})
    assert get(api, "/api/v1/instances/s1/step-attempts").json() == {"items": []}
    now = api.engine.clock.now()
    api.engine.store.record_step_attempts(
        [
            StepAttemptRecord(
                tenant="acme",
                instance_id="s1",
                invoke_id="charge",
                started_version=2,
                attempt=n,
                src="chargeCard",
                error_type="Timeout",
                error_message=f"slow {n}",
                started_at=None if n == 2 else now + n,
                ended_at=now + 10 + n,
            )
            for n in (1, 2)
        ]
    )
    items = get(api, "/api/v1/instances/s1/step-attempts").json()["items"]
    assert [(a["attempt"], a["error_message"], a["started_at"]) for a in items] == [
        (1, "slow 1", now + 1),
        (2, "slow 2", None),
    ]
    assert (items[0]["invoke_id"], items[0]["src"], items[0]["started_version"]) == (
        "charge",
        "chargeCard",
        2,
    )
    assert get(api, "/api/v1/instances/s1/step-attempts", token="other:viewer").status_code == 404


def test_a_retry_that_is_refused_is_409_with_the_engines_reason(api: Api) -> None:
    register_shop(api)
    start(api, "s1")
    post(api, "/api/v1/instances/s1/events", {"type": "APPROVE"})

    def refused(invoke_id: str) -> dict[str, object]:
        response = post(api, f"/api/v1/instances/s1/steps/{invoke_id}/retry")
        assert response.status_code == 409, response.text
        body: dict[str, object] = response.json()
        assert body["type"] == "urn:statewright:problem:step-not-retryable"
        assert "nothing was changed" in str(body["detail"])
        return body

    pending = refused("charge")
    assert (pending["reason"], pending["step_status"]) == ("pending", "pending")
    assert "first attempt is due already" in str(pending["detail"])
    missing = refused("chrage")
    assert missing["reason"] == "no_step" and 'did you mean "charge"?' in str(missing["detail"])
    assert missing["invoke_id"] == "chrage"
    (step,) = get(api, "/api/v1/instances/s1/steps").json()["items"]
    assert (step["status"], step["attempts"]) == ("pending", 0)


def test_timers_are_listed_per_instance_and_per_tenant(api: Api) -> None:
    register_shop(api)
    start(api, "a")
    start(api, "b")
    start(api, "z", tenant_token="other:admin")
    (timer,) = get(api, "/api/v1/instances/a/timers").json()["items"]
    assert timer["timer_id"].startswith("xstate.after.48h")
    assert timer["event"] == {"type": timer["timer_id"]}
    assert timer["due_at"] >= api.engine.clock.now() + 47 * HOUR
    first = get(api, "/api/v1/timers?limit=1").json()
    assert [t["instance_id"] for t in first["items"]] == ["a"]
    second = get(api, f"/api/v1/timers?limit=1&cursor={first['next_cursor']}").json()
    assert [t["instance_id"] for t in second["items"]] == ["b"] and second["next_cursor"] is None
    assert [
        t["instance_id"] for t in get(api, "/api/v1/timers", "other:viewer").json()["items"]
    ] == ["z"]
    assert get(api, "/api/v1/instances/z/timers").status_code == 404


def test_dead_letters_are_listed_and_redriven(api: Api) -> None:
    register_shop(api)
    start(api, "s1")
    post(api, "/api/v1/instances/s1/events", {"type": "APPROVE"})
    message_id = dead_letter(api, "s1")
    (letter,) = get(api, "/api/v1/dead-letters").json()["items"]
    assert (letter["message_id"], letter["instance_id"]) == (message_id, "s1")
    assert (letter["event"], letter["last_error"]) == ({"type": "shop.shipped"}, "listener: boom")
    assert get(api, "/api/v1/dead-letters?event_type=other").json()["items"] == []
    assert get(api, "/api/v1/dead-letters", token="other:viewer").json()["items"] == []

    nothing = post(api, "/api/v1/dead-letters/redrive", {})
    assert nothing.status_code == 422 and '"all": true' in nothing.json()["detail"]
    viewer = post(api, "/api/v1/dead-letters/redrive", {"all": True}, token="viewer")
    assert viewer.status_code == 403
    elsewhere = post(api, "/api/v1/dead-letters/redrive", {"message_id": message_id}, "other:admin")
    assert elsewhere.status_code == 404
    dry = post(api, "/api/v1/dead-letters/redrive", {"event_type": "shop.shipped", "dry_run": True})
    assert dry.json()["matched"] == 1 and dry.json()["redriven"] == 0
    assert dry.json()["dry_run"] is True
    assert len(get(api, "/api/v1/dead-letters").json()["items"]) == 1
    done = post(
        api, "/api/v1/dead-letters/redrive", {"message_id": message_id}, **{"Idempotency-Key": "d1"}
    )
    assert done.json() == {"redriven": 1, "matched": 1, "dry_run": False, "as_of": None}
    replay = post(
        api, "/api/v1/dead-letters/redrive", {"message_id": message_id}, **{"Idempotency-Key": "d1"}
    )
    assert replay.json() == done.json() and replay.headers["idempotent-replayed"] == "true"
    assert get(api, "/api/v1/dead-letters").json()["items"] == []
    gone = post(api, "/api/v1/dead-letters/redrive", {"message_id": message_id})
    assert gone.status_code == 404 and "is pending, not dead" in gone.json()["detail"]
    assert post(api, "/api/v1/dead-letters/redrive", {"all": True}).json()["redriven"] == 0


def test_the_pending_outbox_is_listed_until_delivered(api: Api) -> None:
    register_shop(api)
    start(api, "s1")
    post(api, "/api/v1/instances/s1/events", {"type": "APPROVE"})
    assert get(api, "/api/v1/outbox").json() == {"items": [], "next_cursor": None}
    now = api.engine.clock.now()
    (run,) = api.engine.store.claim_steps(now, 60_000, 10)
    api.engine.finish_step(run, output={"ok": True})
    (pending,) = get(api, "/api/v1/outbox").json()["items"]
    assert (pending["instance_id"], pending["event"]) == ("s1", {"type": "shop.shipped"})
    assert pending["attempts"] == 0 and pending["last_error"] is None
    assert get(api, "/api/v1/outbox", token="other:viewer").json()["items"] == []
    (message,) = api.engine.store.due_outbox(api.engine.clock.now() + 1, 10)
    api.engine.store.outbox_failed(
        message, error="listener: boom", next_attempt_at=now + 5000, dead=False
    )
    (retried,) = get(api, "/api/v1/outbox").json()["items"]
    assert retried["attempts"] == 1 and retried["last_error"] == "listener: boom"
    assert retried["next_attempt_at"] == now + 5000
    (again,) = api.engine.store.due_outbox(now + 5001, 10)
    assert api.engine.store.outbox_delivered(again, now + 5001)
    assert get(api, "/api/v1/outbox").json()["items"] == []
    assert get(api, "/api/v1/outbox?cursor=nope").status_code == 422
