"""The console's page routes: each answers a page shell rendered from its template, without
reading the store or checking the session (the page's script calls the API, and goes to
`/login?next=...` when that answers 401). Every URL a page names starts with the app's root
path (`serve --root-path`; the templates' `root`, "" at the root of a host name)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from jinja2 import Environment, FileSystemLoader, TemplateNotFound, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

__all__ = ["SECURITY_HEADERS", "render", "root_of", "router"]

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
#: the data is fetched anyway). Trusted Types are required and no policy may be made: no
#: string reaches an HTML or script sink (innerHTML, a script's src, eval, a Worker's URL;
#: the scripts build elements with DOM calls, the statechart's SVG too), so an injected
#: string that tried would be refused by the browser.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'none'; require-trusted-types-for 'script'; trusted-types 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def render(template: str, *, request: Request, active: str = "", **values: object) -> HTMLResponse:
    """The page `template` (under templates/) with `values`, for `request` (whose root path
    its URLs start with); `active` names the nav entry."""
    try:
        page = _TEMPLATES.get_template(template)
    except TemplateNotFound:
        return HTMLResponse(
            f"<!doctype html><title>Not found</title><p>This console has no page {template!r}.",
            status_code=404,
            headers=SECURITY_HEADERS,
        )
    page_text = page.render(active=active, root=root_of(request), **values)
    return HTMLResponse(page_text, headers=SECURITY_HEADERS)


def root_of(request: Request) -> str:
    """The root path the app is served under ("" at the root of a host name): ASGI's
    `root_path`, which `serve --root-path` has uvicorn set."""
    return str(request.scope.get("root_path", "")).rstrip("/")


@router.get("/login")
def login_page(request: Request) -> HTMLResponse:
    """The login form: an API token in, a session cookie out."""
    return render("login.html", request=request)


@router.get("/logout")
def logout_page(request: Request) -> HTMLResponse:
    """Asks, then ends the session (its script calls `DELETE /api/v1/session`)."""
    return render("logout.html", request=request)


@router.get("/")
def instances_page(request: Request) -> HTMLResponse:
    """The instances: filters, counts per state, live rows, bulk actions."""
    return render("instances.html", request=request, active="instances")


@router.get("/instances/{instance_id}")
def instance_page(request: Request, instance_id: str) -> HTMLResponse:
    """One instance (its script reads the id from the URL)."""
    return render("instance.html", request=request, active="instances", instance_id=instance_id)


@router.get("/definitions")
def definitions_page(request: Request) -> HTMLResponse:
    """Every definition."""
    return render("definitions.html", request=request, active="definitions")


@router.get("/definitions/{name}")
def definition_page(request: Request, name: str) -> HTMLResponse:
    """One definition, drawn with its counts."""
    return render("definition.html", request=request, active="definitions", definition=name)


@router.get("/queues")
def queues_page(request: Request) -> HTMLResponse:
    """Timers, steps, outbox dead letters and workers."""
    return render("queues.html", request=request, active="queues")
