"""The service around the API: liveness and readiness (no token: for load balancers and
orchestrators; they say nothing about the data), metrics and the OpenAPI document and its
docs page (a token is needed: OWASP ASVS 13.4.5)."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import logging
from typing import Annotated

from fastapi import APIRouter, Depends
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from statewright.api.auth import Caller, caller_with
from statewright.api.event_schemas import with_event_schemas
from statewright.api.models import HealthOut
from statewright.api.problems import problem_of
from statewright.api.root_path import root_of
from statewright.api.routes.common import engine_of, errors
from statewright.api.scrapers import scraper
from statewright.errors import StatewrightError

log = logging.getLogger("statewright.api")

__all__ = ["DOCS_HEADERS", "router"]

router = APIRouter(tags=["service"])

Viewer = Annotated[Caller, Depends(caller_with("viewer"))]


@router.get("/api/health/live", response_model=HealthOut, summary="Liveness")
async def live() -> HealthOut:
    """200 while the process serves requests."""
    # On the event loop: it does no I/O, and a sync route would cost two hops through
    # the thread pool (the call and the response model's check).
    return HealthOut(status="ok")


@router.get(
    "/api/health/ready",
    response_model=HealthOut,
    responses={503: errors()[503]},
    summary="Readiness",
)
def ready(request: Request) -> HealthOut:
    """200 when the store answers and holds this version's schema; else 503."""
    try:
        engine_of(request).ready()
    except StatewrightError as error:
        log.error("not ready: %s", error)
        problem = problem_of(error)
        problem.status = 503
        raise problem from error
    return HealthOut(status="ok")


@router.get(
    "/api/metrics",
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}},
        **errors(),
    },
    response_class=Response,
    summary="Metrics (Prometheus text)",
)
def metrics(request: Request, caller: Annotated[Caller, Depends(scraper)]) -> Response:
    """The API's metrics in the Prometheus text format (while the store cannot be read, for
    a token that scraped them lately: `scrapers.py`)."""
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )


@router.get("/api/openapi.json", include_in_schema=False)
def openapi(request: Request, caller: Viewer) -> JSONResponse:
    """The OpenAPI document, with the event schemas the stored definitions declare."""
    return JSONResponse(_document(request))


@router.get("/api/docs", include_in_schema=False)
def docs(request: Request, caller: Viewer) -> HTMLResponse:
    """The OpenAPI docs page, its document inline (the page needs no second request).

    Swagger UI comes from `/static/vendor/` (fetched by the package build, served by this
    server, under the root path); the page runs no script but that and its fixed start-up
    script, which the Content-Security-Policy names by hash.
    """
    # A JSON data block: `<` escaped so that no `</script>` or `<!--` in a schema can end it.
    spec = json.dumps(_document(request)).replace("<", "\\u003c")
    root = html.escape(root_of(request.scope))
    page = _DOCS_PAGE.replace("{ROOT}", root).replace("{SPEC}", spec)
    return HTMLResponse(page, headers=DOCS_HEADERS)


def _document(request: Request) -> dict[str, object]:
    """The OpenAPI document; under a root path, its `servers` names it, so that the paths
    (and the docs page's "Try it out") are read under the prefix."""
    document = with_event_schemas(request.app.openapi(), engine_of(request).definitions())
    root = root_of(request.scope)
    if root:
        document["servers"] = [{"url": root}]
    return document


#: Starts Swagger UI on the document in the page: fixed, so that the policy can name its hash.
_START = (
    'SwaggerUIBundle({dom_id: "#ui", validatorUrl: null, '
    'spec: JSON.parse(document.getElementById("openapi").textContent)});'
)
_DOCS_PAGE = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>statewright API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{{ROOT}}/static/vendor/swagger-ui.css">
</head><body><div id="ui"></div>
<script type="application/json" id="openapi">{{SPEC}}</script>
<script src="{{ROOT}}/static/vendor/swagger-ui-bundle.js"></script>
<script>{_START}</script>
</body></html>
"""
_START_HASH = base64.b64encode(hashlib.sha256(_START.encode()).digest()).decode()
#: The docs page's headers: scripts only from this origin and the start-up script above,
#: requests ("Try it out") only to this origin, never framed, never cached. No Trusted Types,
#: unlike the console's pages: Swagger UI sets the descriptions it renders from Markdown
#: through React's innerHTML, which they would refuse.
DOCS_HEADERS = {
    "Content-Security-Policy": (
        f"default-src 'self'; script-src 'self' 'sha256-{_START_HASH}'; "
        "style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
