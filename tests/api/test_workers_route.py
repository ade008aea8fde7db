"""GET /api/v1/workers: the workers heard of recently, live or gone quiet."""

from __future__ import annotations

import json

from api_kit import Api

from statewright.engine.workers import WORKER_GONE_MS, WORKERS_SEEN_MS
from statewright.store.records import WorkerRecord


def _worker(worker_id: str, heartbeat_at: int) -> WorkerRecord:
    return WorkerRecord(
        id=worker_id,
        host="box-1",
        pid=4242,
        steps=json.dumps(["chargeCard"]),
        listeners=json.dumps(["order.*"]),
        started_at=heartbeat_at - 1000,
        heartbeat_at=heartbeat_at,
    )


def test_workers_lists_the_live_and_the_quiet_ones_but_not_the_long_gone(api: Api) -> None:
    now = api.engine.clock.now()
    api.engine.store.register_worker(_worker("w-live", now))
    api.engine.store.register_worker(_worker("w-quiet", now - WORKER_GONE_MS - 5000))
    api.engine.store.register_worker(_worker("w-gone", now - WORKERS_SEEN_MS - 5000))
    assert api.client.get("/api/v1/workers").status_code == 401
    answer = api.client.get("/api/v1/workers", headers=api.auth("viewer"))
    assert answer.status_code == 200
    found = {w["id"]: w for w in answer.json()["items"]}
    assert set(found) == {"w-live", "w-quiet"}
    assert found["w-live"]["alive"] is True and found["w-quiet"]["alive"] is False
    live = found["w-live"]
    assert live["steps"] == ["chargeCard"] and live["listeners"] == ["order.*"]
    assert found["w-live"]["host"] == "box-1" and found["w-live"]["pid"] == 4242
