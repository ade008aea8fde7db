"""`serve`'s HTTP protocol: uvicorn's own (httptools, else h11), its writes to a connection
made in one turn of the event loop sent together.

uvicorn writes a response in two parts, its head when the app starts it and its body when
the app sends it, and each write to a socket is a system call (and, on the other side, a
wake-up of the client for a half response). Most of the API's answers (a send's, an
error's) are started and completed in the same turn of the event loop: here the parts are
held until the end of that turn and written with one call. Nothing waits longer: a
streamed response's parts (the live stream) are written at the end of the turn that made
each, and a close writes what is held first.

Its access lines go through `access_log.AccessLogger` (the same text, made without a log
record while the access logger is configured as `serve` configures it).

A connection closed while its request is still coming (a body refused with 413 before it was
read, a head refused with 431, `Connection: close` or HTTP/1.0 after such an answer) is not
closed at once: its writing side is shut, and what still comes is read and dropped for up to
`LINGER_S` seconds (until the peer closes), as nginx's `lingering_close` does. Closing with
unread bytes would reset the connection, and a peer still sending (a reverse proxy passing
the body on) would lose the answer: nginx answers such a 413 with 502.

A request's head (its request line and headers) may be at most `MAX_HEAD_BYTES` long: a
longer one is answered 431 and the connection closed. uvicorn's h11 protocol has such a
bound (16 KiB); its httptools protocol has none, and would hold a head of any size in
memory, so a client could make the server hold gigabytes with a few connections.

Selected with uvicorn's `http="statewright.api.http_protocol:Protocol"` (an import string,
so that every `serve --workers` process loads it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from statewright.api.access_log import AccessLogger
from statewright.api.protocol_sends import ShortSend, short_way_app, take

__all__ = ["HTTP_PROTOCOL", "LINGER_S", "MAX_HEAD_BYTES", "CoalescedWrites", "Protocol"]

#: uvicorn's `http` setting that selects `Protocol`.
HTTP_PROTOCOL = f"{__name__}:Protocol"
#: The longest request head (request line and headers, in bytes) a connection reads.
MAX_HEAD_BYTES = 64 * 1024
#: The longest a closed connection whose request is still coming reads and drops it.
LINGER_S = 5.0

_Base: Any = AutoHTTPProtocol
#: Whether the protocol parses with httptools, whose heads `Protocol` bounds itself (h11
#: bounds them on its own).
_COUNTS_HEADS = hasattr(_Base, "on_headers_complete")
_TOO_LARGE = "Request header fields too large."


class Protocol(_Base):  # type: ignore[misc]
    """uvicorn's HTTP protocol on a connection whose writes of one turn go out together, its
    access lines logged through `AccessLogger`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.access_logger: Any = AccessLogger(logging.getLogger("uvicorn.access"))
        self._short_way = short_way_app(self)
        self._short: ShortSend | None = None  # the send whose body is being read
        # The bytes read since the last head ended, while a head is being read.
        self._head_bytes = 0
        self._in_head = True
        self._heads = 0  # how many heads have ended on the connection

    def data_received(self, data: bytes) -> None:
        """uvicorn's, unless the head being read grows past `MAX_HEAD_BYTES`: then 431.

        One read may hold a head and its body (a proxy writes both at once): the bytes
        past the bound are parsed only once the bytes within it have ended the head."""
        if self.transport.lingering:
            return  # answered and closing: what still comes is dropped
        if _COUNTS_HEADS and self._in_head:
            room = MAX_HEAD_BYTES - self._head_bytes
            if len(data) > room:
                heads = self._heads
                self._head_bytes = MAX_HEAD_BYTES
                super().data_received(data[:room])
                if self.transport.is_closing():  # refused by uvicorn (a parse error)
                    return
                if self._heads == heads:  # the head did not end within the bound
                    self.logger.warning(_TOO_LARGE)
                    self._refuse_head()
                    return
                self.data_received(data[room:])
                return
            self._head_bytes += len(data)
        super().data_received(data)

    def on_headers_complete(self) -> None:
        """uvicorn's; the body (if any) is not counted as head."""
        self._in_head = False
        self._head_bytes = 0
        self._heads += 1
        super().on_headers_complete()

    def _refuse_head(self) -> None:
        """Answer 431 and close, as uvicorn answers a request it cannot parse (400)."""
        content = [b"HTTP/1.1 431 Request Header Fields Too Large\r\n"]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: text/plain; charset=utf-8\r\n",
                b"content-length: %d\r\n" % len(_TOO_LARGE),
                b"connection: close\r\n",
                b"\r\n",
                _TOO_LARGE.encode("ascii"),
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()

    def _start_asgi_task(self, cycle: Any, app: Any) -> None:
        """uvicorn's, unless the request is a send the protocol answers itself (httptools
        only: `protocol_sends.py`)."""
        api = self._short_way
        if (
            api is not None
            and app is self.app
            and cycle is self.cycle
            and cycle.more_body
            and not self.pipeline
        ):
            self._short = take(api, self, cycle)
            if self._short is not None:
                return
        super()._start_asgi_task(cycle, app)

    def start_task(self, cycle: Any, app: Any) -> None:
        """Run `app` on the request of `cycle` as uvicorn does."""
        super()._start_asgi_task(cycle, app)

    def on_message_complete(self) -> None:
        """uvicorn's; then a send answered here is queued."""
        super().on_message_complete()
        self._in_head = True  # the next request's head, on a kept-alive connection
        short, self._short = self._short, None
        if short is not None:
            short.body_complete()

    def connection_made(self, transport: asyncio.Transport) -> None:
        """uvicorn's, on the connection's transport wrapped in `CoalescedWrites`."""
        super().connection_made(transport)
        self.transport: Any = CoalescedWrites(
            transport, asyncio.get_running_loop(), self._request_coming
        )

    def _request_coming(self) -> bool:
        """Whether the peer is still sending the request being answered: a head refused
        while it was read, or a body not read to its end."""
        cycle = self.cycle
        return (self._in_head and self._head_bytes > 0) or (
            cycle is not None and bool(getattr(cycle, "more_body", False))
        )

    def handle_websocket_upgrade(self, *args: Any) -> None:
        """uvicorn's, handing the WebSocket protocol the connection's own transport."""
        if isinstance(self.transport, CoalescedWrites):
            self.transport = self.transport.unwrapped()
        super().handle_websocket_upgrade(*args)


