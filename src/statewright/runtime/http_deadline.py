"""A total deadline for one HTTP exchange, which httpx's timeouts are not.

httpx bounds each operation: the connect, each write, each read. An endpoint that sends one
byte every few seconds therefore never trips a read timeout, and an exchange with it lasts as
long as the endpoint likes. A webhook delivery holds its outbox message's claim meanwhile,
and once that claim's lease runs out another worker delivers the same message at the same
time; so one delivery must end by a deadline, whatever the endpoint does.

`Cutoff` enforces it with public httpx parts only. Every operation's timeout is the deadline
(which bounds the connect, before there is a socket to cut), and a timer shuts the socket
down when the deadline passes: the blocked read or write (or TLS handshake) then fails at
once, in the thread that waits on it. The socket comes from httpx's `trace` extension as the
connection is made (`connection.connect_tcp.complete`), and the timer keeps a duplicate of
its descriptor: a shutdown acts on the connection, not the descriptor, so it reaches the TLS
socket that later wraps the plain one (and detaches it), and the duplicate, closed only when
the exchange ends, can never name another socket meanwhile. A connection taken from a pool
makes no such event, so the request asks for a fresh one (`Connection: close`): the endpoint
closes it after its answer and no pool keeps it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Mapping
from types import TracebackType

import httpx

__all__ = ["Cutoff"]

#: The trace events that hand over the connection's stream (and so its socket).
_CONNECTED = frozenset(
    {"connection.connect_tcp.complete", "connection.connect_unix_socket.complete"}
)


class Cutoff:
    """One exchange's deadline: `with Cutoff(deadline_s) as cutoff:`, then pass
    `cutoff.timeout` and `cutoff.extensions` to the request; `cutoff.expired` says, after a
    failure, whether the deadline cut the exchange short."""

    def __init__(self, deadline_s: float) -> None:
        self.deadline_s = deadline_s
        self.expired = False
        self._socket: socket.socket | None = None
        self._done = False
        self._lock = threading.Lock()
        self._timer = threading.Timer(deadline_s, self._cut)
        self._timer.daemon = True

    @property
    def timeout(self) -> httpx.Timeout:
        """Each operation's timeout: the deadline (the connect has no socket to cut yet)."""
        return httpx.Timeout(self.deadline_s)

    @property
    def extensions(self) -> dict[str, object]:
        """The request extensions that hand the connection's socket to the timer."""
        return {"trace": self._trace}

    def __enter__(self) -> Cutoff:
        self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._timer.cancel()
        with self._lock:
            self._done = True
            if self._socket is not None:
                self._socket.close()

    def _trace(self, name: str, info: Mapping[str, object]) -> None:
        if name not in _CONNECTED:
            return
        stream = info.get("return_value")
        get_extra_info = getattr(stream, "get_extra_info", None)
        found = get_extra_info("socket") if callable(get_extra_info) else None
        if not isinstance(found, socket.socket):
            return
        with self._lock:
            if self._done:
                return
            if self._socket is not None:
                self._socket.close()  # a retried connect: keep the latest
            self._socket = found.dup()
            if self.expired:
                _shut_down(self._socket)  # connected after the deadline: end it now

    def _cut(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            if self._socket is not None:
                _shut_down(self._socket)


def _shut_down(sock: socket.socket) -> None:
    """Wake whatever waits on `sock`: its reads see the end, its writes fail."""
    with contextlib.suppress(OSError):  # already reset by the peer: nothing waits on it
        sock.shutdown(socket.SHUT_RDWR)
