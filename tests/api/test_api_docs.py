"""Every operation of the OpenAPI document is documented in docs/api.md (method and path)."""

from __future__ import annotations

import re
from pathlib import Path

from api_kit import make_api

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
