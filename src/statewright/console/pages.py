"""The console's page routes: each answers a page shell rendered from its template, without
reading the store or checking the session (the page's script calls the API, and goes to
`/login?next=...` when that answers 401)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from jinja2 import Environment, FileSystemLoader, TemplateNotFound, select_autoescape
from starlette.responses import HTMLResponse

__all__ = ["SECURITY_HEADERS", "render", "router"]

router = APIRouter(include_in_schema=False)
_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    auto_reload=False,
)
#: What every page answers with: nothing but this origin's scripts, style sheets, images
#: and API calls (no inline script or style: scripts style elements through the CSSOM, and
#: the drawing's SVG carries classes), no plug-ins, no <base>, no form sent by the browser
#: itself (every form's script sends it), never framed, never cached (the shells are small;
#: the data is fetched anyway).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def render(template: str, *, active: str = "", **values: object) -> HTMLResponse:
    """The page `template` (under templates/) with `values`; `active` names the nav entry."""
    try:
        page = _TEMPLATES.get_template(template)
    except TemplateNotFound:
        return HTMLResponse(
            f"<!doctype html><title>Not found</title><p>This console has no page {template!r}.",
            status_code=404,
            headers=SECURITY_HEADERS,
        )
    return HTMLResponse(page.render(active=active, **values), headers=SECURITY_HEADERS)


@router.get("/login")
def login_page() -> HTMLResponse:
    """The login form: an API token in, a session cookie out."""
    return render("login.html")


@router.get("/logout")
def logout_page() -> HTMLResponse:
    """Asks, then ends the session (its script calls `DELETE /api/v1/session`)."""
    return render("logout.html")


@router.get("/")
def instances_page() -> HTMLResponse:
    """The instances: filters, counts per state, live rows, bulk actions."""
    return render("instances.html", active="instances")


@router.get("/instances/{instance_id}")
def instance_page(instance_id: str) -> HTMLResponse:
    """One instance (its script reads the id from the URL)."""
    return render("instance.html", active="instances", instance_id=instance_id)


@router.get("/definitions")
def definitions_page() -> HTMLResponse:
    """Every definition."""
    return render("definitions.html", active="definitions")


@router.get("/definitions/{name}")
def definition_page(name: str) -> HTMLResponse:
    """One definition, drawn with its counts."""
    return render("definition.html", active="definitions", definition=name)


@router.get("/queues")
def queues_page() -> HTMLResponse:
    """Timers, steps, outbox dead letters and workers."""
    return render("queues.html", active="queues")
