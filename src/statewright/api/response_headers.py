"""The headers every answer of the app carries: `X-Content-Type-Options: nosniff` (a
browser never reads a JSON answer, whose text may echo what a client sent, as another type),
and on the API's answers `Cache-Control: no-store` (they carry a tenant's data: no cache,
shared or the browser's, keeps them). An answer that sets either itself keeps its own (the
live stream's `no-cache`)."""

from __future__ import annotations

from starlette.types import Message, Send

__all__ = ["API_HEADERS", "with_response_headers"]

#: What every answer under /api/ carries, as ASGI header pairs.
API_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store"))
_EVERY = API_HEADERS[:1]


def with_response_headers(send: Send, path: str) -> Send:
    """`send` adding the headers to the answer of a request for `path`."""
    added = API_HEADERS if path.startswith("/api/") else _EVERY

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            present = {name.lower() for name, _ in headers}
            headers += [(name, value) for name, value in added if name not in present]
            message = {**message, "headers": headers}
        await send(message)

    return sending
