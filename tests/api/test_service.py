"""Health (liveness; readiness checks the store), metrics in Prometheus text and the
OpenAPI document and docs page, the last two behind a token."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator

import pytest
from api_kit import Api, make_api


def test_liveness_and_readiness_need_no_token(api: Api) -> None:
    assert api.client.get("/api/health/live").json() == {"status": "ok"}
    assert api.client.get("/api/health/ready").json() == {"status": "ok"}


@pytest.fixture
def sqlite_api(tmp_path: object) -> Iterator[Api]:
    yield from make_api(f"sqlite:///{tmp_path}/api.db")


def test_readiness_is_503_when_the_store_is_not_this_versions(
    sqlite_api: Api, tmp_path: object
) -> None:
    with sqlite3.connect(f"{tmp_path}/api.db") as connection:
        connection.execute(
            "DELETE FROM schema_migrations "
            "WHERE version = (SELECT max(version) FROM schema_migrations)"
        )
    response = sqlite_api.client.get("/api/health/ready")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert "db migrate" in response.json()["detail"]
    assert sqlite_api.client.get("/api/health/live").status_code == 200


def test_metrics_count_requests_by_route_template_and_status(api: Api) -> None:
    api.client.get("/api/v1/instances/nope", headers=api.auth("viewer"))
    api.client.get("/api/v1/instances/nope", headers=api.auth("viewer"))
    api.client.get("/api/v1/definitions", headers=api.auth("viewer"))
    response = api.client.get("/api/metrics", headers=api.auth("viewer"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert (
        'statewright_http_requests_total{method="GET",route="/api/v1/instances/{instance_id}",'
        'status="404"} 2.0' in text
    )
    assert 'route="/api/v1/definitions",status="200"} 1.0' in text
    assert "statewright_http_request_duration_seconds_bucket" in text


def test_the_openapi_document_and_docs_page_need_a_token(api: Api) -> None:
    assert api.client.get("/api/openapi.json").status_code == 401
    assert api.client.get("/api/docs").status_code == 401
    document = api.client.get("/api/openapi.json", headers=api.auth("viewer")).json()
    paths = document["paths"]
    assert {
        "/api/v1/instances",
        "/api/v1/instances/{instance_id}",
        "/api/v1/instances/{instance_id}/events",
        "/api/v1/instances/{instance_id}/history",
        "/api/v1/instances/{instance_id}/accepted",
        "/api/v1/definitions",
        "/api/v1/definitions/{definition_id}",
        "/api/health/live",
        "/api/health/ready",
        "/api/metrics",
    } <= set(paths)
    send = paths["/api/v1/instances/{instance_id}/events"]["post"]
    assert {"409", "412", "403"} <= set(send["responses"])
    assert "application/problem+json" in send["responses"]["409"]["content"]
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    page = api.client.get("/api/docs", headers=api.auth("viewer"))
    assert page.status_code == 200 and "SwaggerUIBundle" in page.text
    assert '"/api/v1/instances/{instance_id}/events"' in page.text


def test_unknown_routes_and_methods_are_problems(api: Api) -> None:
    missing = api.client.get("/v2/nothing", headers=api.auth("viewer"))
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    wrong = api.client.delete("/api/v1/definitions", headers=api.auth("viewer"))
    assert wrong.status_code == 405 and wrong.json()["status"] == 405


def test_readiness_is_503_and_starts_are_refused_once_the_sqlite_file_is_deleted(
    sqlite_api: Api, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A start acknowledged into the deleted file would be lost: none is taken.
    from statewright.store.sqlite import store as sqlite_store

    monkeypatch.setattr(sqlite_store, "FILE_RECHECK_S", 0.0, raising=False)
    sqlite_api.engine.store._file_check_at = 0.0  # type: ignore[attr-defined]
    for suffix in ("", "-wal", "-shm"):
        os.unlink(f"{tmp_path}/api.db{suffix}")
    response = sqlite_api.client.get("/api/health/ready")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    detail = response.json()["detail"]
    # The caller has no token: the cause and the fix, not the path (the log names it).
    assert "SQLite file was deleted" in detail and "restart this process" in detail
    assert str(tmp_path) not in detail
    started = sqlite_api.client.post(
        "/api/v1/instances",
        json={"definition": "order", "input": {"amount": 9}},
        headers=sqlite_api.auth("operator"),
    )
    assert started.status_code == 503, started.text
    assert "was deleted" in started.json()["detail"]
    assert not os.path.exists(f"{tmp_path}/api.db")