class CoalescedWrites:
    """A transport whose writes of one event-loop turn are sent with one write, at the end
    of the turn; everything else is the wrapped transport's."""

    __slots__ = ("_coming", "_held", "_loop", "_transport", "lingering")

    def __init__(
        self,
        transport: asyncio.Transport,
        loop: asyncio.AbstractEventLoop,
        coming: Callable[[], bool] = lambda: False,
    ) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[Any] | None = None
        self._coming = coming
        #: Closed by the server while the peer was still sending: what comes is dropped.
        self.lingering = False

    def write(self, data: Any) -> None:
        """Hold `data` until the end of this turn of the event loop."""
        if self._held is None:
            self._held = [data]
            self._loop.call_soon(self._send)
        else:
            self._held.append(data)

    def write_now(self, data: bytes) -> None:
        """Write what is held and `data` at once."""
        held, self._held = self._held, None
        if held:
            data = b"".join([*held, data])
        if not self._transport.is_closing():
            self._transport.write(data)

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def _send(self) -> None:
        held, self._held = self._held, None
        if held and not self._transport.is_closing():
            self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def close(self) -> None:
        """Write what is held, then close; if the peer is still sending its request, shut
        the writing side and close once it stops, or after `LINGER_S` seconds."""
        self._send()
        if self.lingering:
            return
        if self._coming() and self._transport.can_write_eof():
            self.lingering = True
            self._transport.write_eof()
            self._transport.resume_reading()
            self._loop.call_later(LINGER_S, self._transport.close)
            return
        self._transport.close()

    def is_closing(self) -> bool:
        return self.lingering or self._transport.is_closing()

    def write_eof(self) -> None:
        """Write what is held, then end the writing side."""
        self._send()
        self._transport.write_eof()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def unwrapped(self) -> asyncio.Transport:
        """The wrapped transport, what is held written to it first."""
        self._send()
        return self._transport

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
