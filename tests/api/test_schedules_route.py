"""GET /api/v1/schedules: the cron schedules of the caller's tenant, the live workers running
each, its last tick and its next."""

from __future__ import annotations

import json

from api_kit import Api

from statewright.engine.workers import WORKER_GONE_MS
from statewright.store.records import WorkerRecord

REMIND = {
    "name": "remind-active",
    "cron": "*/5 * * * *",
    "timezone": "Europe/Riga",
    "description": "Nudge the open orders",
    "action": {
        "event": {"type": "REMIND", "note": "card ending 4242"},
        "where": {"definition": "order", "status": "active"},
        "tenant": "acme",
    },
}
REPORT = {
    "name": "acme-report",
    "cron": "0 2 * * *",
    "action": {"start": "report", "input": {"customer": "Ann"}, "tenant": "acme"},
}
OTHERS = {"name": "others-report", "cron": "@daily", "action": {"start": "report"}}


def _worker(worker_id: str, heartbeat_at: int, *schedules: dict[str, object]) -> WorkerRecord:
    return WorkerRecord(
        id=worker_id,
        host="box-1",
        pid=4242,
        steps="[]",
        listeners="[]",
        started_at=heartbeat_at - 1000,
        heartbeat_at=heartbeat_at,
        schedules=json.dumps(list(schedules)),
    )


def test_a_tenant_sees_its_schedules_with_workers_ticks_and_summary(api: Api) -> None:
    now = api.engine.clock.now()
    api.engine.store.register_worker(_worker("w-live", now, REMIND, REPORT, OTHERS))
    assert api.engine.store.claim_tick("acme-report", now - 60_000, now, 60_000)
    api.engine.store.finish_tick("acme-report", now - 60_000)
    answer = api.client.get("/api/v1/schedules", headers=api.auth("viewer"))
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    found = {s["name"]: s for s in answer.json()["items"]}
    assert list(found) == ["acme-report", "remind-active"]  # by name; not the default tenant's
    remind = found["remind-active"]
    assert remind["summary"] == "send REMIND to order instances in status active"
    assert (remind["cron"], remind["timezone"]) == ("*/5 * * * *", "Europe/Riga")
    assert remind["description"] == "Nudge the open orders" and remind["tenant"] == "acme"
    assert remind["action"] == REMIND["action"]
    assert remind["workers"] == [{"id": "w-live", "host": "box-1", "pid": 4242}]
    assert remind["last_tick"] is None
    assert now < remind["next_tick"] <= now + 5 * 60_000 and remind["next_tick"] % 300_000 == 0
    report = found["acme-report"]
    assert report["summary"] == "start report"
    assert report["last_tick"] == {"at": now - 60_000, "status": "done", "taken_over": False}


def test_another_tenants_token_does_not_see_the_schedules(api: Api) -> None:
    now = api.engine.clock.now()
    api.engine.store.register_worker(_worker("w-live", now, REMIND, REPORT))
    answer = api.client.get("/api/v1/schedules", headers=api.auth("other:admin"))
    assert answer.status_code == 200 and answer.json() == {"items": []}


def test_a_schedule_whose_worker_died_is_run_by_no_live_worker(api: Api) -> None:
    now = api.engine.clock.now()
    api.engine.store.register_worker(_worker("w-dead", now - WORKER_GONE_MS - 5000, REMIND))
    api.engine.store.register_worker(_worker("w-live", now, REPORT))
    found = {
        s["name"]: s
        for s in api.client.get("/api/v1/schedules", headers=api.auth("viewer")).json()["items"]
    }
    assert found["remind-active"]["workers"] == []
    assert found["remind-active"]["last_heard_at"] == now - WORKER_GONE_MS - 5000
    assert [w["id"] for w in found["acme-report"]["workers"]] == ["w-live"]


def test_a_token_without_payloads_sees_an_events_type_and_no_start_input(api: Api) -> None:
    api.engine.store.register_worker(_worker("w", api.engine.clock.now(), REMIND, REPORT))
    answer = api.client.get("/api/v1/schedules", headers=api.auth("no-payloads"))
    found = {s["name"]: s["action"] for s in answer.json()["items"]}
    assert found["remind-active"]["event"] == {"type": "REMIND"}
    assert found["acme-report"] == {"start": "report", "tenant": "acme"}


def test_schedules_need_a_token_and_answer_problems(api: Api) -> None:
    answer = api.client.get("/api/v1/schedules")
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    for role in ("viewer", "operator", "admin"):
        assert api.client.get("/api/v1/schedules", headers=api.auth(role)).status_code == 200
    wrong = api.client.post("/api/v1/schedules", headers=api.auth("admin"))
    assert wrong.status_code == 405 and "GET" in wrong.headers["allow"]


def test_head_answers_as_get_without_a_body(api: Api) -> None:
    api.engine.store.register_worker(_worker("w", api.engine.clock.now(), REMIND))
    got = api.client.get("/api/v1/schedules", headers=api.auth("viewer"))
    head = api.client.head("/api/v1/schedules", headers=api.auth("viewer"))
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]


def test_the_openapi_document_describes_the_answer(api: Api) -> None:
    document = api.client.get("/api/openapi.json", headers=api.auth("viewer")).json()
    operation = document["paths"]["/api/v1/schedules"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/SchedulesOut"}
    item = document["components"]["schemas"]["ScheduleOut"]
    assert {"name", "cron", "timezone", "summary", "workers", "last_tick", "next_tick"} <= set(
        item["properties"]
    )
