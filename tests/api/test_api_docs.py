"""Every operation of the OpenAPI document is documented in docs/api.md (method and path)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from api_kit import Api, make_api

API_DOC = Path(__file__).parents[2] / "docs" / "api.md"
DOCUMENTED = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`?\s]*)")


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def test_every_operation_is_in_docs_api_md(tmp_path: Path) -> None:
    for api in make_api(f"sqlite:///{tmp_path / 'docs.db'}"):
        document = api.client.get("/api/openapi.json", headers=api.auth("viewer")).json()
    operations = {
        (method.upper(), _shape(path))
        for path, item in document["paths"].items()
        for method in item
    }
    text = API_DOC.read_text(encoding="utf-8")
    documented = {(m, _shape(p)) for m, p in DOCUMENTED.findall(text)}
    assert operations - documented == set()
    assert len(operations) >= 24


#: The headers the API itself sets on its answers (the HTTP stack's own aside).
API_HEADERS = ("etag", "location", "idempotent-replayed", "retry-after", "www-authenticate")


def _documented(document: dict[str, Any], method: str, path: str, status: int) -> set[str]:
    response = document["paths"][path][method]["responses"][str(status)]
    return {name.lower() for name in response.get("headers", {})}


def test_the_headers_answers_carry_are_in_the_openapi_document(api: Api) -> None:
    document = api.client.get("/api/openapi.json", headers=api.auth("viewer")).json()
    operator = {**api.auth("operator"), "Idempotency-Key": "k-1"}
    start = {"definition": "order", "input": {"amount": 3}}
    answers = [  # (method, path in the document, answer)
        ("post", "/api/v1/instances/{instance_id}",
         api.client.post("/api/v1/instances/o-1", json=start, headers=operator)),
        ("post", "/api/v1/instances/{instance_id}",  # the kept answer, replayed
         api.client.post("/api/v1/instances/o-1", json=start, headers=operator)),
        ("post", "/api/v1/instances",
         api.client.post("/api/v1/instances", json=start, headers=operator)),
        ("get", "/api/v1/instances/{instance_id}",
         api.client.get("/api/v1/instances/o-1", headers=api.auth("viewer"))),
        ("post", "/api/v1/instances/{instance_id}/events",
         api.client.post("/api/v1/instances/o-1/events", json={"type": "NOTE", "text": "hi"},
                         headers=api.auth("operator"))),
        ("post", "/api/v1/instances/{instance_id}/cancel",
         api.client.post("/api/v1/instances/o-1/cancel", json={}, headers=api.auth("operator"))),
        ("get", "/api/v1/instances/{instance_id}",  # no token
         api.client.get("/api/v1/instances/o-1")),
    ]  # fmt: skip
    seen: set[str] = set()
    for method, path, answer in answers:
        sent = {name for name in API_HEADERS if name in answer.headers}
        documented = _documented(document, method, path, answer.status_code)
        assert sent <= documented, (method, path, answer.status_code, sent - documented)
        seen |= sent
    # The answers above carry every one of them but Retry-After (see the next test).
    assert seen == set(API_HEADERS) - {"retry-after"}


def test_every_problem_that_may_ask_to_retry_documents_retry_after(api: Api) -> None:
    document = api.client.get("/api/openapi.json", headers=api.auth("viewer")).json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status in ("429", "503"):
                if status in operation["responses"]:
                    assert "Retry-After" in operation["responses"][status]["headers"], (
                        method,
                        path,
                    )
