"""Serving under a path prefix: `statewright serve --root-path /statewright` behind a proxy
that strips the prefix (nginx: `location /statewright/ { proxy_pass http://127.0.0.1:8000/; }`).

The prefix is ASGI's `root_path`, set by the server (uvicorn's `root_path`): uvicorn puts it
in front of every request's `path`, and Starlette routes on the path without it. What the app
writes for the client to follow (the console's pages and scripts, `Location`, the session
cookie's `Path`, the OpenAPI document's `servers`) starts with the request's `root_path`;
without one, everything is as at the root of a host name.

`X-Forwarded-Prefix` is not read: the prefix is the operator's setting, checked once at
start, never a request header (it would set the cookie's path and every link of the page).
"""

from __future__ import annotations

import re

from starlette.types import Scope

__all__ = ["check_root_path", "root_of", "route_path"]

#: A prefix's segments: URL-safe characters that need no escaping in a path, an HTML
#: attribute or a cookie's `Path` (no `;`, quotes, `%`, `?` or `#`).
_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+")


def check_root_path(text: str) -> str:
    """`text` as a root path: empty (serve at the root), or `/name` or `/a/b`.

    Raises:
        ValueError: a value that is not one, with what is wrong and the fix.
    """
    if text == "":
        return text
    fix = "give a path such as /statewright (or leave the option out to serve at the root)"
    if not text.startswith("/"):
        raise ValueError(f"{text!r} does not start with '/'; {fix}")
    if text.endswith("/"):
        fixed = text.rstrip("/")
        hint = f"give {fixed}" if fixed else "leave the option out to serve at the root"
        raise ValueError(f"{text!r} ends with '/'; {hint}")
    for segment in text[1:].split("/"):
        if segment in ("", ".", ".."):
            raise ValueError(f"{text!r} has an empty, '.' or '..' segment; {fix}")
        if not _SEGMENT.fullmatch(segment):
            raise ValueError(
                f"{text!r} has a character other than letters, digits and '-._~' in "
                f"{segment!r}; {fix}"
            )
    return text


def root_of(scope: Scope) -> str:
    """The prefix the app is served under ("" at the root): the request's `root_path` (the
    server's, or that of a `Mount` the app is served under in another ASGI app). Read in
    the app's own routes, not inside its mounts, which add their paths to it."""
    return str(scope.get("root_path", "")).rstrip("/")


def route_path(scope: Scope) -> str:
    """The request's path without the prefix (what the app routes on)."""
    path: str = scope["path"]
    root = root_of(scope)
    if root and (path == root or path.startswith(root + "/")):
        return path[len(root) :] or "/"
    return path
