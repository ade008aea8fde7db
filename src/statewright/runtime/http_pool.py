"""Kept-alive connections for webhook deliveries, under each delivery's total deadline.

`KeepAlivePool` is an httpx transport over httpcore's connection pool, made with
`CutoffBackend` (`runtime/http_deadline.py`), whose connections show their socket to the
deadline of the exchange using them: a pooled connection is cut at the deadline like a fresh
one. Between exchanges a connection is idle in the pool; httpcore reuses an idle connection
only while the endpoint has not closed it (its socket does not read as closed) and it has not
been idle longer than `keepalive_s`, and closes a connection whose exchange ended in an
error or whose answer's body was not read to its end. So a connection that a deadline cut,
that failed, or that carries an unread answer is never used again.

httpcore closes an expired idle connection only when the pool is next used, which could be
hours later. A sweeper thread, running while the pool holds connections, closes each one
that has been idle past `keepalive_s` within half of `keepalive_s` after; `close` closes them
all at once (the worker does, when it closes and when its `run` ends). The pool is safe to
share between threads: httpcore's pool hands each connection to one exchange at a time under
its lock, and a connection closed by the sweeper just as another thread was given it is
replaced by the pool (httpcore's `ConnectionNotAvailable`), never failed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpcore
import httpx

from statewright.runtime.http_deadline import CutoffBackend, running

__all__ = ["KeepAlivePool"]

#: httpcore's errors and the httpx errors they are raised as, the most specific first (as
#: httpx's own transport maps them), so that a caller catches httpx's alone.
_ERRORS: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as error:
        for theirs, ours in _ERRORS:
            if isinstance(error, theirs):
                raise ours(str(error)) from error
        raise


class _Body(httpx.SyncByteStream):
    """An answer's body as httpcore streams it, its errors raised as httpx's. Closing it
    gives the connection back to the pool (or closes it), once the exchange's deadline has
    let go of it."""

    def __init__(self, response: httpcore.Response) -> None:
        self._response = response
        self._cutoff = running()

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx_errors():
            yield from self._response.iter_stream()

    def close(self) -> None:
        # First let the deadline go of the connection: given back to the pool, it may carry
        # another thread's exchange at once, which this deadline, passing now, must not cut.
        # The cut takes the same lock: one that came first shut the socket down, which the
        # pool then finds closed and does not reuse.
        if self._cutoff is not None:
            self._cutoff.release()
        self._response.close()  # an unread body: httpcore closes its connection


class KeepAlivePool(httpx.BaseTransport):
    """An httpx transport whose connections stay open for `keepalive_s` seconds after an
    exchange, for the next one, and are cut at the deadline of the `Cutoff` running in the
    thread that uses them. Certificates as httpx's default (`SSL_CERT_FILE`, `SSL_CERT_DIR`),
    no proxy."""

    def __init__(self, keepalive_s: float) -> None:
        self.keepalive_s = keepalive_s
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            keepalive_expiry=keepalive_s,
            network_backend=CutoffBackend(),
        )
        self._lock = threading.Lock()
        self._sweeper: threading.Thread | None = None  # while the pool holds connections
        self._stop = threading.Event()  # the running sweeper's: set by `close`

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        sent = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            with _as_httpx_errors():
                answer = self._pool.handle_request(sent)
        finally:
            self._sweep_later()
        return httpx.Response(
            status_code=answer.status,
            headers=answer.headers,
            stream=_Body(answer),
            extensions=answer.extensions,
        )

    def close_idle(self) -> None:
        """Close the idle connections: the endpoint may have closed them all at once."""
        for connection in self._pool.connections:
            if connection.is_idle():
                connection.close()

    def close(self) -> None:
        """Close every connection and stop the sweeper, waiting for it (the pool opens new
        connections, and starts a sweeper, if used again)."""
        with self._lock:
            sweeper, self._sweeper = self._sweeper, None
            self._stop.set()
        self._pool.close()
        if sweeper is not None and sweeper is not threading.current_thread():
            sweeper.join()

    def open_connections(self) -> int:
        """How many connections are open, idle or in use."""
        return sum(not connection.is_closed() for connection in self._pool.connections)

    def _sweep_later(self) -> None:
        with self._lock:
            if self._sweeper is not None:
                return
            self._stop = threading.Event()
            self._sweeper = threading.Thread(
                target=self._sweep, args=(self._stop,), name="statewright-webhook-pool", daemon=True
            )
            self._sweeper.start()

    def _sweep(self, stop: threading.Event) -> None:
        """Close the connections idle past `keepalive_s`, every half of it, until none is
        left open or `close` stops it."""
        while not stop.wait(self.keepalive_s / 2):
            for connection in self._pool.connections:
                if not connection.is_closed() and connection.has_expired():
                    connection.close()
            with self._lock:
                if not self.open_connections():
                    if self._sweeper is threading.current_thread():
                        self._sweeper = None
                    return
