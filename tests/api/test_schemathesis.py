"""schemathesis against the served OpenAPI document: generated requests to every operation
(bounded: STATEWRIGHT_SCHEMATHESIS_EXAMPLES per operation, default 12) get no server error
and no response that breaks the document (status, content type, body schema)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from api_kit import CLAIM, Api, make_api
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from statewright.api import ApiSettings
from statewright.store.records import WorkerRecord

EXAMPLES = int(os.environ.get("STATEWRIGHT_SCHEMATHESIS_EXAMPLES", "12"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,  # the headers the document lists (api/routes/common.py)
]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    folder: Path = tmp_path_factory.mktemp("schemathesis")
    for api in make_api(f"sqlite:///{folder}/api.db", ApiSettings(max_body_bytes=4096, rate=0)):
        api.engine.register(CLAIM)  # typed events: their schemas are in the document too
        now = api.engine.clock.now()
        nightly = {
            "name": "nightly",
            "cron": "0 2 * * *",
            "action": {"start": "order", "tenant": "acme"},
        }
        api.engine.store.register_worker(  # a schedule, so that its list has an item to check
            WorkerRecord(id="w", host="h", pid=1, steps="[]", listeners="[]", started_at=now,
                         heartbeat_at=now, schedules=json.dumps([nightly]))
        )  # fmt: skip
        api.client.post(
            "/api/v1/instances/o1",
            json={"definition": "order", "input": {"amount": 1}},
            headers=api.auth("admin"),
        )
        yield api


@pytest.mark.slow
def test_generated_requests_get_no_server_error_and_match_the_document(served: Api) -> None:
    schema = schemathesis.openapi.from_asgi(
        "/api/openapi.json", served.client.app, headers=served.auth("admin")
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 21  # every route of the document (docs/api.md lists them)
    for operation in operations:
        if operation.path.endswith("/stream"):
            continue  # a live stream never ends: tests/api/test_stream.py covers it

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            case.call_and_validate(headers=served.auth("admin"), checks=CHECKS)

        check()
