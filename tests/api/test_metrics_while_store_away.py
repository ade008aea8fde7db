"""`/api/metrics` while the PostgreSQL store is away: a token that scraped lately still
reads the metrics, which then say `statewright_store_up 0` (so the documented alert on it
can fire); a token never seen there is refused with the store's 503, as every request."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from statewright.api import ApiSettings, create_app, scrapers
from statewright.engine import Engine
from statewright.testing.postgres import TemporaryPostgres

pytestmark = pytest.mark.slow


@pytest.fixture
def served() -> Iterator[tuple[TemporaryPostgres, Engine, TestClient]]:
    with TemporaryPostgres() as server, Engine.open(server.url) as engine:
        engine.store.migrate()
        with TestClient(create_app(engine, ApiSettings(rate=0))) as client:
            yield server, engine, client


def scrape(client: TestClient, secret: str) -> tuple[int, str]:
    answer = client.get("/api/metrics", headers={"Authorization": f"Bearer {secret}"})
    return answer.status_code, answer.text


def test_a_known_scraper_reads_store_up_0_while_the_store_is_away(
    served: tuple[TemporaryPostgres, Engine, TestClient],
) -> None:
    server, engine, client = served
    scraper = engine.create_token(tenant="ops", role="viewer", name="prometheus")[1]
    other = engine.create_token(tenant="ops", role="viewer", name="someone")[1]
    status, text = scrape(client, scraper)
    assert status == 200 and "statewright_store_up 1.0" in text

    server.pause()
    try:
        time.sleep(1.1)  # past the work gauges' cache
        began = time.monotonic()
        status, text = scrape(client, scraper)
        assert status == 200, text
        assert "statewright_store_up 0.0" in text
        assert time.monotonic() - began < 8
        refused, body = scrape(client, other)
        assert refused == 503 and "unavailable" in body
    finally:
        server.resume()


def test_a_scraper_not_seen_for_longer_than_the_grace_is_refused(
    served: tuple[TemporaryPostgres, Engine, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, engine, client = served
    scraper = engine.create_token(tenant="ops", role="viewer", name="prometheus")[1]
    assert scrape(client, scraper)[0] == 200
    monkeypatch.setattr(scrapers, "GRACE_S", 0.0)
    server.pause()
    try:
        assert scrape(client, scraper)[0] == 503
    finally:
        server.resume()
