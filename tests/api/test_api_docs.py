"""Every operation of the OpenAPI document is documented in docs/api.md (method and path)."""

from __future__ import annotations

import ast
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


API_SOURCE = Path(__file__).parents[2] / "src" / "statewright" / "api"


def _problems_made() -> dict[tuple[int, str], bool]:
    """(status, type) of every `Problem(...)` the API's code builds, read from its source,
    and whether it sets a `Retry-After` header."""
    made: dict[tuple[int, str], bool] = {}
    for path in API_SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = getattr(node, "func", None)
            if not isinstance(node, ast.Call) or getattr(name, "id", None) != "Problem":
                continue
            headers = [k.value for k in node.keywords if k.arg == "headers"]
            retry = any(
                isinstance(h, ast.Dict) and "Retry-After" in _constants_of(h.keys) for h in headers
            )
            for status in _constants(node.args[0]):
                for slug in _constants(node.args[1]):
                    key = (int(str(status)), str(slug))
                    made[key] = made.get(key, False) or retry
    return made


def _constants_of(nodes: list[ast.expr | None]) -> set[object]:
    return {value for node in nodes if node is not None for value in _constants(node)}


def _constants(node: ast.expr) -> set[object]:
    """The values an argument may take: a constant, or either side of `a if c else b`."""
    if isinstance(node, ast.Constant):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _constants(node.body) | _constants(node.orelse)
    return set()


def _problems_documented() -> dict[tuple[int, str], bool]:
    """docs/api.md's table of errors: (status, type), and whether its members name the
    `Retry-After` header."""
    row = re.compile(r"^\| (\d{3}) \| (`[a-z-]+`(?:, `[a-z-]+`)*) \|.*\|(.*)\|$", re.MULTILINE)
    return {
        (int(status), slug.strip("`")): "Retry-After" in members
        for status, slugs, members in row.findall(API_DOC.read_text(encoding="utf-8"))
        for slug in slugs.split(", ")
    }


def test_the_problem_types_in_docs_api_md_are_the_ones_the_api_makes() -> None:
    # A `Problem(status, ...)` with a computed status (`app.py`'s catch-all for HTTP errors
    # the API does not expect from its own layers) is left out.
    made = _problems_made()
    documented = _problems_documented()
    assert len(documented) >= 20
    assert documented.keys() - made.keys() == set(), "documented, but never answered"
    assert {slug for _, slug in made} - {slug for _, slug in documented} == set(), (
        "answered by the API, but missing from docs/api.md's table of errors"
    )
    assert made.keys() - documented.keys() == set()


def test_the_errors_table_names_retry_after_where_the_api_sends_it() -> None:
    made, documented = _problems_made(), _problems_documented()
    retried = {key for key, retry in made.items() if retry}
    assert {"rate-limited", "unavailable"} <= {slug for _, slug in retried}
    assert {key for key, retry in documented.items() if retry} == retried
