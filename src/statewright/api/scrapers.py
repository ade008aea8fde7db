"""Who may read the metrics while the store cannot be read.

Every request's token is read from the store (`engine/tokens.py`: nothing caches a token, so
a revocation counts at once). For `/api/metrics` that would make the scrape fail with the
store, and the gauge that says so, `statewright_store_up` 0, could never be read: the alert
on it would never fire. So a token that scraped the metrics is remembered (its secret's
hash, in this process) and, while the store cannot be reached, admitted to the metrics
alone for `GRACE_S` after it last was, as the viewer it was. The metrics hold no instance
data; a token revoked during an outage is refused once the store answers.
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials

from statewright.api.auth import Caller, admit, authorize, bearer, credential_of
from statewright.engine.tokens import Token
from statewright.errors import StoreUnavailable

__all__ = ["GRACE_S", "scraper"]

#: How long after its last scrape a token is admitted to the metrics while the store is away.
GRACE_S = 900.0

_lock = threading.Lock()


def scraper(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """A dependency: the caller of a metrics scrape, a viewer or higher; while the store
    cannot be reached, a token that scraped within `GRACE_S`.

    Raises:
        Problem: as `caller_with("viewer")`.
        StoreUnavailable: the store cannot be reached and the token is not remembered.
    """
    credential = credential_of(request, credentials)
    key = hashlib.sha256(credential.bearer.encode()).digest() if credential.bearer else None
    known = _known(request)
    try:
        caller = authorize(request, credential, "viewer")
    except StoreUnavailable:
        with _lock:
            remembered = known.get(key) if key is not None else None
        if remembered is None or time.monotonic() - remembered[1] > GRACE_S:
            raise
        return admit(request.app.state.limiter, remembered[0], "viewer")
    if key is not None and caller.session is None:
        with _lock:
            known[key] = (caller.token, time.monotonic())
    return caller


def _known(request: Request) -> dict[bytes, tuple[Token, float]]:
    """This app's remembered scrapers (by the hash of their secret)."""
    state = request.app.state
    with _lock:
        known: dict[bytes, tuple[Token, float]] | None = getattr(state, "scrapers", None)
        if known is None:
            known = state.scrapers = {}
    return known
