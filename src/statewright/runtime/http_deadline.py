"""A total deadline for one HTTP exchange, which httpx's timeouts are not.

httpx bounds each operation: the connect, each write, each read. An endpoint that sends one
byte every few seconds therefore never trips a read timeout, and an exchange with it lasts as
long as the endpoint likes. A webhook delivery holds its outbox message's claim meanwhile,
and once that claim's lease runs out another worker delivers the same message at the same
time; so one delivery must end by a deadline, whatever the endpoint does.

`Cutoff` enforces it with public httpx parts only. Every operation's timeout is the deadline
(which bounds the connect, before there is a socket to cut), and when the deadline passes the
socket is shut down: the blocked read or write (or TLS handshake) then fails at once, in the
thread that waits on it. The deadlines of all exchanges are kept by one thread
(`runtime/deadline_thread.py`), which cuts each at its time; a delivery starts no thread of
its own (a `threading.Timer` each cost about 100 µs of CPU, an eighth of a delivery on a kept
connection), and the thread ends by itself, within a deadline and a second after the last
exchange. The socket comes from httpx's `trace` extension as the connection is made
(`connection.connect_tcp.complete`), and the cutoff keeps a duplicate of its descriptor: a
shutdown acts on the connection, not the descriptor, so it reaches the TLS socket that later
wraps the plain one (and detaches it), and the duplicate, closed only when the exchange ends
or lets the connection go, can never name another socket meanwhile. A deadline that passes
after the `with` block ended cuts nothing: the block's end takes the deadline back, and a cut
the thread had already taken finds the exchange done under the cutoff's lock.

A connection taken from a pool makes no such event. `CutoffBackend` is an httpcore network
backend whose streams hand their socket over themselves: at each read, write or TLS handshake
a stream shows its socket to the exchange's `Cutoff` running in that thread (a context
variable, set while the `with` block runs), so the cutoff knows the socket of a pooled
connection before the first byte of the request goes out on it. A pool made without it (a
client of the caller's) makes no such promise: its requests ask for a fresh connection
(`Connection: close`), which the endpoint closes after its answer and no pool keeps.

A connection cut by the deadline is never used again: the shutdown ends the exchange with an
error, on which httpcore closes the connection. A connection whose exchange ended in time is
let go of before it goes back to the pool (`Cutoff.release`, which `KeepAlivePool` calls as
the answer's body is closed), since another thread's exchange may take it from there at once:
under the cutoff's lock, either the deadline passed first and shut the socket down, which
then reads as closed by the peer (`is_readable`, what the pool checks before it reuses an
idle connection), or the deadline finds no socket to cut. So a deadline passing after the
answer, while the `with` block still runs, cuts no other exchange's kept connection.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterable, Mapping
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any

import httpcore
import httpx

from statewright.runtime.deadline_thread import DeadlineThread

__all__ = ["Cutoff", "CutoffBackend", "running", "stop_idle"]

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
        #: Whether a connection was opened during the exchange (else it took a pooled one).
        self.connected = False
        self._socket: socket.socket | None = None
        self._watched: object = None  # the socket object `_socket` duplicates
        self._token: Token[Cutoff | None] | None = None
        self._done = False
        self._lock = threading.Lock()
        self._handle: object = None  # its entry in `_deadlines` while the block runs

    @property
    def timeout(self) -> httpx.Timeout:
        """Each operation's timeout: the deadline (the connect has no socket to cut yet)."""
        return httpx.Timeout(self.deadline_s)

    @property
    def extensions(self) -> dict[str, object]:
        """The request extensions that hand the connection's socket to the cutoff."""
        return {"trace": self._trace}

    def __enter__(self) -> Cutoff:
        self._token = _running.set(self)
        self._handle = _deadlines.add(self.deadline_s, self._cut)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._handle is not None:
            _deadlines.cancel(self._handle)  # a cut already taken finds `_done` set
            self._handle = None
        if self._token is not None:
            _running.reset(self._token)
            self._token = None
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
        if isinstance(found, socket.socket):
            self.connected = True
            self.watch(found)

    def watch(self, found: socket.socket) -> None:
        """Cut `found` (a connection's socket, plain or TLS) at the deadline: the socket the
        exchange now uses, in place of any it used before (a retried connect)."""
        if found is self._watched or found.fileno() < 0:
            return  # known already, or closed (its use fails at once)
        # A duplicate of the descriptor, as a plain socket (an SSLSocket cannot be `dup`ed):
        # a shutdown of either reaches the one connection.
        duplicate = socket.fromfd(found.fileno(), found.family, found.type, found.proto)
        with self._lock:
            if self._done:
                duplicate.close()
                return
            if self._socket is not None:
                self._socket.close()  # a retried connect: keep the latest
            self._socket, self._watched = duplicate, found
            if self.expired:
                _shut_down(self._socket)  # connected after the deadline: end it now

    def release(self) -> None:
        """Stop watching the connection the exchange used, as it goes back to its pool:
        another exchange may take it at once, and this deadline must not cut that one's
        exchange. A connection used again under this `Cutoff` is watched again."""
        with self._lock:
            if self._socket is not None:
                self._socket.close()
            self._socket = self._watched = None

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


#: The one thread that cuts every exchange at its deadline.
_deadlines = DeadlineThread("statewright-http-deadlines")


def stop_idle() -> None:
    """End the deadlines' thread now if no exchange has a deadline pending (a closing
    worker's webhooks); the next exchange starts it again."""
    _deadlines.stop_idle()


#: The exchange whose `with Cutoff(...)` block runs in this thread, if any.
_running: ContextVar[Cutoff | None] = ContextVar("statewright_cutoff", default=None)


def running() -> Cutoff | None:
    """The `Cutoff` whose `with` block runs in this thread, if any."""
    return _running.get()


def _show(stream: httpcore.NetworkStream) -> None:
    """Show `stream`'s socket to the exchange running in this thread, before it is used."""
    cutoff = _running.get()
    if cutoff is not None:
        found = stream.get_extra_info("socket")
        if isinstance(found, socket.socket):
            cutoff.watch(found)


class _ShownStream(httpcore.NetworkStream):
    """A connection's stream that shows its socket to the running `Cutoff` at each use, so a
    pooled connection (which makes no connect event) is cut at the deadline too."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        _show(self._stream)
        return self._stream.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        _show(self._stream)
        self._stream.write(buffer, timeout)

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        _show(self._stream)  # the handshake can stall too
        return _ShownStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class CutoffBackend(httpcore.NetworkBackend):
    """httpcore's own network backend, whose streams show their socket to the `Cutoff` of
    the exchange that uses them (see the module docstring): give it to a connection pool
    whose connections are kept between exchanges under a deadline."""

    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return self._opened(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        return self._opened(self._backend.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)

    @staticmethod
    def _opened(stream: httpcore.NetworkStream) -> httpcore.NetworkStream:
        cutoff = _running.get()
        if cutoff is not None:
            cutoff.connected = True
        _show(stream)
        return _ShownStream(stream)
