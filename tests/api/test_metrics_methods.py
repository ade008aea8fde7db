"""The request metrics' `method` label takes the methods HTTP defines for an API by name and
counts any other a client makes up as "other": a client cannot grow the label set (the
server's memory and every scrape) by sending methods of its own."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from statewright.api import ApiSettings, create_app
from statewright.engine import Engine


def test_a_made_up_method_is_counted_as_other(tmp_path: Path) -> None:
    with Engine.open(f"sqlite:///{tmp_path / 'm.db'}") as engine:
        token = engine.create_token(tenant="t", role="viewer")[1]
        auth = {"Authorization": f"Bearer {token}"}
        with TestClient(create_app(engine, ApiSettings(rate=0))) as client:
            for n in range(30):
                client.request(f"MADEUP{n}", "/api/v1/instances", headers=auth)
            client.request("DELETE", "/api/v1/instances", headers=auth)
            text = client.get("/api/metrics", headers=auth).text

    counted = [line for line in text.splitlines() if line.startswith("statewright_http_requests")]
    assert not [line for line in counted if "MADEUP" in line], counted
    assert any('method="other"' in line and line.endswith(" 30.0") for line in counted), counted
    assert any('method="DELETE"' in line for line in counted), counted
