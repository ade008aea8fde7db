"""The web console: page shells (Jinja2 templates holding no data) and static files, served
beside the HTTP API by `statewright serve`. Every datum a page shows comes from the page's
own JavaScript calling `/api/v1/...` with the session cookie (see docs/console.md).

    app = create_app(engine)       # mounts the console: mount_console(app)
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from statewright.console.pages import router

__all__ = ["STATIC", "VENDOR", "mount_console", "mount_vendor"]

#: The static files: css/, js/, and vendor/ (written by the package build, not committed).
STATIC = Path(__file__).parent / "static"
#: The third-party browser code (elkjs, swagger-ui-dist) and its licences: see setup.py.
VENDOR = STATIC / "vendor"


def mount_console(app: FastAPI) -> None:
    """Serve the console's pages under `/` and its static files under `/static/`."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")


def mount_vendor(app: FastAPI) -> None:
    """Serve only `/static/vendor/` (for the API's docs page when the console is not served)."""
    app.mount("/static/vendor", StaticFiles(directory=VENDOR, check_dir=False), name="vendor")
