"""HEAD wherever GET: a HEAD request is answered with the head of the GET answer, without
its body (RFC 9110, 9.3.2: a general-purpose server supports HEAD wherever it supports GET).

Starlette's routes take HEAD wherever they take GET; FastAPI's take only the methods they
name, so each GET route of the API and the console would answer HEAD with 405, and load
balancers and monitors check with HEAD (`HEAD /api/health/live`). `HeadAsGet` is the one
place that answers it, a pure ASGI layer between the metrics and the rest of the app:

- Down, the request goes as a GET (a copy of the scope, its method GET): routing,
  authentication, the rate limit, the route and the error handlers do exactly what they do
  for a GET. The request's own scope keeps HEAD, so the layers outside this one and the
  server see HEAD: uvicorn's access line, and the metrics.
- Up, the response's start goes unchanged (status, Content-Type, Content-Length, ETag,
  Cache-Control, a problem's headers, `Allow`), followed at once by the end of an empty
  body. The app is stopped there: the `send` it was given raises, as a server's `send` does
  when the client has gone, and this layer catches that. So nothing of the body is made,
  and a streamed response never starts its iterator: a HEAD on the live stream gets the
  stream's headers and ends, with no subscription made and no task started.
- Routing records what it matched in the scope (`route`, `endpoint`, `path_params`), for
  the layers outside it; it records it in the copy here, so those keys are copied back to
  the request's scope as the head goes up, and the metrics count a HEAD under its route.

Adding HEAD to each route's methods would not do: FastAPI would list a second operation per
GET in the OpenAPI document, the routes would still make and send their bodies, and the
live stream would still run until the client went away. Static files (`StaticFiles`) take
HEAD themselves; through this layer they answer a GET's head, which is the same.

A failure no handler of the app answers (a bug: the 500 problem) is answered outside this
layer, with its body; the server drops a body sent to a HEAD (uvicorn does).
"""

from __future__ import annotations

import contextlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HeadAsGet"]

#: What routing writes into the scope for the layers outside it (Starlette's router and
#: FastAPI's routes: the endpoint, the path parameters, the route matched).
_ROUTING_KEYS = ("endpoint", "path_params", "route")


class HeadAsGet:
    """ASGI middleware answering HEAD with the head of the app's GET answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        as_get = {**scope, "method": "GET"}

        async def head_only(message: Message) -> None:
            if message["type"] != "http.response.start":  # none comes before it here
                await send(message)
                return
            for key in _ROUTING_KEYS:
                if key in as_get:
                    scope[key] = as_get[key]
            await send(message)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            raise _HeadSent

        with contextlib.suppress(_HeadSent):
            await self.app(as_get, receive, head_only)


class _HeadSent(Exception):
    """The head of a HEAD answer is sent: the app's work on the body stops here."""
